"""Seeded random points over Greater London, the input of bench_h3 and bench_locate."""

from __future__ import annotations

import numpy as np

LAT_MIN, LAT_MAX = 51.28, 51.70
LNG_MIN, LNG_MAX = -0.51, 0.33


def london_points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (lat, lng in degrees, float64) uniform over the Greater London box."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(LAT_MIN, LAT_MAX, n)
    lng = rng.uniform(LNG_MIN, LNG_MAX, n)
    return lat, lng


def near_edge_points(n: int, polygons, seed: int = 2, spread_m: float = 20.0):
    """``n`` points scattered within about ``spread_m`` metres of the polygons' edges.

    A point is put on an edge segment chosen with probability proportional to
    its length, then moved by a normal jitter of ``spread_m`` metres in each
    axis. A tenth are not moved: half of those sit exactly on a vertex, half
    on a segment (to rounding); most edges are shared by two wards, and there
    the lower-ward-code rule decides.
    """
    import shapely

    rng = np.random.default_rng(seed)
    rings = shapely.get_rings(np.asarray(polygons, dtype=object))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    scale = np.cos(np.radians(a[:, 1]))
    length = np.hypot((b[:, 0] - a[:, 0]) * scale, b[:, 1] - a[:, 1])
    seg = rng.choice(len(a), size=n, p=length / length.sum())
    t = rng.uniform(0.0, 1.0, n)[:, None]
    t[: n // 20] = 0.0
    lng, lat = (a[seg] + t * (b[seg] - a[seg])).T
    jitter = rng.normal(0.0, spread_m, (2, n))
    jitter[:, : n // 10] = 0.0
    lat = lat + jitter[0] / 111_320.0
    lng = lng + jitter[1] / (111_320.0 * np.cos(np.radians(lat)))
    return lat, lng
