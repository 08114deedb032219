"""The point-in-polygon kernel against shapely's ``intersects_xy`` and exact rational arithmetic.

shapely (GEOS) is the reference wherever coordinate differences are exact in
float64 -- all London geometry and every grid-built polygon here. GEOS works
out the orientation of a point against an edge in double-double arithmetic,
which is not exact when the differences themselves need more than 53 bits
(coordinates from very different binades); there a point exactly on an edge
can come out as outside. Those cases are checked against a slow reference in
rational arithmetic (:func:`exact_covers`), which uses GEOS's edge rules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from visibility.boundaries import load_wards
from visibility.errors import KernelInputError
from visibility.kernels import build_polygon_index, first_covering_polygon, polygon_covers_xy
from visibility.kernels.pip import _orient
from visibility.locate import NO_WARD, WardIndex, polygon_index
from visibility.store import Store

LONDON = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "london_wards_2013"
GRID = 2.0**-20  # grid step of the hand-made polygons (about 10 cm of latitude)


# -- references ------------------------------------------------------------------------


def shapely_covers(geoms, poly, x, y):
    """``intersects_xy`` of polygon ``poly[i]`` and point i, with prepared geometries."""
    out = np.zeros(len(poly), bool)
    for p in np.unique(poly):
        sel = poly == p
        shapely.prepare(geoms[p])
        out[sel] = shapely.intersects_xy(geoms[p], x[sel], y[sel])
    return out


def exact_orient(ax, ay, bx, by, cx, cy):
    """Sign of the orientation determinant in rational arithmetic."""
    f = Fraction
    det = (f(ax) - f(cx)) * (f(by) - f(cy)) - (f(ay) - f(cy)) * (f(bx) - f(cx))
    return (det > 0) - (det < 0)


def exact_covers(rings, x, y):
    """Crossing number over all rings with GEOS's edge rules, in rational arithmetic."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring[:-1], ring[1:]):
            if x1 < x and x2 < x:
                continue
            if (x, y) == (x2, y2):
                return True
            if y1 == y == y2:
                if min(x1, x2) <= x <= max(x1, x2):
                    return True
                continue
            if (y1 > y) != (y2 > y):
                side = exact_orient(x1, y1, x2, y2, x, y)
                if side == 0:
                    return True
                if (side > 0) == (y2 > y1):
                    inside = not inside
    return inside


def rings_of(geom):
    return [np.asarray(r.coords) for p in shapely.get_parts(geom)
            for r in [p.exterior, *p.interiors]]


def covers(geoms, poly, x, y):
    """The kernel, through the same flattening WardIndex uses."""
    return polygon_covers_xy(polygon_index(geoms), poly, x, y)


def assert_same(got, want, x, y, poly):
    bad = np.flatnonzero(got != want)
    assert len(bad) == 0, (f"{len(bad)} of {len(got)} differ, e.g. polygon {poly[bad[0]]} "
                           f"x={x[bad[0]]!r} y={y[bad[0]]!r}: kernel {got[bad[0]]}, "
                           f"reference {want[bad[0]]}")


# -- strategies and point builders --------------------------------------------------------


