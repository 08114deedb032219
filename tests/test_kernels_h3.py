"""The numba H3 kernel must give exactly h3-py 4.5's cells.

Checked against H3's own test vectors, against h3-py on property-based and
large random samples (with extra weight on poles, the antimeridian, pentagons,
face and cell edges), and once more with numba's JIT disabled.

The big random runs draw a fresh seed each time; a failure message names it,
and ``H3_TEST_SEED=<seed>`` replays it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h3
import h3_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visibility.errors import KernelInputError
from visibility.kernels._h3_tables import M_PI_180
from visibility.kernels.h3 import (
    _closest_face,
    _count_exact_fallbacks,
    _face_of,
    _latlng_to_cell,
    _latlng_to_cells_exact,
    _vec3,
    cell_resolutions,
    cells_to_parents,
    latlng_to_cells,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("H3_TEST_SEED", np.random.SeedSequence().entropy % 2**63))


def assert_same(got, want, lat, lng, res, what=""):
    """Equal cell arrays, or a message listing the first differing points."""
    bad = np.flatnonzero(got != want)
    if bad.size:
        res = np.broadcast_to(np.asarray(res), np.shape(lat))
        rows = [f"  lat={lat[k]!r} lng={lng[k]!r} res={int(res[k])}: "
                f"got {int(got[k]):015x} want {int(want[k]):015x}" for k in bad[:5]]
        pytest.fail(f"{what}{bad.size} of {len(got)} cells differ (seed {SEED}):\n"
                    + "\n".join(rows))


def exact_cells(lat, lng, res):
    """Cells via the kernel's always-exact path (H3's own operation sequence)."""
    out = np.empty(len(lat), np.uint64)
    _latlng_to_cells_exact(np.ascontiguousarray(lat, np.float64),
                           np.ascontiguousarray(lng, np.float64), res, out)
    return out


# --- H3's published test vectors ----------------------------------------------


@pytest.mark.parametrize("path", ref.vector_files() or [None],
                         ids=lambda p: p.name if p else "missing")
def test_vector_file_reproduces_exactly(path):
    if path is None:
        pytest.skip(f"H3 test vectors not found at {ref.VECTOR_DIR} (shared data beside the repo)")
    cells, lat, lng = ref.read_vectors(path)
    assert cells.size > 0
    res = cell_resolutions(cells)
    for r in np.unique(res):
        m = res == r
        assert_same(latlng_to_cells(lat[m], lng[m], int(r)), cells[m], lat[m], lng[m], r,
                    f"{path.name}: ")
        assert_same(exact_cells(lat[m], lng[m], int(r)), cells[m], lat[m], lng[m], r,
                    f"{path.name} (exact path): ")


# --- property tests against h3-py ------------------------------------------------

resolutions = st.integers(0, 15)
latitudes = st.floats(-90.0, 90.0, allow_nan=False)
longitudes = st.floats(-400.0, 400.0, allow_nan=False) | st.floats(-1e7, 1e7, allow_nan=False)
london = st.tuples(st.floats(ref.LONDON[0], ref.LONDON[1]), st.floats(ref.LONDON[2], ref.LONDON[3]))


def _anchors():
    """Special points: pentagon centres, base-cell corners, poles, the antimeridian."""
    pts = [h3.cell_to_latlng(c) for r in (0, 1, 5, 15) for c in h3.get_pentagons(r)]
    for cell in sorted(h3.get_res0_cells())[::3]:
        pts.extend(h3.cell_to_boundary(cell))
    pts += [(90.0, 0.0), (-90.0, 33.0), (0.0, 180.0), (0.0, -180.0), (45.0, 180.0), (-60.0, 540.0)]
    return pts


near_anchor = st.tuples(st.sampled_from(_anchors()),
                        st.floats(-1e-6, 1e-6), st.floats(-1e-6, 1e-6)).map(
    lambda t: (min(90.0, max(-90.0, t[0][0] + t[1])), t[0][1] + t[2]))


def _check_points(points, res):
    lat = np.array([p[0] for p in points], np.float64)
    lng = np.array([p[1] for p in points], np.float64)
    want = ref.h3_cells(lat, lng, res)
    assert_same(latlng_to_cells(lat, lng, res), want, lat, lng, res)
    assert_same(exact_cells(lat, lng, res), want, lat, lng, res, "exact path: ")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=40), resolutions)
def test_any_point_matches_h3(points, res):
    _check_points(points, res)


@settings(max_examples=200, deadline=None)
@given(st.lists(london, min_size=1, max_size=40), resolutions)
def test_london_point_matches_h3(points, res):
    _check_points(points, res)


@settings(max_examples=300, deadline=None)
@given(st.lists(near_anchor, min_size=1, max_size=20), resolutions)
def test_point_near_pentagon_corner_pole_or_antimeridian_matches_h3(points, res):
    _check_points(points, res)


@settings(max_examples=200, deadline=None)
@given(latitudes, longitudes, resolutions)
def test_scalar_kernel_matches_h3(lat, lng, res):
    want = h3.api.basic_int.latlng_to_cell(lat, lng, res)
    assert _latlng_to_cell(lat * M_PI_180, lng * M_PI_180, res) == want


def _big_sample(rng, res):
    """About 640k points for one resolution: random plus every kind of edge case."""
    parts = [
        ref.sphere_points(rng, 330_000),
        ref.london_points(rng, 250_000),
        ref.pole_points(rng, 12_000),
        ref.antimeridian_points(rng, 12_000),
        ref.face_edge_points(rng, 8_000),
        ref.pentagon_points(rng, 20),
        ref.res0_boundary_points(rng, 2),
        ref.fine_boundary_points(rng, res, 300, 10),
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.slow
@pytest.mark.parametrize("res", range(16))
def test_over_ten_million_points_match_h3(res):
    """16 resolutions x ~635k points: over 10M points compared per run."""
    rng = np.random.default_rng([SEED, res])
    lat, lng = _big_sample(rng, res)
    assert lat.size > 625_000
    want = ref.h3_cells(lat, lng, res)
    assert_same(latlng_to_cells(lat, lng, res), want, lat, lng, res)
    # the exact path on its own, on the edge cases and a slice of the rest
    pick = np.r_[0:20_000, 580_000:lat.size]
    assert_same(exact_cells(lat[pick], lng[pick], res), want[pick], lat[pick], lng[pick], res,
                "exact path: ")


def test_face_candidates_agree_with_full_search():
    rng = np.random.default_rng([SEED, 99])
    parts = [ref.face_edge_points(rng, 20_000), ref.sphere_points(rng, 20_000),
             ref.pole_points(rng, 2_000), ref.antimeridian_points(rng, 2_000)]
    lat = np.concatenate([p[0] for p in parts]) * M_PI_180
    lng = np.concatenate([p[1] for p in parts]) * M_PI_180
    for a, b in zip(lat.tolist(), lng.tolist()):
        x, y, z = _vec3(a, b)
        assert _face_of(x, y, z, a, b) == _closest_face(x, y, z), (a, b, SEED)


def test_fast_path_rarely_needs_the_exact_projection():
    rng = np.random.default_rng([SEED, 98])
    lat, lng = ref.sphere_points(rng, 200_000)
    for res in (0, 8, 15):
        assert _count_exact_fallbacks(lat, lng, res) < 200  # 0.1 %


def test_array_inputs_are_converted_and_empty_is_fine():
    lat = np.array([51.5, 51.6], np.float32)
    lng = [-0.1, 0.2]
    want = ref.h3_cells(lat.astype(np.float64), lng, 9)
    got = latlng_to_cells(lat, lng, np.int64(9))
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, want)
    empty = latlng_to_cells(np.empty(0), np.empty(0), 5)
    assert empty.dtype == np.uint64 and empty.size == 0


# --- parents and resolutions ----------------------------------------------------


def test_parents_match_h3():
    rng = np.random.default_rng([SEED, 3])
    lat, lng = ref.sphere_points(rng, 3000)
    la2, ln2 = ref.pentagon_points(rng, 2)
    lat, lng = np.r_[lat, la2], np.r_[lng, ln2]
    cells = latlng_to_cells(lat, lng, 15)
    parent = h3.api.basic_int.cell_to_parent
    for r in range(16):
        want = np.fromiter((parent(c, r) for c in cells.tolist()), np.uint64, cells.size)
        np.testing.assert_array_equal(cells_to_parents(cells, r), want)
    mixed = np.array([latlng_to_cells(lat[k:k + 1], lng[k:k + 1], k % 16)[0]
                      for k in range(64)], np.uint64)
    want = np.fromiter((parent(c, 0) for c in mixed.tolist()), np.uint64, mixed.size)
    np.testing.assert_array_equal(cells_to_parents(mixed, 0), want)


def test_cell_resolutions_match_h3():
    rng = np.random.default_rng([SEED, 4])
    lat, lng = ref.sphere_points(rng, 160)
    cells = np.concatenate([latlng_to_cells(lat[r::16], lng[r::16], r) for r in range(16)])
    got = cell_resolutions(cells)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [h3.api.basic_int.get_resolution(int(c)) for c in cells])


def test_parent_finer_than_cell_is_rejected():
    cells = latlng_to_cells(np.array([51.5, 51.5]), np.array([-0.1, -0.1]), 7)
    with pytest.raises(KernelInputError, match="finer"):
        cells_to_parents(cells, 8)
    with pytest.raises(KernelInputError):
        cells_to_parents(cells, 16)
    with pytest.raises(KernelInputError):
        cells_to_parents(np.array([0, 1], np.uint64), 0)
    with pytest.raises(KernelInputError):
        cell_resolutions(np.array([[cells[0]]]))


# --- invalid input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lng", "res", "match"),
    [
        ([np.nan], [0.0], 5, "NaN or infinite"),
        ([0.0], [np.nan], 5, "NaN or infinite"),
        ([np.inf], [0.0], 5, "NaN or infinite"),
        ([0.0], [-np.inf], 5, "NaN or infinite"),
        ([91.0], [0.0], 5, "outside"),
        ([-90.000001], [0.0], 5, "outside"),
        ([0.0], [0.0], 16, "0-15"),
        ([0.0], [0.0], -1, "0-15"),
        ([0.0], [0.0], 2.0, "integer"),
        ([0.0], [0.0], True, "integer"),
        ([0.0, 1.0], [0.0], 5, "same length"),
        ([[0.0]], [[0.0]], 5, "1-D"),
        (["a"], [0.0], 5, "numeric"),
    ],
)
def test_invalid_input_raises(lat, lng, res, match):
    with pytest.raises(KernelInputError, match=match) as info:
        latlng_to_cells(lat, lng, res)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


# --- the kernels as plain Python ------------------------------------------------------

_NO_JIT_SCRIPT = """
import numba
import numpy as np

