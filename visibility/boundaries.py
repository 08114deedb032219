"""Ward and station boundaries: read any GIS format, repair, store, and index by H3.

Geometry is read with geopandas (GeoJSON, GeoPackage, Shapefile, ...),
reprojected to WGS84 longitude/latitude, repaired where invalid, and stored as
WKB. Areas are computed in a metric CRS (British National Grid by default).
``ward_cells`` then lists, for the policy's H3 resolution, every cell touching a
ward and whether it lies wholly inside one ward (interior) or not (boundary).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BoundaryError, InputFileError
from .store import Store

#: Metric CRS for areas unless told otherwise.
AREA_CRS = "EPSG:27700"
#: A ward with more vertices than this is refused: real ward boundaries have a few
#: thousand; millions mean an unsimplified survey line or a hostile file.
MAX_WARD_VERTICES = 250_000
#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


@dataclass
class BoundaryReport:
    loaded: int = 0
    replaced: int = 0
    repaired: list[str] = field(default_factory=list)
    cells: int = 0
    interior_cells: int = 0
    boroughs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "replaced": self.replaced, "repaired": self.repaired,
                "cells": self.cells, "interior_cells": self.interior_cells,
                "boroughs": self.boroughs, "notes": self.notes}


def read_vector(path: str | Path):
    """Read a vector file into a GeoDataFrame in WGS84, with clear errors."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")
    try:
        # GDAL reports repairs it made while reading (an unclosed ring...) as warnings;
        # keep them as notes instead of letting them escape.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path}: cannot read as a GIS vector file: {message}") from None
    if len(frame) == 0:
        raise InputFileError(f"{path}: holds no features")
    frame.attrs["notes"] = sorted({f"{path}: {w.message}" for w in caught})
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
            raise BoundaryError(f"{path}: has no CRS and its coordinates are not degrees; "
                                "save it with its CRS")
        frame = frame.set_crs("EPSG:4326")
    elif not frame.crs.equals("EPSG:4326") and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    return frame


def _field(frame, name: str, path, what: str):
    if name not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c != "geometry")
        raise BoundaryError(f"{path}: no field {name!r} for the {what} (fields are: {fields})")
    values = frame[name]
    if values.isna().any():
        raise BoundaryError(f"{path}: field {name!r} is empty in {int(values.isna().sum())} feature(s)")
    return values.astype(str).str.strip()


