"""Ingest GPS fixes into the store, losing nothing.

Each source (a CSV or Parquet file, a hive-partitioned Parquet folder, or a
GPX/GeoJSON/JSON file parsed into Arrow) is read by DuckDB, its columns mapped
to the canonical fields, every row parsed and validated in SQL, and the result
written in one transaction: accepted fixes to ``pings`` (or ``device_pings``
for device-keyed feeds), bad rows to ``rejects`` with their line and reason,
and one row in ``sources`` that reconciles them:
``rows_read = accepted + rejected + duplicate + unassigned``.
"""

from __future__ import annotations

import glob as globmod
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from . import columns as C
from . import timeparse
from .errors import CoordinateError, InputFileError
from .store import Store

#: Reasons a row is rejected; ``rejects.reason`` holds one of these.
REASONS = (
    "malformed_row",          # the CSV reader could not split the line into the header's columns
    "missing_officer",        # no officer (or device) id
    "bad_time",
    "bad_coordinate",         # latitude or longitude is not a number
    "out_of_range",           # |lat| > 90 or |lon| > 180
    "null_island",            # exactly (0, 0): a receiver with no fix
    "bad_accuracy",           # accuracy given but not a non-negative number
    "conflicting_duplicate",  # same officer (device) and time as another fix, different position
)

FORMATS = ("csv", "parquet", "gpx", "geojson", "json")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
             ".gpx": "gpx", ".geojson": "geojson", ".json": "json", ".jsonl": "json",
             ".ndjson": "json"}
_TEMP = ("_staged", "_dupkeys", "_dupres", "_rej_errors", "_rej_scans", "_xy")


@dataclass
class IngestReport:
    """What happened to one source."""

    path: str
    sha256: str
    format: str
    bytes: int = 0
    source_id: int | None = None
    already: bool = False
    keyed_by: str = "officer"
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0
    unassigned: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": self.path, "sha256": self.sha256, "format": self.format, "bytes": self.bytes,
            "source_id": self.source_id, "already_ingested": self.already,
            "keyed_by": self.keyed_by, "rows_read": self.rows_read, "accepted": self.accepted,
            "rejected": self.rejected, "duplicate": self.duplicate,
            "unassigned": self.unassigned, "reasons": dict(self.reasons),
            "columns": dict(self.columns), "notes": list(self.notes),
        }


@dataclass
class IngestOptions:
    """How to read a source: column names (detected when ``None``), zone, CRS and the like."""

    officer_col: str | None = None
    time_col: str | None = None
    lat_col: str | None = None
    lon_col: str | None = None
    accuracy_col: str | None = None
    tz: str = "Europe/London"
    delimiter: str | None = None
    device_col: str | None = None
    officer: str | None = None   # one officer id for every row of the source
    device: str | None = None    # one device id for every row of the source
    crs: str | None = None       # coordinates are x/y in this CRS, not WGS84 degrees
    date_order: str = "dmy"      # slash dates: day first (UK) or month first
    format: str | None = None    # force a format instead of detecting it

    @classmethod
    def load(cls, path: str | Path, **given) -> "IngestOptions":
        """Options from a saved mapping file (TOML); options given here win over the file."""
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputFileError(f"mapping file {path}: no such file") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputFileError(f"mapping file {path}: cannot read ({exc})") from None
        data = data.get("mapping", data)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputFileError(f"mapping file {path}: unknown key {unknown[0]!r} "
                                 f"(known: {', '.join(sorted(known))})")
        bad = [k for k, v in data.items() if not isinstance(v, str)]
        if bad:
            raise InputFileError(f"mapping file {path}: {bad[0]} must be text")
        data.update({k: v for k, v in given.items() if v is not None})
        return cls(**data)

    def to_toml(self, columns: dict[str, str] | None = None) -> str:
        """This mapping as a TOML file (``columns``: the columns detection chose, to pin them)."""
        values = {k: v for k, v in self.__dict__.items() if v is not None}
        for field, option in ((C.OFFICER, "officer_col"), (C.DEVICE, "device_col"),
                              (C.TIME, "time_col"), (C.LAT, "lat_col"), (C.LON, "lon_col"),
                              (C.ACCURACY, "accuracy_col")):
            if columns and field in columns:
                values.setdefault(option, columns[field])
        lines = ["[mapping]"] + [f"{k} = {_toml_str(v)}" for k, v in sorted(values.items())]
        return "\n".join(lines) + "\n"

    def overrides(self) -> dict[str, str | None]:
        return {C.OFFICER: self.officer_col, C.DEVICE: self.device_col, C.TIME: self.time_col,
                C.LAT: self.lat_col, C.LON: self.lon_col, C.ACCURACY: self.accuracy_col}