import h3_reference as ref
from visibility.kernels import h3 as k

assert numba.config.DISABLE_JIT
rng = np.random.default_rng(2024)
parts = [ref.sphere_points(rng, 700), ref.london_points(rng, 500), ref.pole_points(rng, 100),
         ref.antimeridian_points(rng, 100), ref.pentagon_points(rng, 1)]
lat = np.concatenate([p[0] for p in parts])
lng = np.concatenate([p[1] for p in parts])
res = np.arange(lat.size) % 16
checked = fallbacks = 0
for r in range(16):
    blat, blng = ref.fine_boundary_points(rng, r, 2, 4)  # near edges: exact path
    la = np.r_[lat[res == r], blat]
    ln = np.r_[lng[res == r], blng]
    want = ref.h3_cells(la, ln, r)
    assert (k.latlng_to_cells(la, ln, r) == want).all(), r
    out = np.empty(la.size, np.uint64)
    k._latlng_to_cells_exact(la, ln, r, out)
    assert (out == want).all(), r
    assert k._latlng_to_cell(la[0] * k.M_PI_180, ln[0] * k.M_PI_180, r) == want[0]
    assert (k.cells_to_parents(want, max(r - 1, 0))
            == k.cells_to_parents(k.cells_to_parents(want, r), max(r - 1, 0))).all()
    checked += la.size
    fallbacks += k._count_exact_fallbacks(la, ln, r)
assert fallbacks > 0
print(checked, fallbacks)
"""


def test_kernels_agree_with_h3_without_jit():
    """About 2,000 points through the kernels as plain Python (so coverage sees them)."""
    path = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "tests"),
                                       os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=path)
    proc = subprocess.run([sys.executable, "-W", "error", "-c", _NO_JIT_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checked, fallbacks = map(int, proc.stdout.split())
    assert checked >= 2000 and fallbacks > 0