def _polygonal(geom):
    """The polygonal part of a geometry (after make_valid), or None."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts)


def load_wards(
    store: Store,
    paths: list[str | Path],
    code_field: str,
    name_field: str,
    borough_code: str | None = None,
    borough_name: str | None = None,
    borough_code_field: str | None = None,
    borough_name_field: str | None = None,
    h3_resolution: int = 10,
    area_crs: str = AREA_CRS,
) -> BoundaryReport:
    """Load ward polygons from files, replacing wards of the same code, and rebuild ward_cells."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    if (borough_code is None) == (borough_code_field is None):
        raise BoundaryError("give the borough either as --borough-code/--borough-name "
                            "or as --borough-code-field/--borough-name-field")
    frames, notes = [], []
    for path in paths:
        frame = read_vector(path)
        notes += frame.attrs.get("notes", [])
        codes = _field(frame, code_field, path, "ward code")
        names = _field(frame, name_field, path, "ward name")
        if borough_code_field:
            b_codes = _field(frame, borough_code_field, path, "borough code")
            b_names = (_field(frame, borough_name_field, path, "borough name")
                       if borough_name_field else b_codes)
        else:
            b_codes = pd.Series([borough_code] * len(frame), index=frame.index)
            b_names = pd.Series([borough_name or borough_code] * len(frame), index=frame.index)
        frames.append(gpd.GeoDataFrame(
            {"ward_code": codes, "ward_name": names, "borough_code": b_codes,
             "borough_name": b_names, "source": str(path)},
            geometry=frame.geometry.values, crs="EPSG:4326"))
    wards = pd.concat(frames, ignore_index=True)
    dup = wards["ward_code"][wards["ward_code"].duplicated()]
    if len(dup):
        raise BoundaryError(f"ward code {dup.iloc[0]!r} appears more than once in the input")

    report = BoundaryReport(notes=notes)
    geoms = []
    for code, geom, source in zip(wards["ward_code"], wards.geometry, wards["source"]):
        if geom is None or geom.is_empty:
            raise BoundaryError(f"{source}: ward {code} has empty geometry")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise BoundaryError(f"{source}: ward {code} is a {geom.geom_type}, not a polygon")
        vertices = shapely.get_num_coordinates(geom)
        if vertices > MAX_WARD_VERTICES:
            raise BoundaryError(
                f"{source}: ward {code} has {vertices:,} vertices (at most {MAX_WARD_VERTICES:,}); "
                "simplify the boundaries first (e.g. to 1 m) and load them again")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
            raise BoundaryError(f"{source}: ward {code} has coordinates outside longitude/latitude "
                                "ranges; the file's CRS is probably wrong")
        if not geom.is_valid:
            fixed = _polygonal(shapely.make_valid(geom))
            if fixed is None:
                raise BoundaryError(f"{source}: ward {code} has invalid geometry that cannot be repaired")
            report.repaired.append(code)
            geom = fixed
        geoms.append(geom)
    wards = wards.set_geometry(gpd.GeoSeries(geoms, crs="EPSG:4326"))
    try:
        areas = wards.geometry.to_crs(area_crs).area.to_numpy()
    except Exception as exc:
        raise BoundaryError(f"cannot compute areas in {area_crs}: {exc}") from None

    con = store.con
    with store.transaction():
        existing = {r[0] for r in con.execute("SELECT ward_code FROM wards").fetchall()}
        report.replaced = sum(code in existing for code in wards["ward_code"])
        con.executemany("DELETE FROM wards WHERE ward_code = ?", [[c] for c in wards["ward_code"]])
        rows = [
            [code, name, bcode, bname, shapely.to_wkb(geom), float(area), code in report.repaired]
            for code, name, bcode, bname, geom, area in zip(
                wards["ward_code"], wards["ward_name"], wards["borough_code"],
                wards["borough_name"], wards.geometry, areas)
        ]
        con.executemany("INSERT INTO wards VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        report.loaded = len(rows)
        report.cells, report.interior_cells = rebuild_ward_cells(store, h3_resolution)
        report.boroughs = sorted(set(wards["borough_code"]))
    return report


def stored_wards(store: Store):
    """All stored wards as a GeoDataFrame sorted by ward code."""
    import geopandas as gpd
    import shapely

    rows = store.con.execute(
        "SELECT ward_code, ward_name, borough_code, borough_name, geometry, area_m2 "
        "FROM wards ORDER BY ward_code"
    ).fetchall()
    geoms = shapely.from_wkb([r[4] for r in rows]) if rows else []
    return gpd.GeoDataFrame(
        {"ward_code": [r[0] for r in rows], "ward_name": [r[1] for r in rows],
         "borough_code": [r[2] for r in rows], "borough_name": [r[3] for r in rows],
         "area_m2": [r[5] for r in rows]},
        geometry=list(geoms), crs="EPSG:4326")


def rebuild_ward_cells(store: Store, resolution: int) -> tuple[int, int]:
    """Recompute ``ward_cells`` for every stored ward; return (cells, interior cells)."""
    import pyarrow as pa

    wards = stored_wards(store)
    cells, ward_idx, interior = ward_cells(list(wards.geometry), resolution)
    codes = np.asarray(wards["ward_code"], dtype=object)
    table = pa.table({
        "cell": pa.array(cells, pa.uint64()),
        "ward_code": pa.array(codes[ward_idx] if len(ward_idx) else [], pa.string()),
        "interior": pa.array(interior, pa.bool_()),
    })
    con = store.con
    con.execute("DELETE FROM ward_cells")
    con.register("_ward_cells", table)
    con.execute("INSERT INTO ward_cells SELECT * FROM _ward_cells")
    con.unregister("_ward_cells")
    bounds = wards.total_bounds if len(wards) else None
    con.execute("DELETE FROM meta WHERE key IN ('ward_bbox', 'h3_resolution')")
    if bounds is not None:
        west, south, east, north = bounds
        con.execute("INSERT INTO meta VALUES ('ward_bbox', ?)", [f"{south},{west},{north},{east}"])
    con.execute("INSERT INTO meta VALUES ('h3_resolution', ?)", [str(resolution)])
    return len(np.unique(cells)), int(interior.sum())


def cell_polygons(cells: np.ndarray):
    """Shapely polygons (lon/lat) of H3 cells, from h3's cell boundaries."""
    import h3
    import shapely

    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(int(c)))] for c in cells]
    return shapely.polygons(rings) if rings else np.empty(0, dtype=object)