def _toml_str(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a valid TOML basic string


# -- finding sources ------------------------------------------------------------------
def _is_hive_folder(path: Path) -> bool:
    return any(p.is_dir() and "=" in p.name for p in path.iterdir())


def expand_paths(args: list[str | Path]) -> list[Path]:
    """Files (and hive-partitioned Parquet folders) named by paths, folders and globs."""
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            if _is_hive_folder(path):
                found.append(path)
                continue
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
            if not files:
                raise InputFileError(f"{path}: folder holds no fix files "
                                     f"({', '.join(sorted(_SUFFIXES))})")
            found.extend(files)
        elif path.exists():
            found.append(path)
        elif any(ch in str(arg) for ch in "*?["):
            matches = sorted(Path(p) for p in globmod.glob(str(arg), recursive=True)
                             if Path(p).is_file())
            if not matches:
                raise InputFileError(f"{arg}: no files match")
            found.extend(matches)
        else:
            raise InputFileError(f"{path}: no such file")
    return list(dict.fromkeys(found))


def detect_format(path: Path, forced: str | None = None) -> str:
    if forced:
        if forced not in FORMATS:
            raise InputFileError(f"unknown format {forced!r}; choose one of {', '.join(FORMATS)}")
        return forced
    if path.is_dir():
        return "parquet"
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt in ("csv", "parquet"):
        return fmt
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PAR1"):
        return "parquet"
    from .readers import detect_format as detect_parsed

    return detect_parsed(path) or "csv"


def source_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 of a file's bytes (of a folder: of its files' paths and contents), and the size."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    size = 0
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    return digest.hexdigest(), size


# -- the public entry points ---------------------------------------------------------------
def ingest_paths(store: Store, args: list[str | Path], options: IngestOptions | None = None,
                 progress: Callable[[int], None] | None = None) -> list[IngestReport]:
    """Ingest every source named by ``args``; ``progress`` is told the bytes done after each."""
    reports = []
    for path in expand_paths(args):
        report = ingest_file(store, path, options)
        reports.append(report)
        if progress:
            progress(report.bytes)
    return reports


def total_bytes(paths: list[Path]) -> int:
    return sum(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir()
               else path.stat().st_size for path in paths)


