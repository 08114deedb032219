"""Demand: incidents and calls for service, the where and when of public need.

Two CSV layouts are read:

- **incidents**: one row per incident or call, with a position (latitude and
  longitude, or easting and northing in a CRS given with ``--crs``; British
  National Grid when the columns are called easting/northing and no CRS is
  given), and optionally a time, a category and a priority. A time may be an
  instant (``2026-11-20T21:14:00Z``, ``20/11/2026 21:14``, epoch seconds), a
  day (``2026-11-20``) or a month (``2026-11``); times without a UTC offset are
  local (``--tz``).
- **police**: the data.police.uk street-level crime file (``Crime ID, Month,
  Reported by, Falls within, Longitude, Latitude, Location, LSOA code, LSOA
  name, Crime type, Last outcome category, Context``). It gives the month
  only, and positions snapped to anonymised map points: good for *where*
  (hotspots), silent on *when* (peak windows).

Every row is kept or rejected with its line and a reason, like fixes at ingest:
``rows read = accepted + rejected``. Each accepted incident is located in its
ward (``ward_code`` NULL outside the loaded wards). Loading the same content
twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from . import timeparse
from .columns import normalise
from .errors import ColumnError, CoordinateError, InputFileError, StoreError
from .store import Store

FORMATS = ("incidents", "police")
#: Reasons a demand row is rejected (``demand_rejects.reason``).
REASONS = ("malformed_row", "no_location", "bad_coordinate", "out_of_range", "null_island",
           "bad_time")
#: ``demand.precision``: what the time says.
PRECISIONS = ("time", "day", "month", "none")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "datetime", "date_time", "incident_time", "call_time",
             "received", "received_at", "created", "created_at", "reported_at", "occurred_at",
             "date", "month"),
    "lat": ("lat", "latitude", "lat_deg", "y"),
    "lon": ("lon", "lng", "long", "longitude", "lon_deg", "x"),
    "easting": ("easting", "eastings", "east", "x_coordinate", "grid_x", "bng_x"),
    "northing": ("northing", "northings", "north", "y_coordinate", "grid_y", "bng_y"),
    "category": ("category", "crime_type", "incident_type", "type", "classification",
                 "call_type", "opening_code", "final_classification", "offence"),
    "priority": ("priority", "grade", "response_grade", "call_grade"),
    "ref": ("crime_id", "incident_id", "call_id", "id", "ref", "reference", "urn", "cad",
            "incident_number"),
}
_POLICE = ("crime_id", "month", "falls_within", "longitude", "latitude", "crime_type")
OPTIONS = {"time": "--time-col", "lat": "--lat-col", "lon": "--lon-col",
           "category": "--category-col", "priority": "--priority-col"}
_TEMP = ("_dem_staged", "_dem_rej_errors", "_dem_rej_scans", "_dem_xy", "_dem_wards")


@dataclass
class DemandOptions:
    """How to read a demand file (columns are detected when ``None``)."""

    format: str | None = None      # incidents | police; detected from the header otherwise
    time_col: str | None = None
    lat_col: str | None = None     # or the northing with --crs
    lon_col: str | None = None     # or the easting with --crs
    category_col: str | None = None
    priority_col: str | None = None
    crs: str | None = None
    tz: str = "Europe/London"


@dataclass
class DemandReport:
    path: str
    sha256: str
    format: str = ""
    source_id: int | None = None
    already: bool = False
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    timed: int = 0
    in_wards: int = 0
    precisions: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "format": self.format,
                "source_id": self.source_id, "already_loaded": self.already,
                "rows_read": self.rows_read, "accepted": self.accepted,
                "rejected": self.rejected, "timed": self.timed, "in_wards": self.in_wards,
                "precisions": dict(self.precisions), "reasons": dict(self.reasons),
                "columns": dict(self.columns), "notes": list(self.notes)}


def require_tables(store: Store) -> None:
    """Refuse a store made before the demand and coverage tables existed."""
    have = store.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN "
        "('demand', 'hotspots', 'coverage_runs', 'memberships')").fetchall()[0][0]
    if have < 4:
        raise StoreError(f"{store.path} was made before demand and coverage were measured; "
                         "create a new store with: visibility init")


def load_demand(store: Store, path: str | Path, options: DemandOptions | None = None) -> DemandReport:
    """Load one demand CSV in one transaction and return what happened to its rows."""
    from .ingest import source_sha256

    options = options or DemandOptions()
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; name a CSV file")
    sha, size = source_sha256(path)
    if size == 0:
        raise InputFileError(f"{path}: the file is empty")
    require_tables(store)
    con = store.con
    if not con.execute("SELECT count(*) FROM wards").fetchall()[0][0]:
        raise StoreError("no wards are loaded; load them first with: visibility boundaries load")
    report = DemandReport(path=str(path), sha256=sha)
    known = con.execute("SELECT source_id, strftime(loaded_at, '%Y-%m-%d %H:%M UTC') "
                        "FROM demand_sources WHERE sha256 = ?", [sha]).fetchall()
    if known:
        report.source_id, report.already = known[0][0], True
        report.notes.append(f"same content already loaded as demand source {known[0][0]} on "
                            f"{known[0][1]}; nothing changed")
        return report
    try:
        with store.transaction():
            structural, crs = _stage(con, path, options, report)
            _convert(con, path, crs, report)
            _check(con, path, report)
            _locate(store)
            _write(con, report, structural)
    finally:
        for name in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return report


# -- reading ---------------------------------------------------------------------------------
def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _detect(columns: list[str], options: DemandOptions,
            where: str) -> tuple[str, dict[str, str], str | None]:
    """The layout, the column of each field, and the CRS of the coordinates (None: WGS84)."""
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    fmt = options.format or ("police" if all(c in by_norm for c in _POLICE) else "incidents")
    if fmt not in FORMATS:
        raise InputFileError(f"unknown demand format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "police":
        missing = [c for c in ("month", "longitude", "latitude") if c not in by_norm]
        if missing:
            raise ColumnError(f"{where}: not a data.police.uk crime file: no column "
                              f"{missing[0]!r} (columns are: {', '.join(columns)})")
        chosen = {"time": by_norm["month"], "lat": by_norm["latitude"],
                  "lon": by_norm["longitude"]}
        for name, col in (("category", "crime_type"), ("ref", "crime_id")):
            if col in by_norm:
                chosen[name] = by_norm[col]
        return fmt, chosen, options.crs
    overrides = {"time": options.time_col, "lat": options.lat_col, "lon": options.lon_col,
                 "category": options.category_col, "priority": options.priority_col}
    chosen = {}
    for name, synonyms in SYNONYMS.items():
        wanted = overrides.get(name)
        if wanted:
            match = wanted if wanted in columns else by_norm.get(normalise(wanted))
            if match is None:
                raise ColumnError(f"{where}: no column {wanted!r} for {name} "
                                  f"(columns are: {', '.join(columns)})")
            chosen[name] = match
            continue
        match = next((by_norm[s] for s in synonyms if s in by_norm
                      and by_norm[s] not in chosen.values()), None)
        if match is not None:
            chosen[name] = match
    grid = "easting" in chosen and "northing" in chosen
    if grid and not (options.lat_col or options.lon_col):
        chosen["lat"], chosen["lon"] = chosen["northing"], chosen["easting"]
    chosen.pop("easting", None)
    chosen.pop("northing", None)
    for name in ("lat", "lon"):
        if name not in chosen:
            label = "latitude (or northing)" if name == "lat" else "longitude (or easting)"
            raise ColumnError(
                f"{where}: no column for {label} (looked for {', '.join(SYNONYMS[name][:3])}, "
                f"{'northing' if name == 'lat' else 'easting'}; columns are: "
                f"{', '.join(columns) or 'none'}); name it with {OPTIONS[name]}")
    return fmt, chosen, options.crs or ("EPSG:27700" if grid else None)


def _stage(con, path: Path, options: DemandOptions, report: DemandReport) -> tuple[int, str | None]:
    """Read the file into ``_dem_staged``; return the malformed lines and the coordinates' CRS."""
    where = str(path)
    relation = ("read_csv($path, all_varchar = true, header = true, store_rejects = true, "
                "rejects_table = '_dem_rej_errors', rejects_scan = '_dem_rej_scans')")
    params = {"path": str(path)}
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}", params).fetchall()]
    except duckdb.Error as exc:
        raise InputFileError(f"{where}: cannot read as CSV: {_first_line(exc)}") from None
    report.format, chosen, crs = _detect(names, options, where)
    report.columns = dict(chosen)

    def text(name: str) -> str:
        col = chosen.get(name)
        return f"nullif(trim({_q(col)}), '')" if col else "NULL::VARCHAR"

    t = "time_text"
    sql_params = {**params, "tz": options.tz}
    if "time" in chosen:
        sample = [r[0] for r in con.execute(
            f"SELECT v FROM (SELECT {text('time')} AS v FROM {relation} LIMIT 200000) "
            "WHERE v IS NOT NULL USING SAMPLE 2000 ROWS (reservoir, 42)", params).fetchall()]
        counts = timeparse.classify(sample)
        order = [s for s, _ in sorted(counts.items(), key=lambda kv: -kv[1]) if s != "unknown"]
        instant = timeparse.parse_sql(t, order)
    else:
        instant = "NULL::TIMESTAMPTZ"
    precision = f"""CASE WHEN {t} IS NULL THEN 'none'
        WHEN regexp_matches({t}, '^\\d{{4}}-\\d{{2}}$') THEN 'month'
        WHEN regexp_matches({t}, '^(\\d{{4}}-\\d{{2}}-\\d{{2}}|\\d{{1,2}}/\\d{{1,2}}/\\d{{4}})$')
            THEN 'day'
        ELSE 'time' END"""
    ts = f"""CASE precision
        WHEN 'month' THEN timezone($tz, try_strptime({t} || '-01', '%Y-%m-%d'))
        WHEN 'day' THEN timezone($tz, coalesce(TRY_CAST(TRY_CAST({t} AS DATE) AS TIMESTAMP),
                                               try_strptime({t}, '%d/%m/%Y')))
        WHEN 'time' THEN {instant} END"""
    select = f"""
        SELECT line, ref, time_text, lat_text, lon_text, category, priority, precision,
               {ts} AS ts, TRY_CAST(lat_text AS DOUBLE) AS lat, TRY_CAST(lon_text AS DOUBLE) AS lon
        FROM (SELECT *, {precision} AS precision FROM (
            SELECT row_number() OVER () + 1 AS line, {text('ref')} AS ref,
                   {text('time')} AS time_text, {text('lat')} AS lat_text,
                   {text('lon')} AS lon_text, {text('category')} AS category,
                   {text('priority')} AS priority
            FROM {relation}))"""
    try:
        con.execute(f"CREATE TEMP TABLE _dem_staged AS {select}", sql_params)
    except duckdb.Error as exc:
        raise InputFileError(f"{where}: cannot read as CSV: {_first_line(exc)}") from None
    structural = con.execute("SELECT count(DISTINCT line) FROM _dem_rej_errors").fetchall()[0][0]
    if structural:
        _renumber_lines(con)
    return structural, crs