@st.composite
def grid_polygons(draw):
    """A valid (Multi)Polygon on a 2**-20 degree grid near London: stars, holes, boxes.

    Grid coordinates keep every difference exact, so points exactly on slanted
    edges can be built, and the ward rings cross the Greenwich meridian.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["star", "star_hole", "multi", "boxes"]))
    x0 = draw(st.integers(-2**19, 2**19))
    y0 = draw(st.integers(0, 2**19))

    def star(cx, cy, n, r_min, r_max):
        angle = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(r_min, r_max, n)
        pts = np.rint(np.column_stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)]))
        return shapely.Polygon(pts)

    n = draw(st.integers(3, 40))
    if kind == "star":
        geom = star(x0, y0, n, 20, 200)
    elif kind == "star_hole":
        geom = shapely.Polygon(star(x0, y0, n, 100, 200).exterior,
                               [star(x0, y0, draw(st.integers(3, 12)), 5, 80).exterior.coords])
    elif kind == "multi":
        geom = shapely.MultiPolygon([star(x0, y0, n, 10, 100), star(x0 + 250, y0 + 40, 7, 10, 60),
                                     shapely.box(x0 - 300, y0, x0 - 200, y0 + 100)])
    else:  # rectilinear: a union of grid boxes, often with holes and several parts
        cells = rng.random((8, 8)) < 0.55
        boxes = [shapely.box(x0 + 8 * i, y0 + 8 * j, x0 + 8 * i + 8, y0 + 8 * j + 8)
                 for i, j in zip(*np.nonzero(cells))] or [shapely.box(x0, y0, x0 + 8, y0 + 8)]
        geom = shapely.union_all(boxes)
    geom = shapely.transform(geom, lambda xy: np.column_stack([xy[:, 0] * GRID,
                                                               51.25 + xy[:, 1] * GRID]))
    assume(shapely.is_valid(geom))  # rounding to the grid can fold a thin star
    return geom


def edge_points(geom, rng, n):
    """Points on and near a geometry's rings, of every awkward kind, as (x, y, kind).

    Kinds: 0 vertices; 1 exactly on an edge (dyadic fraction of it; any x on a
    horizontal edge, any y on a vertical one); 2 jittered by 1e-9..1e-3 degrees;
    3 on an edge's line beyond its ends; 4 the y of a vertex, another x (the ray
    passes through the vertex); 5 the x of a vertex, another y.
    """
    coords, ring = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(geom)), return_index=True)
    same = np.flatnonzero(ring[1:] == ring[:-1])
    k = same[rng.integers(0, len(same), n)]
    a, b = coords[k], coords[k + 1]
    kind = rng.integers(0, 6, n)
    t = rng.integers(1, 64, n) / 64.0
    pts = a.copy()
    on = kind == 1
    pts[on] = a[on] + t[on, None] * (b[on] - a[on])
    vertical = on & (a[:, 0] == b[:, 0])
    pts[vertical, 1] = a[vertical, 1] + rng.random(vertical.sum()) * (b[vertical, 1] - a[vertical, 1])
    horizontal = on & (a[:, 1] == b[:, 1])
    pts[horizontal, 0] = (a[horizontal, 0]
                          + rng.random(horizontal.sum()) * (b[horizontal, 0] - a[horizontal, 0]))
    jitter = kind == 2
    pts[jitter] += rng.normal(size=(jitter.sum(), 2)) * 10.0 ** rng.uniform(-9, -3, (jitter.sum(), 1))
    beyond = kind == 3
    pts[beyond] = a[beyond] + (1.0 + t[beyond, None]) * (b[beyond] - a[beyond])
    pts[kind == 4, 0] += rng.normal(size=(kind == 4).sum()) * 1e-4
    pts[kind == 5, 1] += rng.normal(size=(kind == 5).sum()) * 1e-4
    return pts[:, 0], pts[:, 1], kind


# -- hand-made cases -------------------------------------------------------------------------


SQUARE = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)])
WITH_HOLE = shapely.Polygon([(0, 0), (8, 0), (8, 8), (0, 8)], [[(2, 2), (2, 6), (6, 6), (6, 2)]])
TWO_PARTS = shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(3, 0, 5, 2)])
# A ring whose vertices sit on the ray's line from several directions: a spike up, a
# spike down, a vertex the ring passes straight through, and a horizontal run.
ZIGZAG = shapely.Polygon([(0, 0), (10, 0), (10, 2), (8, 4), (7, 2), (6, 2), (5, 4),
                          (4, 2), (3, 0.5), (2, 2), (1, 3), (0, 2)])


@pytest.mark.parametrize("geom, x, y, want", [
    (SQUARE, 2, 2, True), (SQUARE, 0, 0, True), (SQUARE, 4, 4, True), (SQUARE, 2, 0, True),
    (SQUARE, 4, 2, True), (SQUARE, 0, 2, True), (SQUARE, 2, 4, True),
    (SQUARE, 5, 0, False), (SQUARE, -1, 0, False), (SQUARE, 0, 5, False), (SQUARE, 0, -1, False),
    (SQUARE, 4 + 1e-12, 2, False), (SQUARE, 4 - 1e-12, 2, True), (SQUARE, 2, 4 + 2**-50, False),
    (WITH_HOLE, 4, 4, False), (WITH_HOLE, 2, 4, True), (WITH_HOLE, 2, 2, True), (WITH_HOLE, 1, 4, True),
    (WITH_HOLE, 4, 6, True), (WITH_HOLE, 4, 6 - 1e-9, False), (WITH_HOLE, 7, 4, True),
    (TWO_PARTS, 1, 1, True), (TWO_PARTS, 4, 1, True), (TWO_PARTS, 2.5, 1, False),
    (TWO_PARTS, 2, 1, True),
    (TWO_PARTS, 3, 2, True), (TWO_PARTS, 6, 1, False),
    (ZIGZAG, -1, 2, False), (ZIGZAG, 0.5, 2, True), (ZIGZAG, 6.5, 2, True), (ZIGZAG, 6, 2, True),
    (ZIGZAG, 7.5, 2, True), (ZIGZAG, 5, 3.9, True), (ZIGZAG, 5.5, 3.9, False), (ZIGZAG, -1, 4, False),
    (ZIGZAG, 9, 4, False), (ZIGZAG, 8, 4, True), (ZIGZAG, 3, 0.5, True), (ZIGZAG, 2.9, 0.5, True),
    (ZIGZAG, 3.5, 0.5, True), (ZIGZAG, 11, 0.5, False), (ZIGZAG, 1, 3, True), (ZIGZAG, 0.5, 3, False),
])
def test_hand_made_cases_match_shapely_and_expectation(geom, x, y, want):
    geoms = np.array([geom], dtype=object)
    got = covers(geoms, np.array([0]), np.array([float(x)]), np.array([float(y)]))[0]
    assert got == want == shapely.intersects_xy(geom, x, y)


def test_orientation_is_exact_where_floating_point_cannot_decide():
    rng = np.random.default_rng(11)
    cases = []
    for _ in range(2000):
        scale = 2.0 ** rng.integers(-40, 10, (3, 2))
        a, b = rng.uniform(-1, 1, 2) * scale[0], rng.uniform(-1, 1, 2) * scale[1]
        t = rng.integers(-8, 9) / 8
        c = a + t * (b - a)  # on the line, or within a rounding of it
        cases.append((*a, *b, *c))
        cases.append((*a, *b, c[0], np.nextafter(c[1], np.inf)))
        cases.append((*a, *b, *(a + 2.0**-30 * rng.normal(size=2) * scale[2])))
        # Short mantissas at mixed scales: exactly collinear, yet the differences are inexact.
        a, b = rng.integers(-64, 64, 2) * scale[0] / 64, rng.integers(-64, 64, 2) * scale[1] / 64
        cases.append((*a, *b, *(a + t * (b - a))))
    signs = [_orient(*case) for case in cases]
    assert signs == [exact_orient(*case) for case in cases]
    assert signs.count(0) > 2000  # plenty of exactly collinear cases were tried


# -- property tests against shapely ------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(grid_polygons(), st.integers(0, 2**32 - 1))
def test_grid_polygons_match_shapely(geom, seed):
    rng = np.random.default_rng(seed)
    x, y, _ = edge_points(geom, rng, 2000)
    minx, miny, maxx, maxy = geom.bounds
    x = np.concatenate([x, rng.uniform(minx - 1e-4, maxx + 1e-4, 500)])
    y = np.concatenate([y, rng.uniform(miny - 1e-4, maxy + 1e-4, 500)])
    poly = np.zeros(len(x), np.int64)
    geoms = np.array([geom], dtype=object)
    assert_same(covers(geoms, poly, x, y), shapely_covers(geoms, poly, x, y), x, y, poly)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_points_off_the_grid_in_mixed_binades_match_exact_arithmetic(seed):
    """Coordinates spanning many binades, where GEOS's double-double can misjudge an edge point."""
    rng = np.random.default_rng(seed)
    scale = 2.0 ** rng.integers(-30, 3, (4, 2))
    geom = shapely.Polygon(rng.uniform(-1, 1, (4, 2)) * scale)  # possibly self-crossing: fine
    ring = np.asarray(geom.exterior.coords)
    k = rng.integers(0, 4, 40)
    t = rng.integers(1, 16, 40) / 16
    pts = ring[k] + t[:, None] * (ring[k + 1] - ring[k])
    pts = np.vstack([pts, ring[:4], pts + rng.normal(size=pts.shape) * 2.0**-40 * scale.max()])
    got = covers(np.array([geom], dtype=object), np.zeros(len(pts), np.int64), pts[:, 0], pts[:, 1])
    want = [exact_covers([ring], px, py) for px, py in pts]
    assert got.tolist() == want