def edge_margin_deg(resolution: int, lat_deg: float) -> float:
    """A safety margin, in degrees, between H3's geodesic cell edges and straight lon/lat edges.

    Cell edges are great-circle arcs; stored polygons have straight edges in
    lon/lat. Their largest separation is of the order of edge²/(2R); the margin
    adds 0.1 m and converts to degrees of longitude at the given latitude.
    """
    import h3

    edge_m = h3.average_hexagon_edge_length(resolution, unit="m") * 1.5
    margin_m = 0.1 + edge_m * edge_m / (2 * EARTH_RADIUS_M)
    return margin_m / (111_320.0 * max(np.cos(np.radians(abs(lat_deg))), 0.01))


def ward_cells(geoms: list, resolution: int):
    """H3 cells touching each ward: arrays (cell, ward index, interior).

    A cell is interior when, grown by a small margin, it lies wholly inside
    exactly one ward and touches no other; otherwise it is a boundary cell of
    every ward it touches (grown by the same margin, so no point of a ward can
    fall in a cell that is not listed for it).
    """
    import h3
    import shapely

    if not geoms:
        return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, bool)
    lat_max = max(abs(g.bounds[1]) for g in geoms) if geoms else 0.0
    lat_max = max(lat_max, max(abs(g.bounds[3]) for g in geoms))
    margin = edge_margin_deg(resolution, lat_max)
    reach = (h3.average_hexagon_edge_length(resolution, unit="m") * 2.5
             / (111_320.0 * max(np.cos(np.radians(lat_max)), 0.01)))
    candidates = set()
    for geom in geoms:
        grown = geom.buffer(reach, quad_segs=2)
        candidates.update(h3.geo_to_cells(grown, resolution))
    cell_ids = np.array(sorted(h3.str_to_int(c) for c in candidates), dtype=np.uint64)
    polys = shapely.buffer(cell_polygons(cell_ids), margin, quad_segs=2)
    tree = shapely.STRtree(geoms)
    cell_pos, ward_pos = tree.query(polys, predicate="intersects")
    touching = np.bincount(cell_pos, minlength=len(cell_ids))
    inside = np.zeros(len(cell_pos), dtype=bool)
    single = touching[cell_pos] == 1
    if single.any():
        idx = np.flatnonzero(single)
        garr = np.asarray(geoms, dtype=object)
        inside[idx] = shapely.contains(garr[ward_pos[idx]], polys[cell_pos[idx]])
    order = np.lexsort((ward_pos, cell_pos))
    return cell_ids[cell_pos[order]], ward_pos[order].astype(np.int64), inside[order]


# -- stations -----------------------------------------------------------------
def load_stations(store: Store, path: str | Path, id_field: str | None = None,
                  name_field: str | None = None, radius_field: str = "radius_m") -> int:
    """Load police stations and other non-visible places (polygons, or points with a radius)."""
    import shapely

    frame = read_vector(path)
    columns = set(frame.columns)
    name_field = name_field or next((c for c in ("name", "station_name", "NAME") if c in columns), None)
    if name_field is None:
        raise BoundaryError(f"{path}: no name field for the stations (name it with --name-field)")
    names = _field(frame, name_field, path, "station name")
    if id_field:
        ids = _field(frame, id_field, path, "station id")
    elif "station_id" in columns:
        ids = _field(frame, "station_id", path, "station id")
    else:
        ids = names
    if ids.duplicated().any():
        raise BoundaryError(f"{path}: station id {ids[ids.duplicated()].iloc[0]!r} appears more than once")
    radii = frame[radius_field] if radius_field in columns else [None] * len(frame)
    rows = []
    for sid, name, geom, radius in zip(ids, names, frame.geometry, radii):
        if geom is None or geom.is_empty:
            raise BoundaryError(f"{path}: station {sid} has empty geometry")
        kind = geom.geom_type
        if kind not in ("Point", "Polygon", "MultiPolygon"):
            raise BoundaryError(f"{path}: station {sid} is a {kind}; expected a point or a polygon")
        if kind != "Point" and not geom.is_valid:
            geom = _polygonal(shapely.make_valid(geom))
            if geom is None:
                raise BoundaryError(f"{path}: station {sid} has invalid geometry")
        r = None
        if radius is not None and not (isinstance(radius, float) and np.isnan(radius)):
            try:
                r = float(radius)
            except (TypeError, ValueError):
                raise BoundaryError(f"{path}: station {sid} has radius {radius!r}, not a number") from None
            if r < 0:
                raise BoundaryError(f"{path}: station {sid} has a negative radius")
        rows.append([sid, name, shapely.to_wkb(geom), r])
    with store.transaction() as con:
        con.executemany("DELETE FROM stations WHERE station_id = ?", [[r[0]] for r in rows])
        con.executemany("INSERT INTO stations VALUES (?, ?, ?, ?)", rows)
    return len(rows)