def _renumber_lines(con) -> None:
    """Give good records their physical line numbers around the malformed ones."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dem_staged AS
        WITH bad AS (SELECT DISTINCT line FROM _dem_rej_errors),
             good AS (SELECT l AS line, row_number() OVER (ORDER BY l) AS k
                      FROM range(2, (SELECT count(*) FROM _dem_staged)
                                    + (SELECT count(*) FROM bad) + 2) r(l)
                      WHERE l NOT IN (SELECT line FROM bad))
        SELECT g.line, s.* EXCLUDE (line) FROM _dem_staged s JOIN good g ON g.k = s.line - 1""")


def _convert(con, path: Path, crs: str | None, report: DemandReport) -> None:
    """Eastings/northings (or any x/y in ``crs``) to WGS84 latitude/longitude."""
    if not crs:
        return
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(crs)
    except CRSError:
        raise InputFileError(f"{path}: unknown CRS {crs!r}") from None
    xy = con.sql("SELECT line, lon AS x, lat AS y FROM _dem_staged "
                 "WHERE lat IS NOT NULL AND lon IS NOT NULL").to_arrow_table()
    transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(xy["x"].to_numpy(), xy["y"].to_numpy())
    table = pa.table({"line": xy["line"], "lat": np.where(np.isfinite(lat), lat, np.nan),
                      "lon": np.where(np.isfinite(lon), lon, np.nan)})
    con.register("_dem_xy_arrow", table)
    con.execute("CREATE TEMP TABLE _dem_xy AS SELECT * FROM _dem_xy_arrow")
    con.unregister("_dem_xy_arrow")
    con.execute("""CREATE OR REPLACE TEMP TABLE _dem_staged AS
                   SELECT s.* REPLACE (x.lat AS lat, x.lon AS lon)
                   FROM _dem_staged s LEFT JOIN _dem_xy x USING (line)""")
    report.notes.append(f"coordinates converted from {source.name} to WGS84")


