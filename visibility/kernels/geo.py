"""Small geometric kernels: distance to point geofences."""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import pjit
from .track import haversine_m


@pjit
def _within_radius(lat, lon, plat, plon, radius, out):
    for i in prange(len(lat)):
        for j in range(len(plat)):
            if haversine_m(lat[i], lon[i], plat[j], plon[j]) <= radius[j]:
                out[i] = True
                break


def within_radius(lat, lon, point_lat, point_lon, radius_m) -> np.ndarray:
    """Whether each point lies within ``radius_m`` metres of any of the given points."""
    lat = np.ascontiguousarray(lat, np.float64)
    lon = np.ascontiguousarray(lon, np.float64)
    out = np.zeros(len(lat), bool)
    if len(point_lat):
        _within_radius(lat, lon, np.ascontiguousarray(point_lat, np.float64),
                       np.ascontiguousarray(point_lon, np.float64),
                       np.ascontiguousarray(radius_m, np.float64), out)
    return out