def ingest_file(store: Store, path: str | Path, options: IngestOptions | None = None) -> IngestReport:
    """Ingest one source in one transaction and return its reconciliation."""
    options = options or IngestOptions()
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir() and not _is_hive_folder(path):
        raise InputFileError(f"{path}: is a folder; name its files, or a hive-partitioned Parquet folder")
    try:
        sha, size = source_sha256(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise InputFileError(f"{path}: the file is empty")
    fmt = detect_format(path, options.format)
    report = IngestReport(path=str(path), sha256=sha, format=fmt, bytes=size)
    con = store.con
    known = con.execute(
        "SELECT source_id, strftime(ingested_at, '%Y-%m-%d %H:%M UTC') FROM sources WHERE sha256 = ?",
        [sha],
    ).fetchall()
    if known:
        report.source_id, report.already = known[0][0], True
        report.notes.append(f"same content already ingested as source {known[0][0]} on "
                            f"{known[0][1]}; nothing changed")
        return report
    try:
        with store.transaction():
            try:
                structural = _stage(con, path, fmt, options, report)
            except duckdb.Error as exc:  # the file breaks while being read (corrupt pages...)
                raise InputFileError(f"{path}: cannot read as {fmt.upper()}: {_first_line(exc)}") from None
            _check_times(con, path, report, options.tz)
            _check_coordinates(con, path)
            _find_duplicates(con, report.keyed_by)
            _reconcile(con, report, structural)
    finally:
        for name in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        for name in ("_src",):
            try:
                con.unregister(name)
            except Exception:  # not registered for this format
                pass
    return report


# -- stage: read, map columns, parse, validate -------------------------------------------
def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _relation(con, path: Path, fmt: str, options: IngestOptions):
    """SQL of the raw relation, its parameters, and the SQL of its line numbers."""
    if fmt == "csv":
        args = ("all_varchar = true, header = true, store_rejects = true, "
                "rejects_table = '_rej_errors', rejects_scan = '_rej_scans'")
        params = {"path": str(path)}
        if options.delimiter:
            args += ", delim = $delim"
            params["delim"] = options.delimiter
        return f"read_csv($path, {args})", params, "row_number() OVER () + 1"
    if fmt == "parquet":
        if path.is_dir():
            return ("read_parquet($path, hive_partitioning = true, file_row_number = true, "
                    "filename = true)", {"path": str(path / "**" / "*.parquet")}, "file_row_number + 1")
        return "read_parquet($path, file_row_number = true)", {"path": str(path)}, "file_row_number + 1"
    from .readers import read_fixes

    table = read_fixes(path, fmt)
    con.register("_src", table)
    return "_src", {}, "_line"


def _stage(con, path: Path, fmt: str, options: IngestOptions, report: IngestReport) -> int:
    """Build ``_staged``; return the number of structurally broken CSV lines."""
    where = str(path)
    relation, params, line_sql = _relation(con, path, fmt, options)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}", params).fetchall()
    except duckdb.Error as exc:
        raise InputFileError(f"{where}: cannot read as {fmt.upper()}: {_first_line(exc)}") from None
    names = [r[0] for r in described if r[0] not in ("file_row_number", "filename", "_line")]
    types = {r[0]: r[1].upper() for r in described}
    key_given = bool(options.officer or options.device)
    chosen = C.detect_columns(names, options.overrides(), where, key_given=key_given)
    report.columns = dict(chosen)
    report.keyed_by = "device" if (options.device or C.DEVICE in chosen) else "officer"

    def text(col: str) -> str:
        return f"nullif(trim(CAST({_q(col)} AS VARCHAR)), '')"

    def raw(col: str | None) -> str:
        if col is None:
            return "NULL::VARCHAR"
        return text(col) if types[col] == "VARCHAR" else "NULL::VARCHAR"

    def number(col: str) -> str:
        if types[col] in ("DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT",
                          "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT") \
                or types[col].startswith("DECIMAL"):
            return f"CAST({_q(col)} AS DOUBLE)"
        return f"TRY_CAST({text(col)} AS DOUBLE)"

    constant = options.officer or options.device
    key_col = chosen.get(C.OFFICER) or chosen.get(C.DEVICE)
    key_sql = "$key" if constant else text(key_col)
    time_col = chosen[C.TIME]
    time_type = types[time_col]
    sql_params: dict = {}
    if constant:
        sql_params["key"] = constant
        report.notes.append(f"every row belongs to {report.keyed_by} {constant}")
    if time_type == "TIMESTAMP WITH TIME ZONE":
        ts_sql, naive_sql = _q(time_col), "false"
    elif time_type.startswith("TIMESTAMP") or time_type == "DATE":
        ts_sql, naive_sql = f"timezone($tz, CAST({_q(time_col)} AS TIMESTAMP))", "true"
    elif time_type in ("BIGINT", "INTEGER", "DOUBLE", "UBIGINT", "HUGEINT"):
        ts_sql, naive_sql = _epoch_sql(con, relation, params, time_col), "false"
    else:
        ts_sql, naive_sql = _text_time_sql(con, relation, params, text(time_col), options, report)
    if "$tz" in ts_sql:
        # GPX times without an offset are UTC by the GPX specification.
        sql_params["tz"] = "UTC" if fmt == "gpx" else options.tz
    acc = chosen.get(C.ACCURACY)
    file_sql = "filename" if (fmt == "parquet" and path.is_dir()) else "NULL::VARCHAR"
    select = f"""
        SELECT {line_sql} AS line, {file_sql} AS file,
               {key_sql} AS key,
               {raw(time_col)} AS time_text, {ts_sql} AS ts, {naive_sql} AS naive,
               {raw(chosen[C.LAT])} AS lat_text, {raw(chosen[C.LON])} AS lon_text,
               {number(chosen[C.LAT])} AS lat, {number(chosen[C.LON])} AS lon,
               {raw(acc) if acc else 'NULL::VARCHAR'} AS acc_text,
               {number(acc) if acc else 'NULL::DOUBLE'} AS accuracy_m,
               {f"{text(acc)} IS NOT NULL" if acc else "false"} AS acc_given
        FROM {relation}
    """
    all_params = {**params, **sql_params}
    try:
        if options.crs:
            con.execute(f"CREATE TEMP TABLE _staged AS {select}", all_params)
            _convert_crs(con, options.crs, where, report)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _staged AS {_KEEP} FROM "
                        f"(SELECT *, {_REASON} AS reason FROM _staged)")
        else:
            con.execute(f"CREATE TEMP TABLE _staged AS {_KEEP} FROM "
                        f"(SELECT *, {_REASON} AS reason FROM ({select}))", all_params)
    except duckdb.Error as exc:
        raise InputFileError(f"{where}: cannot read as {fmt.upper()}: {_first_line(exc)}") from None
    if fmt != "csv":
        return 0
    structural = con.execute("SELECT count(DISTINCT line) FROM _rej_errors").fetchall()[0][0]
    if structural:
        _renumber_lines(con)
    return structural