_REASON = """CASE
    WHEN lat_text IS NULL AND lon_text IS NULL THEN 'no_location'
    WHEN lat IS NULL OR lon IS NULL OR isnan(lat) OR isnan(lon) OR isinf(lat) OR isinf(lon)
        THEN 'bad_coordinate'
    WHEN abs(lat) > 90 OR abs(lon) > 180 THEN 'out_of_range'
    WHEN lat = 0 AND lon = 0 THEN 'null_island'
    WHEN time_text IS NOT NULL AND ts IS NULL THEN 'bad_time'
END"""


def _check(con, path: Path, report: DemandReport) -> None:
    """Add the reason of each bad row; refuse a file whose times or coordinates are mostly wrong."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dem_staged AS "
                f"SELECT *, {_REASON} AS reason FROM _dem_staged")
    total, numeric, far, metric, ex_lat, ex_lon, timed_text, bad_time, ex_time = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL),
                  count(*) FILTER (WHERE abs(lat) > 90 OR abs(lon) > 180),
                  count(*) FILTER (WHERE abs(lat) > 1000 AND abs(lon) > 1000),
                  min(lat) FILTER (WHERE abs(lat) > 1000), min(lon) FILTER (WHERE abs(lon) > 1000),
                  count(time_text), count(*) FILTER (WHERE time_text IS NOT NULL AND ts IS NULL),
                  any_value(time_text) FILTER (WHERE time_text IS NOT NULL AND ts IS NULL)
           FROM _dem_staged""").fetchall()[0]
    if numeric and far > numeric / 2:
        if metric > numeric / 2:
            raise CoordinateError(
                f"{path}: the coordinates hold values like {ex_lat:.0f}, {ex_lon:.0f}: these look "
                "like projected metres (eastings/northings), not degrees; name their CRS with "
                "--crs (e.g. --crs EPSG:27700 for British National Grid)")
        raise CoordinateError(f"{path}: most coordinates are out of range for latitude/longitude; "
                              "check the columns (--lat-col, --lon-col)")
    if timed_text and bad_time > timed_text / 2:
        raise InputFileError(
            f"{path}: {bad_time} of {timed_text} times in column {report.columns.get('time')!r} "
            f"cannot be read (e.g. {ex_time!r}); use ISO 8601 (2026-11-20T21:14:00Z), "
            "UK day-first (20/11/2026 21:14), a day (2026-11-20) or a month (2026-11), "
            "or name another column with --time-col")