def test_an_edge_point_geos_misses_is_covered():
    """A point exactly on an edge (checked in rationals) that GEOS 3.14's double-double calls outside."""
    ring = [(-4.627013529685454e-07, -0.003620736946388564),
            (1.3898667280592348e-05, -0.14342031516939846),
            (0.11843755429483918, 1.774441680419299e-05),
            (-4.627013529685454e-07, -0.003620736946388564)]
    x, y = 3.127640805421678e-06, -0.03857063150214104
    assert exact_orient(*ring[0], *ring[1], x, y) == 0
    geoms = np.array([shapely.Polygon(ring)], dtype=object)
    got = covers(geoms, np.array([0]), np.array([x]), np.array([y]))
    assert got[0] and exact_covers([np.array(ring)], x, y)


# -- real London wards -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def london_index(tmp_path_factory):
    """A WardIndex of the 649 real London wards, through a real store (as ``analyse`` builds it)."""
    if not LONDON.exists():
        pytest.skip(f"London ward boundaries not found at {LONDON} "
                    "(shared test data beside the repository)")
    path = tmp_path_factory.mktemp("london") / "london.duckdb"
    with Store.create(path) as store:
        load_wards(store, sorted(LONDON.glob("*.geojson")), "WD13CD", "WD13NM",
                   borough_code="LDN", borough_name="London")
        index = WardIndex.from_store(store)
    assert len(index.codes) == 649
    return index


