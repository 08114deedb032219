"""Slow references and point generators for the H3 kernel tests.

The reference is h3-py itself, called point by point. The generators make
points where an H3 implementation is most likely to slip: near the poles and
the antimeridian, at pentagon centres, on the edges of icosahedron faces and
base cells, and a tiny distance from the corners and edges of cells at every
resolution.
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np

VECTOR_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "h3_vectors"
LONDON = (51.28, 51.70, -0.51, 0.33)  # lat min, lat max, lng min, lng max

_cell = h3.api.basic_int.latlng_to_cell


def h3_cells(lat, lng, res) -> np.ndarray:
    """h3-py's cells (uint64) for points in degrees; ``res`` an int or one per point."""
    lat = np.asarray(lat, np.float64).tolist()
    lng = np.asarray(lng, np.float64).tolist()
    if np.ndim(res) == 0:
        r = int(res)
        return np.fromiter((_cell(a, b, r) for a, b in zip(lat, lng)), np.uint64, len(lat))
    res = np.asarray(res).tolist()
    return np.fromiter((_cell(a, b, r) for a, b, r in zip(lat, lng, res)), np.uint64, len(lat))


def read_vectors(path):
    """Cells (uint64) and lat, lng (degrees) of a ``<hex index> <lat> <lng>`` file."""
    text = np.loadtxt(path, dtype="U16,f8,f8", unpack=True)
    hex_str, lat, lng = text
    # parse the hex strings as a (n, 15) array of code points, all at once
    codes = np.asarray(hex_str, dtype="U15").view(np.uint32).reshape(-1, 15).astype(np.uint64)
    digits = np.where(codes >= ord("a"), codes - ord("a") + 10, codes - ord("0"))
    weights = np.uint64(16) ** np.arange(14, -1, -1, dtype=np.uint64)
    return (digits * weights).sum(axis=1, dtype=np.uint64), lat, lng


def vector_files():
    """All ``*.txt`` vector files (empty when the shared data is absent)."""
    return sorted(VECTOR_DIR.glob("*.txt")) if VECTOR_DIR.is_dir() else []


# --- point generators (degrees) -------------------------------------------------


def sphere_points(rng, n):
    """Uniform on the sphere."""
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return lat, rng.uniform(-180.0, 180.0, n)


def london_points(rng, n):
    """Uniform over the Greater London box."""
    la0, la1, ln0, ln1 = LONDON
    return rng.uniform(la0, la1, n), rng.uniform(ln0, ln1, n)


def tiny(rng, n, low=1e-13, high=1e-4):
    """Signed offsets in degrees, log-uniform in magnitude."""
    return rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(np.log10(low), np.log10(high), n)


def jitter(rng, lat, lng, low=1e-13, high=1e-5):
    """The given points moved by tiny random amounts (latitude clipped to +-90)."""
    lat = np.asarray(lat, np.float64)
    lng = np.asarray(lng, np.float64)
    return (np.clip(lat + tiny(rng, lat.size, low, high), -90.0, 90.0),
            lng + tiny(rng, lng.size, low, high))


def pole_points(rng, n):
    """Within a small distance of either pole, including the poles themselves."""
    lat = np.where(rng.random(n) < 0.5, 90.0, -90.0)
    lat = lat - np.sign(lat) * np.abs(tiny(rng, n, 1e-14, 1e-1))
    lat[: n // 50] = np.sign(lat[: n // 50]) * 90.0
    return lat, rng.uniform(-540.0, 540.0, n)


def antimeridian_points(rng, n):
    """Near longitude +-180 (and its aliases +-540), any latitude."""
    lat, _ = sphere_points(rng, n)
    base = rng.choice([-540.0, -180.0, 180.0, 540.0], n)
    lng = base + tiny(rng, n, 1e-13, 1e-2)
    lng[: n // 50] = base[: n // 50]
    return lat, lng


def pentagon_points(rng, per_pentagon):
    """Pentagon centres of every resolution, exact and jittered."""
    cells = [c for r in range(16) for c in h3.get_pentagons(r)]
    centres = np.array([h3.cell_to_latlng(c) for c in cells])
    lat = np.repeat(centres[:, 0], per_pentagon)
    lng = np.repeat(centres[:, 1], per_pentagon)
    jl, jg = jitter(rng, lat, lng, 1e-14, 1e-3)
    keep = np.arange(lat.size) % per_pentagon == 0  # one exact copy each
    return np.where(keep, lat, jl), np.where(keep, lng, jg)


def boundary_points(rng, cells, per_edge):
    """Points a tiny distance from the corners and edges of the given cells."""
    lats, lngs = [], []
    for cell in cells:
        ring = np.array(h3.cell_to_boundary(cell))
        nxt = np.roll(ring, -1, axis=0)
        t = rng.random((len(ring), per_edge))
        t[:, 0] = 0.0  # the corner itself
        # edges as straight lines in lat/lng: close enough at these sizes,
        # except across the antimeridian, which takes the short way round
        dlng = (nxt[:, 1] - ring[:, 1] + 180.0) % 360.0 - 180.0
        lats.append((ring[:, :1] + t * (nxt[:, :1] - ring[:, :1])).ravel())
        lngs.append((ring[:, 1:] + t * dlng[:, None]).ravel())
    return jitter(rng, np.concatenate(lats), np.concatenate(lngs))


def face_edge_points(rng, n):
    """Points (almost) equidistant from their two nearest icosahedron face centres."""
    from visibility.kernels._h3_tables import FACE_CENTER

    lat, lng = sphere_points(rng, n)
    la, ln = np.radians(lat), np.radians(lng)
    p = np.stack([np.cos(la) * np.cos(ln), np.cos(la) * np.sin(ln), np.sin(la)], -1)
    order = np.argsort(((p[:, None, :] - FACE_CENTER[None]) ** 2).sum(-1), axis=1)
    d = FACE_CENTER[order[:, 0]] - FACE_CENTER[order[:, 1]]
    p = p - ((p * d).sum(-1) / (d * d).sum(-1))[:, None] * d  # onto the bisecting plane
    p /= np.linalg.norm(p, axis=1)[:, None]
    lat = np.degrees(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
    lng = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return jitter(rng, lat, lng, 1e-14, 1e-6)


def res0_boundary_points(rng, per_edge):
    """Points a tiny distance from the corners and edges of all 122 base cells."""
    return boundary_points(rng, sorted(h3.get_res0_cells()), per_edge)


def fine_boundary_points(rng, res, n_cells, per_edge):
    """Near the corners and edges of random cells at ``res`` (half of them in London)."""
    lat, lng = sphere_points(rng, n_cells // 2)
    la2, ln2 = london_points(rng, n_cells - n_cells // 2)
    lat, lng = np.concatenate([lat, la2]), np.concatenate([lng, ln2])
    cells = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lng.tolist())]
    return boundary_points(rng, cells, per_edge)
