"""Where a fix is: its ward (if any) and whether it is inside a station geofence.

Ward location follows the design: the fix's H3 cell is looked up in the
ward-cell index; an interior cell gives the ward at once, a boundary cell sends
the fix to an exact point-in-polygon test against the few wards that cell
touches. A point exactly on an edge shared by two wards belongs to the ward
whose code sorts first, so every point belongs to exactly one ward or none.
The exact test is the numba kernel :func:`~visibility.kernels.first_covering_polygon`
over the wards' rings, flattened and indexed once when the index is built: shapely's
``intersects_xy`` rule with an exact orientation test (see :mod:`visibility.kernels.pip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import PolygonIndex, build_polygon_index, first_covering_polygon, latlng_to_cells
from .kernels.lookup import find_sorted
from .store import Store

NO_WARD = -1


@dataclass
class WardIndex:
    """Wards sorted by code, and the H3 cell index that finds them."""

    codes: np.ndarray          # ward codes, sorted (object array of str)
    geoms: np.ndarray          # shapely geometries in the same order
    resolution: int
    cells: np.ndarray          # sorted unique uint64 cells touching any ward
    interior_ward: np.ndarray  # int32 per cell: the ward index, or -1 for a boundary cell
    cand_ptr: np.ndarray       # int64, CSR offsets into cand_ward per cell
    cand_ward: np.ndarray      # int32 candidate ward indexes of each cell (ascending)
    polygons: PolygonIndex     # the wards' rings (lon, lat) indexed for the exact test

    @classmethod
    def from_store(cls, store: Store) -> "WardIndex":
        import shapely

        rows = store.con.execute(
            "SELECT ward_code, geometry FROM wards ORDER BY ward_code"
        ).fetchall()
        codes = np.array([r[0] for r in rows], dtype=object)
        geoms = np.asarray(shapely.from_wkb([r[1] for r in rows]), dtype=object) if rows \
            else np.empty(0, dtype=object)
        res_row = store.con.execute("SELECT value FROM meta WHERE key = 'h3_resolution'").fetchall()
        resolution = int(res_row[0][0]) if res_row else 10
        cells = store.con.sql(
            "SELECT c.cell, w.idx, c.interior FROM ward_cells c JOIN "
            "(SELECT ward_code, (row_number() OVER (ORDER BY ward_code) - 1)::INTEGER AS idx FROM wards) w "
            "USING (ward_code) ORDER BY c.cell, w.idx"
        ).to_arrow_table()
        return cls.build(codes, geoms, resolution,
                         cells["cell"].to_numpy(), cells["idx"].to_numpy(),
                         cells["interior"].to_numpy(zero_copy_only=False))

    @classmethod
    def build(cls, codes, geoms, resolution, cell, ward, interior) -> "WardIndex":
        """From (cell, ward index, interior) rows sorted by cell then ward."""
        cell = np.asarray(cell, np.uint64)
        ward = np.asarray(ward, np.int32)
        interior = np.asarray(interior, bool)
        uniq, first, counts = np.unique(cell, return_index=True, return_counts=True)
        cand_ptr = np.zeros(len(uniq) + 1, np.int64)
        cand_ptr[1:] = np.cumsum(counts)
        interior_ward = np.full(len(uniq), NO_WARD, np.int32)
        only = (counts == 1) & interior[first]
        interior_ward[only] = ward[first[only]]
        return cls(codes, geoms, resolution, uniq, interior_ward, cand_ptr, ward,
                   polygon_index(geoms))

    def locate(self, lat: np.ndarray, lon: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """Ward index of each fix (``-1`` outside every ward)."""
        if cells is None:
            cells = latlng_to_cells(lat, lon, self.resolution)
        out = np.full(len(lat), NO_WARD, np.int32)
        if len(self.cells) == 0 or len(lat) == 0:
            return out
        pos = find_sorted(self.cells, cells)
        found = pos >= 0
        out[found] = self.interior_ward[pos[found]]
        edge = np.flatnonzero(found & (out == NO_WARD))
        if len(edge):
            out[edge] = points_in_wards(
                lat[edge], lon[edge], pos[edge], self.cand_ptr, self.cand_ward, self.polygons)
        return out


def points_in_wards(lat, lon, cell_pos, cand_ptr, cand_ward, polygons: PolygonIndex) -> np.ndarray:
    """Exact ward of fixes in boundary cells: the first candidate ward that covers the point.

    ``cell_pos`` is each fix's position in the cell index; the candidates of a
    cell are ``cand_ward[cand_ptr[p]:cand_ptr[p + 1]]`` in ascending ward order.
    Points on a ward's edge count as inside it (shapely's ``intersects``).
    """
    return first_covering_polygon(polygons, lon, lat, cell_pos, cand_ptr, cand_ward)


def polygon_index(geoms) -> PolygonIndex:
    """The rings of (Multi)Polygons, x = longitude and y = latitude, indexed for the exact test."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    ring_ptr = np.zeros(len(rings) + 1, np.int64)
    np.cumsum(np.bincount(vertex_ring, minlength=len(rings)), out=ring_ptr[1:])
    poly_ptr = np.zeros(len(geoms) + 1, np.int64)
    np.cumsum(np.bincount(part_geom[ring_part], minlength=len(geoms)), out=poly_ptr[1:])
    return build_polygon_index(xy, ring_ptr, poly_ptr)


def grow_m(geom, margin_m: float):
    """A lon/lat polygon grown by ``margin_m`` metres (buffered in a local equidistant projection)."""
    if margin_m <= 0:
        return geom
    import shapely
    from pyproj import Transformer

    centre = geom.centroid
    local = f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m"
    forward = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    back = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    grown = shapely.buffer(shapely.transform(geom, lambda xy: np.column_stack(
        forward.transform(xy[:, 0], xy[:, 1]))), margin_m)
    return shapely.transform(grown, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))


@dataclass
class StationIndex:
    """Station geofences: points with a radius, and polygons."""

    point_lat: np.ndarray
    point_lon: np.ndarray
    point_radius_m: np.ndarray
    polygons: list

    @classmethod
    def from_store(cls, store: Store, default_radius_m: float,
                   margin_m: float = 0.0) -> "StationIndex":
        import shapely

        lats, lons, radii, polys = [], [], [], []
        for wkb, radius in store.con.execute("SELECT geometry, radius_m FROM stations").fetchall():
            geom = shapely.from_wkb(wkb)
            if geom.geom_type == "Point":
                lats.append(geom.y)
                lons.append(geom.x)
                radii.append(default_radius_m if radius is None else radius)
            else:
                polys.append(grow_m(geom, margin_m))
        return cls(np.array(lats, float), np.array(lons, float), np.array(radii, float), polys)

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Whether each fix lies inside any station geofence."""
        import shapely

        from .kernels import within_radius

        inside = within_radius(lat, lon, self.point_lat, self.point_lon, self.point_radius_m)
        for poly in self.polygons:
            shapely.prepare(poly)
            inside |= shapely.intersects_xy(poly, lon, lat)
        return inside