# The raw text of a row is kept only where the row is rejected: storing every
# row's text would double the cost of staging a large file.
_KEEP = """SELECT line, file, key, ts, naive, lat, lon, accuracy_m, acc_given, reason,
    false AS dup, hash(key, ts) AS h,
    CASE WHEN reason IS NOT NULL THEN time_text END AS time_text,
    CASE WHEN reason IS NOT NULL THEN lat_text END AS lat_text,
    CASE WHEN reason IS NOT NULL THEN lon_text END AS lon_text,
    CASE WHEN reason IS NOT NULL THEN acc_text END AS acc_text"""

_REASON = """CASE
    WHEN key IS NULL THEN 'missing_officer'
    WHEN ts IS NULL THEN 'bad_time'
    WHEN lat IS NULL OR lon IS NULL OR isnan(lat) OR isnan(lon) OR isinf(lat) OR isinf(lon)
        THEN 'bad_coordinate'
    WHEN abs(lat) > 90 OR abs(lon) > 180 THEN 'out_of_range'
    WHEN lat = 0 AND lon = 0 THEN 'null_island'
    WHEN acc_given AND (accuracy_m IS NULL OR accuracy_m < 0 OR isnan(accuracy_m)) THEN 'bad_accuracy'
END"""


def _sample(con, relation: str, params: dict, column_sql: str, n: int = 2000) -> list[str]:
    rows = con.execute(
        f"SELECT v FROM (SELECT {column_sql} AS v FROM {relation} LIMIT 200000) "
        f"WHERE v IS NOT NULL USING SAMPLE {n} ROWS (reservoir, 42)", params).fetchall()
    return [r[0] for r in rows]


