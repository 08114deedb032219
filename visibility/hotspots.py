"""Hotspots: the small places that need officers most.

A hotspot is an H3 cell (at the analysis resolution or coarser), a circle
(a point and a radius in metres) or a polygon, and belongs to one ward (the
ward holding its centre, unless the file names one). Hotspots are either
*given* (``visibility hotspots load``: a CSV of cells or of points with radii,
or any GIS vector file of points and polygons) or *derived* from demand
(``visibility hotspots derive``): per ward, the cells at the analysis
resolution holding the most incidents (``hotspot_top_cells``), each with at
least ``hotspot_min_demand``. A cell's ward is the ward where most of its
incidents lie. Loading replaces the given hotspots; deriving replaces the
derived ones.

For measuring, :func:`hotspot_cells` lists the cells at the analysis
resolution that each hotspot touches, and whether a fix in that cell is
certainly inside (a cell hotspot) or needs the exact test against the
circle or polygon (:func:`inside_hotspot`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BoundaryError, InputFileError, StoreError
from .store import Store

KINDS = ("cell", "circle", "polygon")
_CELL_COLUMNS = ("cell", "h3", "h3_cell", "h3_index", "hex")
EARTH_RADIUS_M = 6_371_008.8
_GROW_DEG = 2e-5  # about 2 m of latitude


@dataclass
class HotspotReport:
    loaded: int = 0
    replaced: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "replaced": self.replaced, "by_kind": dict(self.by_kind),
                "notes": list(self.notes)}


def analysis_resolution(store: Store, policy=None) -> int:
    row = store.con.execute("SELECT value FROM meta WHERE key = 'h3_resolution'").fetchall()
    if row:
        return int(row[0][0])
    return policy.h3_resolution if policy else 10


# -- deriving ---------------------------------------------------------------------------------
def derive_hotspots(store: Store, policy) -> HotspotReport:
    """Replace the derived hotspots with the busiest demand cells of each ward."""
    from .demand import require_tables
    from .kernels import latlng_to_cells

    require_tables(store)
    con = store.con
    rows = con.sql("SELECT lat, lon, ward_code FROM demand WHERE ward_code IS NOT NULL"
                   ).to_arrow_table()
    if rows.num_rows == 0:
        raise StoreError("no demand inside the loaded wards; load some with: visibility demand load")
    res = analysis_resolution(store, policy)
    cells = latlng_to_cells(rows["lat"].to_numpy(), rows["lon"].to_numpy(), res)
    import pyarrow as pa

    con.register("_hot_demand", pa.table({"cell": cells, "ward_code": rows["ward_code"]}))
    try:
        ranked = con.execute(
            """
            WITH per AS (SELECT cell, ward_code, count(*) AS n FROM _hot_demand GROUP BY ALL),
                 owner AS (SELECT cell, first(ward_code ORDER BY n DESC, ward_code) AS ward_code,
                                  sum(n) AS n
                           FROM per GROUP BY cell)
            SELECT r.cell, r.ward_code, r.n, r.k, w.ward_name FROM (
                SELECT *, row_number() OVER (PARTITION BY ward_code ORDER BY n DESC, cell) AS k
                FROM owner WHERE n >= $min) r JOIN wards w USING (ward_code)
            WHERE $top = 0 OR r.k <= $top ORDER BY r.ward_code, r.k
            """, {"min": policy.hotspot_min_demand, "top": policy.hotspot_top_cells}).fetchall()
    finally:
        con.unregister("_hot_demand")
    report = HotspotReport()
    with store.transaction():
        report.replaced, next_id = _clear(con, "demand")
        if ranked:
            con.executemany(
                "INSERT INTO hotspots VALUES (?, ?, ?, 'cell', ?, NULL, NULL, ?, 'demand')",
                [[next_id + i, f"{name} #{k} ({n} incidents)", ward, cell, n]
                 for i, (cell, ward, n, k, name) in enumerate(ranked)])
    report.loaded = len(ranked)
    report.by_kind = {"cell": len(ranked)}
    report.notes.append(f"H3 resolution {res}; up to {policy.hotspot_top_cells or 'all'} cells "
                        f"per ward with at least {policy.hotspot_min_demand} incidents")
    return report


def _clear(con, source: str) -> tuple[int, int]:
    """Delete the hotspots of ``source``: (how many there were, the next free id)."""
    n = con.execute("SELECT count(*) FROM hotspots WHERE source = ?", [source]).fetchall()[0][0]
    con.execute("DELETE FROM hotspots WHERE source = ?", [source])
    return n, _next_id(con)


def _next_id(con) -> int:
    return con.execute("SELECT coalesce(max(hotspot_id), 0) + 1 FROM hotspots").fetchall()[0][0]


# -- loading given hotspots ------------------------------------------------------------------------
def load_hotspots(store: Store, path: str | Path, radius_m: float | None = None) -> HotspotReport:
    """Replace the given hotspots with those of a file (CSV of cells or points, or GIS vectors)."""
    import shapely

    from .demand import require_tables

    require_tables(store)
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    con = store.con
    if not con.execute("SELECT count(*) FROM wards").fetchall()[0][0]:
        raise StoreError("no wards are loaded; load them first with: visibility boundaries load")
    res = analysis_resolution(store)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        items = _read_csv(path, res, radius_m)
    else:
        items = _read_vector(path, radius_m)
    if not items:
        raise InputFileError(f"{path}: holds no hotspots")
    wards = _wards_of(store, path, items)
    report = HotspotReport()
    with store.transaction():
        report.replaced, next_id = _clear(con, "given")
        rows = []
        for i, (item, ward) in enumerate(zip(items, wards)):
            geom = None if item["geometry"] is None else shapely.to_wkb(item["geometry"])
            rows.append([next_id + i, item["label"], ward, item["kind"], item["cell"], geom,
                         item["radius_m"], None])
        con.executemany("INSERT INTO hotspots VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'given')", rows)
    report.loaded = len(items)
    for item in items:
        report.by_kind[item["kind"]] = report.by_kind.get(item["kind"], 0) + 1
    return report


def _item(kind, label, cell=None, geometry=None, radius_m=None, ward=None, where=""):
    return {"kind": kind, "label": label, "cell": cell, "geometry": geometry,
            "radius_m": radius_m, "ward": ward or None, "where": where}


def _read_csv(path: Path, res: int, radius_m: float | None) -> list[dict]:
    import h3
    import shapely

    from .columns import normalise

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = {normalise(h): h for h in (reader.fieldnames or [])}
    cell_col = next((header[c] for c in _CELL_COLUMNS if c in header), None)
    lat_col = next((header[c] for c in ("lat", "latitude") if c in header), None)
    lon_col = next((header[c] for c in ("lon", "lng", "longitude") if c in header), None)
    rad_col = next((header[c] for c in ("radius_m", "radius") if c in header), None)
    label_col = next((header[c] for c in ("label", "name", "id") if c in header), None)
    ward_col = header.get("ward_code")
    if cell_col is None and (lat_col is None or lon_col is None):
        raise InputFileError(f"{path}: needs a column of H3 cells (cell) or of points "
                             f"(lat, lon, radius_m); columns are: {', '.join(reader.fieldnames or [])}")
    items = []
    for row in reader:
        where = f"{path} line {reader.line_num}"
        label = (row.get(label_col) or "").strip() if label_col else ""
        ward = (row.get(ward_col) or "").strip() if ward_col else None
        if cell_col:
            value = (row.get(cell_col) or "").strip().lower().removeprefix("0x")
            if not h3.is_valid_cell(value):
                raise InputFileError(f"{where}: {value!r} is not an H3 cell")
            cell_res = h3.get_resolution(value)
            if cell_res > res:
                raise InputFileError(
                    f"{where}: cell {value} has resolution {cell_res}, finer than the analysis "
                    f"(resolution {res}); give a point with a radius instead")
            items.append(_item("cell", label or value, cell=int(value, 16), ward=ward, where=where))
            continue
        try:
            lat, lon = float(row[lat_col]), float(row[lon_col])
        except (TypeError, ValueError):
            raise InputFileError(f"{where}: {row.get(lat_col)!r}, {row.get(lon_col)!r} is not a "
                                 "latitude, longitude") from None
        if not (abs(lat) <= 90 and abs(lon) <= 180):
            raise InputFileError(f"{where}: {lat}, {lon} is out of range for latitude, longitude")
        radius = _radius(row.get(rad_col) if rad_col else None, radius_m, where)
        items.append(_item("circle", label or f"{lat:.5f},{lon:.5f}",
                           geometry=shapely.Point(lon, lat), radius_m=radius, ward=ward, where=where))
    return items


def _radius(value, default, where) -> float:
    if value in (None, ""):
        if default is None:
            raise InputFileError(f"{where}: a point hotspot needs a radius (a radius_m column "
                                 "or --radius-m)")
        return float(default)
    try:
        radius = float(value)
    except (TypeError, ValueError):
        raise InputFileError(f"{where}: radius {value!r} is not a number of metres") from None
    if not (0 < radius <= 5000):
        raise InputFileError(f"{where}: radius {radius:g} m must be more than 0 and at most 5000")
    return radius


def _read_vector(path: Path, radius_m: float | None) -> list[dict]:
    from .boundaries import read_vector

    frame = read_vector(path)
    items = []
    label_col = next((c for c in ("label", "name", "id") if c in frame.columns), None)
    for k, (idx, feature) in enumerate(frame.iterrows()):
        where = f"{path} feature {k + 1}"
        geom = feature.geometry
        label = str(feature[label_col]) if label_col and feature[label_col] is not None else f"#{k + 1}"
        ward = feature.get("ward_code") if "ward_code" in frame.columns else None
        if geom is None or geom.is_empty:
            raise BoundaryError(f"{where}: empty geometry")
        if geom.geom_type == "Point":
            radius = _radius(feature.get("radius_m") if "radius_m" in frame.columns else None,
                             radius_m, where)
            items.append(_item("circle", label, geometry=geom, radius_m=radius, ward=ward,
                               where=where))
        elif geom.geom_type in ("Polygon", "MultiPolygon"):
            if not geom.is_valid:
                raise BoundaryError(f"{where}: invalid polygon")
            items.append(_item("polygon", label, geometry=geom, ward=ward, where=where))
        else:
            raise BoundaryError(f"{where}: a {geom.geom_type} is not a hotspot "
                                "(points with a radius, or polygons)")
    return items


def _wards_of(store: Store, path: Path, items: list[dict]) -> list[str]:
    import h3

    from .locate import NO_WARD, WardIndex

    known = {r[0] for r in store.con.execute("SELECT ward_code FROM wards").fetchall()}
    lat = np.empty(len(items))
    lon = np.empty(len(items))
    for i, item in enumerate(items):
        if item["kind"] == "cell":
            lat[i], lon[i] = h3.cell_to_latlng(f"{item['cell']:x}")
        else:
            point = item["geometry"].representative_point() if item["kind"] == "polygon" \
                else item["geometry"]
            lat[i], lon[i] = point.y, point.x
    index = WardIndex.from_store(store)
    found = index.locate(lat, lon)
    wards = []
    for item, w in zip(items, found):
        if item["ward"]:
            if item["ward"] not in known:
                raise InputFileError(f"{item['where']}: ward {item['ward']!r} is not loaded")
            wards.append(item["ward"])
        elif w == NO_WARD:
            raise InputFileError(f"{item['where']}: hotspot {item['label']!r} lies outside every "
                                 "loaded ward; name its ward in a ward_code column")
        else:
            wards.append(str(index.codes[w]))
    return wards


# -- listing and membership ------------------------------------------------------------------
def hotspots_table(store: Store):
    from .demand import require_tables
    from .tables import Table

    require_tables(store)
    cur = store.con.execute(
        """SELECT h.hotspot_id, h.label, h.ward_code, w.ward_name, h.kind,
                  CASE WHEN h.cell IS NOT NULL THEN printf('%x', h.cell) END AS cell,
                  h.radius_m, h.demand, h.source
           FROM hotspots h LEFT JOIN wards w USING (ward_code) ORDER BY h.hotspot_id""")
    return Table([d[0] for d in cur.description], cur.fetchall())


def hotspot_cells(store: Store) -> tuple[list[tuple], np.ndarray, np.ndarray, np.ndarray]:
    """The hotspots, and (cell, hotspot index, certain) for each cell at the analysis resolution
    that a hotspot touches; ``certain`` is false where the exact test is needed."""
    import h3
    import shapely

    res = analysis_resolution(store)
    hotspots = store.con.execute(
        "SELECT hotspot_id, ward_code, kind, cell, geometry, radius_m FROM hotspots "
        "ORDER BY hotspot_id").fetchall()
    cells, owner, certain = [], [], []
    for k, (_, _, kind, cell, wkb, radius) in enumerate(hotspots):
        if kind == "cell":
            found = h3.cell_to_children(f"{cell:x}", res)
            sure = True
        else:
            geom = shapely.from_wkb(wkb)
            # Grown by a couple of metres so that no cell the shape touches is missed.
            geom = _circle(geom.y, geom.x, radius + 2.0) if kind == "circle" \
                else geom.buffer(_GROW_DEG)
            found = h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(geom), res,
                                                     contain="overlap")
            sure = False
        cells += [int(c, 16) for c in found]
        owner += [k] * len(found)
        certain += [sure] * len(found)
    return (hotspots, np.array(cells, np.uint64), np.array(owner, np.int64),
            np.array(certain, bool))


def _circle(lat: float, lon: float, radius_m: float, n: int = 64):
    """A polygon just enclosing the circle (its edges lie outside the true circle)."""
    import shapely

    grow = 1.0 / math.cos(math.pi / n) * 1.001
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    d = radius_m * grow / EARTH_RADIUS_M
    lat_r = math.radians(lat)
    plat = np.arcsin(np.sin(lat_r) * np.cos(d) + np.cos(lat_r) * np.sin(d) * np.cos(a))
    plon = math.radians(lon) + np.arctan2(np.sin(a) * np.sin(d) * np.cos(lat_r),
                                          np.cos(d) - np.sin(lat_r) * np.sin(plat))
    return shapely.Polygon(np.column_stack([np.degrees(plon), np.degrees(plat)]))


def inside_hotspot(hotspot: tuple, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Exactly which points lie in a circle or polygon hotspot (edges count as inside)."""
    import shapely

    _, _, kind, _, wkb, radius = hotspot
    geom = shapely.from_wkb(wkb)
    if kind == "circle":
        p1, p2 = np.radians(lat), math.radians(geom.y)
        dp, dl = p2 - p1, np.radians(geom.x - lon)
        a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
        return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))) <= radius
    return shapely.intersects_xy(geom, lon, lat)
