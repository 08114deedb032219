"""Small geometric kernels: distance to point geofences."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import pjit
from .track import EARTH_RADIUS_M, haversine_m

#: Metres per degree of latitude on the mean sphere, and a safety factor for the pre-filter.
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_SLACK = 1.01


@pjit
def _within_radius(lat, lon, plat, plon, radius, out):
    """``plat`` ascending: each point looks only at the geofences in its latitude band."""
    n_pts = len(plat)
    dlat = np.empty(n_pts)
    dlon = np.empty(n_pts)
    widest = 0.0
    for j in range(n_pts):
        dlat[j] = radius[j] / _M_PER_DEG * _SLACK
        dlon[j] = dlat[j] / max(math.cos(math.radians(abs(plat[j]) + dlat[j])), 1e-6)
        widest = max(widest, dlat[j])
    for i in prange(len(lat)):
        j = np.searchsorted(plat, lat[i] - widest)
        while j < n_pts and plat[j] <= lat[i] + widest:
            # Cheap box test first; the haversine only for points near the circle.
            if (abs(lat[i] - plat[j]) <= dlat[j] and abs(lon[i] - plon[j]) <= dlon[j]
                    and haversine_m(lat[i], lon[i], plat[j], plon[j]) <= radius[j]):
                out[i] = True
                break
            j += 1


def within_radius(lat, lon, point_lat, point_lon, radius_m) -> np.ndarray:
    """Whether each point lies within ``radius_m`` metres of any of the given points."""
    lat = np.ascontiguousarray(lat, np.float64)
    lon = np.ascontiguousarray(lon, np.float64)
    out = np.zeros(len(lat), bool)
    if len(point_lat):
        order = np.argsort(np.asarray(point_lat, np.float64), kind="stable")
        _within_radius(lat, lon, np.ascontiguousarray(np.asarray(point_lat, np.float64)[order]),
                       np.ascontiguousarray(np.asarray(point_lon, np.float64)[order]),
                       np.ascontiguousarray(np.asarray(radius_m, np.float64)[order]), out)
    return out
