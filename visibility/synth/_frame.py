"""A local metric frame for the generators, and point sampling inside polygons.

The generators work in metres on a flat local frame (x east, y north) around a
reference point, and convert to WGS84 longitude/latitude only at the end. The
conversion is a plain linear map with the WGS84 ellipsoid's metres-per-degree at
the reference latitude: exact enough over a city (well under 0.1% of a
distance), free of any projection library, and elementwise, so a vertex shared
by two polygons converts to the same longitude/latitude in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

_WGS84_A = 6378137.0
_WGS84_E2 = 0.00669437999014


@dataclass(frozen=True)
class LocalFrame:
    """A flat frame in metres centred on (lat0, lon0)."""

    lat0: float
    lon0: float

    @property
    def m_per_deg_lat(self) -> float:
        phi = math.radians(self.lat0)
        return 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)

    @property
    def m_per_deg_lon(self) -> float:
        phi = math.radians(self.lat0)
        return (math.pi / 180.0) * _WGS84_A * math.cos(phi) / math.sqrt(
            1.0 - _WGS84_E2 * math.sin(phi) ** 2
        )

    @classmethod
    def around_bounds(cls, bounds) -> "LocalFrame":
        """The frame centred on a (minlon, minlat, maxlon, maxlat) box."""
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        return cls(lat0=(miny + maxy) / 2.0, lon0=(minx + maxx) / 2.0)

    def to_xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        x = (np.asarray(lon, dtype=np.float64) - self.lon0) * self.m_per_deg_lon
        y = (np.asarray(lat, dtype=np.float64) - self.lat0) * self.m_per_deg_lat
        return x, y

    def to_lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        lon = self.lon0 + np.asarray(x, dtype=np.float64) / self.m_per_deg_lon
        lat = self.lat0 + np.asarray(y, dtype=np.float64) / self.m_per_deg_lat
        return lon, lat

    def geom_to_xy(self, geom):
        """Shapely geometry (or array of them) from lon/lat to local metres."""
        scale = np.array([self.m_per_deg_lon, self.m_per_deg_lat])
        origin = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda c: (c - origin) * scale)

    def geom_to_lonlat(self, geom):
        """Shapely geometry (or array of them) from local metres to lon/lat."""
        scale = np.array([self.m_per_deg_lon, self.m_per_deg_lat])
        origin = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda c: origin + c / scale)


def sample_points_in(geom, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points drawn uniformly inside a polygon, as an (n, 2) array.

    Rejection sampling in the bounding box, a batch at a time; fails loudly on a
    polygon too thin to hit (under 0.1% of its box after many tries).
    """
    if n <= 0:
        return np.empty((0, 2))
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    box_area = max((maxx - minx) * (maxy - miny), 1e-12)
    fill = max(geom.area / box_area, 0.01)
    found: list[np.ndarray] = []
    have = 0
    for _ in range(50):
        m = int((n - have) / fill * 1.3) + 8
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        inside = shapely.contains_xy(geom, x, y)
        pts = np.column_stack([x[inside], y[inside]])
        found.append(pts)
        have += len(pts)
        if have >= n:
            break
    else:
        raise ValueError("cannot sample points inside a polygon this thin")
    return np.concatenate(found)[:n]