def _text_time_sql(con, relation, params, column_sql, options: IngestOptions,
                   report: IngestReport) -> tuple[str, str]:
    sample = _sample(con, relation, params, column_sql)
    counts = timeparse.classify(sample)
    order = [s for s, _ in sorted(counts.items(), key=lambda kv: -kv[1]) if s != "unknown"]
    report.notes.append(timeparse.describe(counts))
    if "uk_day_first" in counts:
        firsts = [int(v.split("/")[0]) for v in sample if timeparse._COMPILED["uk_day_first"].match(v.strip())]
        seconds = [int(v.split("/")[1]) for v in sample if timeparse._COMPILED["uk_day_first"].match(v.strip())]
        if options.date_order == "dmy" and any(s > 12 for s in seconds) and all(f <= 12 for f in firsts):
            raise InputFileError(
                f"slash dates such as {sample[seconds.index(max(seconds))]!r} only make sense "
                "month first; pass --date-order mdy")
        if options.date_order == "dmy":
            report.notes.append("slash dates read day first (03/04/2026 is 3 April); "
                                "--date-order mdy reads them month first")
    sql = timeparse.parse_sql(column_sql, order)
    if options.date_order == "mdy":
        sql = sql.replace("'%d/%m/%Y", "'%m/%d/%Y")
    # Counting local-time rows costs a pattern test per row: only when the sample shows any.
    naive = timeparse.naive_sql(column_sql) if set(counts) & set(timeparse.NAIVE) else "false"
    return sql, naive


def _epoch_sql(con, relation, params, col) -> str:
    biggest = con.execute(f"SELECT max(abs({_q(col)})) FROM {relation}", params).fetchall()[0][0] or 0
    if biggest > 1e11:
        return f"epoch_ms(CAST({_q(col)} AS BIGINT))"
    return f"to_timestamp(CAST({_q(col)} AS DOUBLE))"


def _renumber_lines(con) -> None:
    """Give good CSV records their physical line numbers around the broken lines."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _staged AS
        WITH bad AS (SELECT DISTINCT line FROM _rej_errors),
             good_lines AS (
                SELECT l AS line, row_number() OVER (ORDER BY l) AS k
                FROM range(2, (SELECT count(*) FROM _staged) + (SELECT count(*) FROM bad) + 2) r(l)
                WHERE l NOT IN (SELECT line FROM bad))
        SELECT g.line, s.* EXCLUDE (line)
        FROM _staged s JOIN good_lines g ON g.k = s.line - 1
        """
    )


def _convert_crs(con, crs: str, where: str, report: IngestReport) -> None:
    """Turn x/y in ``crs`` (e.g. British National Grid eastings/northings) into WGS84 lat/lon."""
    import numpy as np
    import pyarrow as pa
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(crs)
    except CRSError:
        raise InputFileError(f"{where}: unknown CRS {crs!r}") from None
    transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    xy = con.sql("SELECT line, lon AS x, lat AS y FROM _staged "
                 "WHERE lat IS NOT NULL AND lon IS NOT NULL").to_arrow_table()
    lon, lat = transformer.transform(xy["x"].to_numpy(), xy["y"].to_numpy())
    lon = np.where(np.isfinite(lon), lon, np.nan)
    lat = np.where(np.isfinite(lat), lat, np.nan)
    con.register("_xy_arrow", pa.table({"line": xy["line"], "lat": lat, "lon": lon}))
    con.execute("CREATE TEMP TABLE _xy AS SELECT * FROM _xy_arrow")
    con.unregister("_xy_arrow")
    con.execute("""CREATE OR REPLACE TEMP TABLE _staged AS
                   SELECT s.* REPLACE (x.lat AS lat, x.lon AS lon)
                   FROM _staged s LEFT JOIN _xy x USING (line)""")
    report.notes.append(f"coordinates converted from {source.name} to WGS84")


# -- whole-file checks ------------------------------------------------------------------
def _check_times(con, path: Path, report: IngestReport, tz: str) -> None:
    """A source whose times mostly cannot be read is refused whole, with an example."""
    total, bad, example = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason = 'bad_time'), "
        "any_value(time_text) FILTER (WHERE reason = 'bad_time') FROM _staged"
    ).fetchall()[0]
    if total and bad > total / 2:
        column = report.columns.get(C.TIME)
        raise InputFileError(
            f"{path}: {bad} of {total} times in column {column!r} cannot be read "
            f"(e.g. {example!r}); use ISO 8601 (2026-11-16T08:00:00Z), UK day-first "
            "(16/11/2026 08:00:00) or epoch seconds, or name another column with --time-col"
        )
    naive = con.execute("SELECT count(*) FROM _staged WHERE naive AND ts IS NOT NULL").fetchall()[0][0]
    if naive:
        report.notes.append(f"{naive} timestamps had no UTC offset and were read as {tz} local time (--tz)")