@pytest.fixture(scope="module")
def london_geoms(london_index):
    return london_index.geoms


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_london_wards_match_shapely_near_their_edges(london_geoms, seed):
    """Points near a ward's rings, tested against that ward and every ward within 1e-3 degrees."""
    rng = np.random.default_rng(seed)
    pts = [edge_points(london_geoms[g], rng, 400) for g in rng.choice(len(london_geoms), 100)]
    x = np.concatenate([p[0] for p in pts])
    y = np.concatenate([p[1] for p in pts])
    row, poly = shapely.STRtree(london_geoms).query(shapely.points(x, y), predicate="dwithin",
                                                     distance=1e-3)
    x, y = x[row], y[row]
    assert_same(covers(london_geoms, poly, x, y), shapely_covers(london_geoms, poly, x, y), x, y, poly)


def test_london_points_exactly_on_slanted_edges(london_geoms):
    rng = np.random.default_rng(4)
    coords, ring = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(london_geoms)),
                                           return_index=True)
    ward_of_ring = shapely.get_parts(london_geoms, return_index=True)[1][
        shapely.get_rings(shapely.get_parts(london_geoms), return_index=True)[1]]
    k = rng.choice(np.flatnonzero(ring[1:] == ring[:-1]), 6000, replace=False)
    a, b = coords[k], coords[k + 1]
    x, y, poly = [], [], []
    for t in (0.5, 0.25, 0.75, 0.125):
        p = a + t * (b - a)
        for i in range(len(k)):
            if a[i, 0] != b[i, 0] and a[i, 1] != b[i, 1] and exact_orient(*a[i], *b[i], *p[i]) == 0:
                x.append(p[i, 0]), y.append(p[i, 1]), poly.append(ward_of_ring[ring[k[i]]])
    x, y, poly = np.array(x), np.array(y), np.array(poly)
    assert len(x) > 1000
    got = covers(london_geoms, poly, x, y)
    assert got.all()
    assert_same(got, shapely_covers(london_geoms, poly, x, y), x, y, poly)