def _locate(store: Store) -> None:
    """The ward of each good row (NULL outside the loaded wards)."""
    from .locate import NO_WARD, WardIndex

    con = store.con
    rows = con.sql("SELECT line, lat, lon FROM _dem_staged WHERE reason IS NULL").to_arrow_table()
    wards = WardIndex.from_store(store)
    idx = wards.locate(rows["lat"].to_numpy(), rows["lon"].to_numpy())
    codes = pa.array(list(wards.codes), pa.string()) if len(wards.codes) else pa.array([], pa.string())
    ward = pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32(), mask=idx == NO_WARD), codes)
    con.register("_dem_wards_arrow", pa.table({"line": rows["line"], "ward_code": ward}))
    con.execute("CREATE TEMP TABLE _dem_wards AS SELECT line, ward_code::VARCHAR AS ward_code "
                "FROM _dem_wards_arrow")
    con.unregister("_dem_wards_arrow")


def _write(con, report: DemandReport, structural: int) -> None:
    source_id = con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM demand_sources"
                            ).fetchall()[0][0]
    report.source_id = source_id
    staged = con.execute("SELECT count(*) FROM _dem_staged").fetchall()[0][0]
    if staged + structural == 0:
        raise InputFileError(f"{report.path}: has a header but no rows")
    con.execute(
        """INSERT INTO demand
           SELECT ?, s.line, s.ref, s.ts, s.precision, s.lat, s.lon, s.category, s.priority,
                  w.ward_code
           FROM _dem_staged s JOIN _dem_wards w USING (line) WHERE s.reason IS NULL
           ORDER BY s.line""", [source_id])
    con.execute(
        """INSERT INTO demand_rejects
           SELECT ?, line, reason, to_json({time: time_text, lat: lat_text, lon: lon_text,
                                            category: category})::VARCHAR
           FROM _dem_staged WHERE reason IS NOT NULL ORDER BY line""", [source_id])
    if structural:
        con.execute("INSERT INTO demand_rejects SELECT ?, line, 'malformed_row', any_value(csv_line) "
                    "FROM _dem_rej_errors GROUP BY line ORDER BY line", [source_id])
    report.rows_read = staged + structural
    report.accepted, report.timed, report.in_wards = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE precision = 'time'), count(ward_code) "
        "FROM demand WHERE source_id = ?", [source_id]).fetchall()[0]
    report.rejected = report.rows_read - report.accepted
    report.precisions = dict(con.execute(
        "SELECT precision, count(*) FROM demand WHERE source_id = ? GROUP BY 1 ORDER BY 1",
        [source_id]).fetchall())
    report.reasons = dict(con.execute(
        "SELECT reason, count(*) FROM demand_rejects WHERE source_id = ? GROUP BY 1 ORDER BY 1",
        [source_id]).fetchall())
    if report.format == "police":
        report.notes.append("data.police.uk crimes give the month only and positions snapped to "
                            "anonymised points: good for hotspots, not for peak hours")
    elif report.accepted and not report.timed:
        report.notes.append("no incident has a time of day: peak windows will come from the "
                            "policy (peak_windows)")
    outside = report.accepted - report.in_wards
    if outside:
        report.notes.append(f"{outside} incidents lie outside the loaded wards (kept, "
                            "with no ward)")
    con.execute("INSERT INTO demand_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [source_id, report.sha256, report.path, report.format, report.rows_read,
                 report.accepted, report.rejected, report.timed,
                 "; ".join(report.notes) or None])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