def _check_coordinates(con, path: Path) -> None:
    numeric, out_of_range, metric, ex_lat, ex_lon = con.execute(
        """
        SELECT count(*) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL),
               count(*) FILTER (WHERE abs(lat) > 90 OR abs(lon) > 180),
               count(*) FILTER (WHERE abs(lat) > 1000 AND abs(lon) > 1000),
               min(lat) FILTER (WHERE abs(lat) > 1000), min(lon) FILTER (WHERE abs(lon) > 1000)
        FROM _staged
        """
    ).fetchall()[0]
    if numeric and out_of_range > numeric / 2:
        if metric > numeric / 2:
            raise CoordinateError(
                f"{path}: the latitude/longitude columns hold values like {ex_lat:.0f}, {ex_lon:.0f}: "
                "these look like projected metres (eastings/northings), not degrees; "
                "name their CRS with --crs (e.g. --crs EPSG:27700 for British National Grid)"
            )
        raise CoordinateError(
            f"{path}: most coordinates are out of range for latitude/longitude; check the columns "
            "(--lat-col, --lon-col)"
        )
    ward_box = con.execute("SELECT value FROM meta WHERE key = 'ward_bbox'").fetchall()
    if not ward_box:
        return
    mid = con.execute(
        "SELECT median(lat), median(lon) FROM (SELECT lat, lon FROM _staged WHERE reason IS NULL "
        "USING SAMPLE 20000 ROWS (reservoir, 7))").fetchall()[0]
    if mid[0] is None:
        return
    mid_lat, mid_lon = mid
    south, west, north, east = (float(v) for v in ward_box[0][0].split(","))
    margin = 0.5

    def inside(lat: float, lon: float) -> bool:
        return south - margin <= lat <= north + margin and west - margin <= lon <= east + margin

    if not inside(mid_lat, mid_lon) and inside(mid_lon, mid_lat):
        raise CoordinateError(
            f"{path}: latitude and longitude look swapped (the fixes lie around "
            f"lat {mid_lat:.3f}, lon {mid_lon:.3f}, but swapped they fall on the loaded wards); "
            "name the columns the other way round with --lat-col and --lon-col"
        )


# -- duplicates ---------------------------------------------------------------------------
def _find_duplicates(con, keyed_by: str) -> None:
    """Mark exact duplicates (``dup``) and conflicting ones (a reject), within the source and
    against the store. The first row of a key (by line) stands."""
    con.execute("CREATE TEMP TABLE _dupkeys AS SELECT h FROM _staged WHERE reason IS NULL "
                "GROUP BY h HAVING count(*) > 1")
    if con.execute("SELECT count(*) FROM _dupkeys").fetchall()[0][0]:
        con.execute(
            """
            CREATE TEMP TABLE _dupres AS
            SELECT line, file, rn > 1 AND same AS dup, rn > 1 AND NOT same AS conflict FROM (
                SELECT line, file, row_number() OVER w AS rn,
                       lat = first_value(lat) OVER w AND lon = first_value(lon) OVER w
                       AND accuracy_m IS NOT DISTINCT FROM first_value(accuracy_m) OVER w AS same
                FROM _staged WHERE reason IS NULL AND h IN (SELECT h FROM _dupkeys)
                WINDOW w AS (PARTITION BY key, ts ORDER BY file, line))
            WHERE rn > 1
            """
        )
        con.execute(
            """
            UPDATE _staged s SET dup = d.dup,
                   reason = CASE WHEN d.conflict THEN 'conflicting_duplicate' END
            FROM _dupres d
            WHERE s.line = d.line AND s.file IS NOT DISTINCT FROM d.file
            """
        )
    table, key = ("pings", "officer_id") if keyed_by == "officer" else ("device_pings", "device_id")
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM _staged WHERE reason IS NULL").fetchall()[0]
    if lo is None:
        return
    overlap = con.execute(f"SELECT count(*) FROM {table} WHERE ts BETWEEN ? AND ?", [lo, hi]).fetchall()[0][0]
    if not overlap:
        return
    con.execute(
        f"""
        UPDATE _staged s SET
            dup = (p.lat = s.lat AND p.lon = s.lon AND p.accuracy_m IS NOT DISTINCT FROM s.accuracy_m),
            reason = CASE WHEN p.lat = s.lat AND p.lon = s.lon
                          AND p.accuracy_m IS NOT DISTINCT FROM s.accuracy_m
                          THEN NULL ELSE 'conflicting_duplicate' END
        FROM (SELECT * FROM {table} WHERE ts BETWEEN ? AND ?) p
        WHERE s.reason IS NULL AND NOT s.dup AND p.{key} = s.key AND p.ts = s.ts
        """,
        [lo, hi],
    )