def test_first_covering_gives_shared_edges_to_the_lower_index(london_geoms):
    rng = np.random.default_rng(8)
    pts = [edge_points(london_geoms[g], rng, 300) for g in rng.choice(len(london_geoms), 200)]
    x = np.concatenate([p[0] for p in pts])
    y = np.concatenate([p[1] for p in pts])
    # Each point's candidates: every ward within 1e-3 degrees, in ascending order.
    row, cand = shapely.STRtree(london_geoms).query(shapely.points(x, y), predicate="dwithin",
                                                     distance=1e-3)
    order = np.lexsort((cand, row))
    row, cand = row[order], cand[order].astype(np.int32)
    cand_ptr = np.zeros(len(x) + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=len(x)), out=cand_ptr[1:])
    got = first_covering_polygon(polygon_index(london_geoms), x, y, np.arange(len(x)), cand_ptr, cand)
    hit = shapely_covers(london_geoms, cand, x[row], y[row])
    want = np.full(len(x), NO_WARD, np.int32)
    first_row, first = np.unique(row[hit], return_index=True)
    want[first_row] = cand[hit][first]
    assert_same(got, want, x, y, np.zeros(len(x), int))
    assert (np.bincount(row[hit], minlength=len(x)) > 1).sum() > 1000  # on edges two wards share


def test_ward_index_locate_equals_brute_force_on_awkward_points(london_index, london_geoms):
    rng = np.random.default_rng(12)
    pts = [edge_points(london_geoms[g], rng, 500) for g in rng.choice(len(london_geoms), 300)]
    x = np.concatenate([p[0] for p in pts] + [rng.uniform(-0.52, 0.34, 50_000)])
    y = np.concatenate([p[1] for p in pts] + [rng.uniform(51.27, 51.70, 50_000)])
    got = london_index.locate(y, x)
    want = np.full(len(x), NO_WARD, np.int32)
    for w in range(len(london_geoms) - 1, -1, -1):  # the last write is the lowest ward
        shapely.prepare(london_geoms[w])
        want[shapely.intersects_xy(london_geoms[w], x, y)] = w
    assert_same(got, want, x, y, np.zeros(len(x), int))


# -- index building, degenerate input, validation ----------------------------------------------------


def test_degenerate_rings_and_empty_polygons():
    line = [(0.0, 1.0), (2.0, 1.0), (0.0, 1.0)]           # no area: only its boundary is covered
    dot = [(5.0, 5.0)] * 4                                # a single point, repeated
    dup = [(0, 0), (0, 0), (3, 0), (3, 3), (3, 3), (0, 0)]  # repeated vertices
    xy = np.array(line + dot + dup, float)
    index = build_polygon_index(xy, [0, 3, 7, 13], [0, 1, 2, 3, 3])
    x = np.array([1.0, 3.0, 5.0, 5.0, 2.0, 1.0, 0.0, 3.0, 1.0])
    y = np.array([1.0, 1.0, 5.0, 5.0 + 1e-12, 1.0, 2.0, 0.0, 3.0, 1.0])
    poly = np.array([0, 0, 1, 1, 2, 2, 2, 2, 3])
    assert polygon_covers_xy(index, poly, x, y).tolist() == [True, False, True, False, True, False,
                                                             True, True, False]


@pytest.mark.parametrize("args, message", [
    ((np.zeros((4, 3)), [0, 4], [0, 1]), "two columns"),
    ((np.zeros(8), [0, 4], [0, 1]), "xy must be 2-D"),
    (([[0, 0], [1, 0], [1, 1], [0, 1]], [0, 4], [0, 1]), "closed"),
    (([[0, 0], [1, 0], [0, 0]], [0, 2], [0, 1]), "ring_ptr must run from 0"),
    (([[0, 0], [1, 0], [0, 0]], [0, 3], [0, 2]), "poly_ptr must run from 0"),
    (([[0, 0], [np.nan, 0], [0, 0]], [0, 3], [0, 1]), "NaN"),
])
def test_build_rejects_bad_rings(args, message):
    with pytest.raises(KernelInputError, match=message):
        build_polygon_index(*args)


def test_queries_reject_bad_points_and_indexes():
    index = polygon_index(np.array([SQUARE], dtype=object))
    with pytest.raises(KernelInputError, match="same length"):
        polygon_covers_xy(index, [0], [1.0], [1.0, 2.0])
    with pytest.raises(KernelInputError, match="finite"):
        polygon_covers_xy(index, [0], [np.nan], [1.0])
    with pytest.raises(KernelInputError, match="poly must index the 1 polygons"):
        polygon_covers_xy(index, [1], [1.0], [1.0])
    with pytest.raises(KernelInputError, match="poly must be int64"):
        polygon_covers_xy(index, [0.0], [1.0], [1.0])
    with pytest.raises(KernelInputError, match="cand must index"):
        first_covering_polygon(index, [1.0], [1.0], [0], [0, 1], [3])
    with pytest.raises(KernelInputError, match="row must index"):
        first_covering_polygon(index, [1.0], [1.0], [1], [0, 1], [0])
    assert first_covering_polygon(index, [1.0, 9.0], [1.0, 9.0], [0, 0], [0, 1], [0]).tolist() == [0, -1]
    assert polygon_covers_xy(index, [], [], []).shape == (0,)
    assert first_covering_polygon(index, [], [], [], [0, 1], [0]).dtype == np.int32


# -- cached parallel code and the pure-Python path -------------------------------------------------

SUBPROCESS = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from visibility.kernels import build_polygon_index, first_covering_polygon, polygon_covers_xy
rng = np.random.default_rng(3)
rings, ring_ptr, poly_ptr = [], [0], [0]
for p in range(12):
    for r in range(1 + p % 3):  # shells only, some polygons with several parts
        n = 5 + 3 * r
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        ring = np.rint(np.column_stack([30 * p + 10 * r + 4 * np.cos(ang), 4 * np.sin(ang)]) * 8) / 8
        rings.append(np.vstack([ring, ring[:1]]))
        ring_ptr.append(ring_ptr[-1] + n + 1)
    poly_ptr.append(len(rings))
xy = np.vstack(rings)
index = build_polygon_index(xy, ring_ptr, poly_ptr)
k = rng.integers(0, len(xy), 3000)
pts = xy[k] + rng.integers(-16, 17, (3000, 2)) / 64 * (rng.random((3000, 1)) < 0.7)
poly = np.searchsorted(np.array(ring_ptr)[np.array(poly_ptr)], k, side="right") - 1
cover = polygon_covers_xy(index, poly, pts[:, 0], pts[:, 1])
first = first_covering_polygon(index, pts[:, 0], pts[:, 1], np.zeros(3000, int), [0, 12], np.arange(12))
print(json.dumps({"cover": cover.tolist(), "first": first.tolist(), "poly": poly.tolist(),
                  "x": pts[:, 0].tolist(), "y": pts[:, 1].tolist(),
                  "rings": [r.tolist() for r in rings], "poly_ptr": poly_ptr}))
"""


@pytest.mark.parametrize("env", [{"NUMBA_NUM_THREADS": "1"}, {"NUMBA_DISABLE_JIT": "1"}],
                         ids=["one-thread", "no-jit"])
def test_kernels_agree_with_one_thread_and_without_jit(env):
    """Cached parallel code must survive a change of thread count; NUMBA_DISABLE_JIT runs the Python."""
    root = str(Path(__file__).resolve().parents[1])

    def run(extra):
        result = subprocess.run([sys.executable, "-W", "error", "-c", SUBPROCESS, root],
                                env={**os.environ, **extra}, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    base = run({"NUMBA_NUM_THREADS": "2"})
    assert run(env) == base
    rings, poly_ptr = [np.array(r) for r in base["rings"]], base["poly_ptr"]
    polys = [shapely.MultiPolygon([shapely.Polygon(r) for r in rings[a:b]])
             for a, b in zip(poly_ptr[:-1], poly_ptr[1:])]
    x, y, poly = np.array(base["x"]), np.array(base["y"]), np.array(base["poly"])
    assert base["cover"] == shapely_covers(np.array(polys, dtype=object), poly, x, y).tolist()
    assert 0.2 < np.mean(base["cover"]) < 0.9