# -- reconcile: write fixes, rejects and the source row ------------------------------------
def _reconcile(con, report: IngestReport, structural: int) -> None:
    source_id = con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchall()[0][0]
    report.source_id = source_id
    staged, good, duplicate = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NULL AND NOT dup), "
        "count(*) FILTER (WHERE dup) FROM _staged"
    ).fetchall()[0]
    if staged + structural == 0:
        raise InputFileError(f"{report.path}: has a header but no rows")
    if report.keyed_by == "officer":
        con.execute("INSERT INTO pings SELECT key, ts, lat, lon, accuracy_m, ? FROM _staged "
                    "WHERE reason IS NULL AND NOT dup ORDER BY key, ts", [source_id])
        unassigned = 0
    else:
        con.execute("INSERT INTO device_pings SELECT key, ts, lat, lon, accuracy_m, ? FROM _staged "
                    "WHERE reason IS NULL AND NOT dup ORDER BY key, ts", [source_id])
        unassigned = con.execute(
            """SELECT count(*) FROM _staged s WHERE reason IS NULL AND NOT dup AND NOT EXISTS (
                   SELECT 1 FROM device_assignments a WHERE a.device_id = s.key
                   AND s.ts >= a.from_ts AND s.ts < a.to_ts)"""
        ).fetchall()[0][0]
        if unassigned:
            report.notes.append(f"{unassigned} fixes from devices with no officer assigned at the "
                                "time: kept, and analysed once an assignment covers them")
    raw_json = (
        "to_json({file: file, key: key, time: coalesce(time_text, CAST(ts AS VARCHAR)), "
        "lat: coalesce(lat_text, CAST(lat AS VARCHAR)), lon: coalesce(lon_text, CAST(lon AS VARCHAR)), "
        "accuracy: coalesce(acc_text, CAST(accuracy_m AS VARCHAR))})::VARCHAR"
    )
    con.execute(
        f"INSERT INTO rejects SELECT ?, line, reason, {raw_json} FROM _staged "
        "WHERE reason IS NOT NULL ORDER BY file, line",
        [source_id],
    )
    if structural:
        con.execute(
            "INSERT INTO rejects SELECT ?, line, 'malformed_row', any_value(csv_line) "
            "FROM _rej_errors GROUP BY line ORDER BY line",
            [source_id],
        )
    accepted = good - unassigned
    rejected = staged - good - duplicate + structural
    report.rows_read = staged + structural
    report.accepted, report.rejected = accepted, rejected
    report.duplicate, report.unassigned = duplicate, unassigned
    report.reasons = dict(con.execute(
        "SELECT reason, count(*) FROM rejects WHERE source_id = ? GROUP BY reason ORDER BY reason",
        [source_id],
    ).fetchall())
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [source_id, report.sha256, report.path, report.format, report.rows_read, accepted,
         rejected, duplicate, unassigned, "; ".join(report.notes) or None],
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

