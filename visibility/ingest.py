"""Ingest GPS fixes into the store, losing nothing.

Each file is read by DuckDB (CSV as text, Parquet as typed columns), its
columns mapped to the canonical fields, every row validated, and the result
written in one transaction: accepted fixes to ``pings``, bad rows to
``rejects`` with their line and reason, and one row in ``sources`` that
reconciles them: ``rows_read = accepted + rejected + duplicate``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import columns as C
from .errors import CoordinateError, InputFileError
from .store import Store

#: Reasons a row is rejected; ``rejects.reason`` holds one of these.
REASONS = (
    "malformed_row",          # the CSV reader could not split the line into the header's columns
    "missing_officer",
    "bad_time",
    "bad_coordinate",         # latitude or longitude is not a number
    "out_of_range",           # |lat| > 90 or |lon| > 180
    "null_island",            # exactly (0, 0): a receiver with no fix
    "bad_accuracy",           # accuracy given but not a non-negative number
    "conflicting_duplicate",  # same officer and time as another fix, different position
)

_ISO_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
_UK_DAY_FIRST = r"^\d{1,2}/\d{1,2}/\d{4}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_EPOCH_S = r"^\d{9,10}(\.\d+)?$"
_EPOCH_MS = r"^\d{12,13}$"


@dataclass
class IngestReport:
    """What happened to one file."""

    path: str
    sha256: str
    format: str
    source_id: int | None = None
    already: bool = False
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": self.path, "sha256": self.sha256, "format": self.format,
            "source_id": self.source_id, "already_ingested": self.already,
            "rows_read": self.rows_read, "accepted": self.accepted, "rejected": self.rejected,
            "duplicate": self.duplicate, "reasons": dict(self.reasons),
            "columns": dict(self.columns), "notes": list(self.notes),
        }


@dataclass
class IngestOptions:
    """How to read a file: column names (detected when ``None``) and the local zone."""

    officer_col: str | None = None
    time_col: str | None = None
    lat_col: str | None = None
    lon_col: str | None = None
    accuracy_col: str | None = None
    tz: str = "Europe/London"
    delimiter: str | None = None

    def overrides(self) -> dict[str, str | None]:
        return {C.OFFICER: self.officer_col, C.TIME: self.time_col, C.LAT: self.lat_col,
                C.LON: self.lon_col, C.ACCURACY: self.accuracy_col}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".tsv", ".txt") or (suffixes[-2:-1] in ([".csv"], [".tsv"])):
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return "parquet"
    raise InputFileError(f"{path}: unknown file type {path.suffix or '(no suffix)'}; expected .csv or .parquet")


def ingest_file(store: Store, path: str | Path, options: IngestOptions | None = None) -> IngestReport:
    """Ingest one file in one transaction and return its reconciliation."""
    options = options or IngestOptions()
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file")
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    fmt = detect_format(path)
    report = IngestReport(path=str(path), sha256=sha, format=fmt)
    con = store.con
    known = con.execute(
        "SELECT source_id, strftime(ingested_at, '%Y-%m-%d %H:%M UTC') FROM sources WHERE sha256 = ?",
        [sha],
    ).fetchall()
    if known:
        known = known[0]
        report.source_id, report.already = known[0], True
        report.notes.append(f"same content already ingested as source {known[0]} on {known[1]}; nothing changed")
        return report
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")

    try:
        with store.transaction():
            structural = _stage(con, path, fmt, options, report)
            _validate(con, options, report)
            _check_times(con, path, report.columns[C.TIME])
            _check_coordinates(con, path)
            _reconcile(con, report, structural)
    finally:
        for name in ("_raw", "_staged", "_rej_errors", "_rej_scans"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return report


# -- stage: read the file into _raw and the mapped fields into _staged --------
def _stage(con, path: Path, fmt: str, options: IngestOptions, report: IngestReport) -> int:
    """Read the file; return the number of structurally broken CSV lines."""
    where = str(path)
    try:
        if fmt == "csv":
            args = "all_varchar = true, header = true, store_rejects = true, " \
                   "rejects_table = '_rej_errors', rejects_scan = '_rej_scans'"
            params = [str(path)]
            if options.delimiter:
                args += ", delim = ?"
                params.append(options.delimiter)
            con.execute(f"CREATE TEMP TABLE _raw AS SELECT * FROM read_csv(?, {args})", params)
        else:
            con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM read_parquet(?)", [str(path)])
    except duckdb.Error as exc:
        raise InputFileError(f"{where}: cannot read as {fmt.upper()}: {_first_line(exc)}") from None

    described = con.execute("DESCRIBE _raw").fetchall()
    names = [row[0] for row in described]
    types = {row[0]: row[1] for row in described}
    chosen = C.detect_columns(names, options.overrides(), where)
    report.columns = chosen

    def q(col: str) -> str:
        return '"' + col.replace('"', '""') + '"'

    def text(col: str) -> str:
        return f"nullif(trim(CAST({q(col)} AS VARCHAR)), '')"

    time_col = chosen[C.TIME]
    time_type = types[time_col].upper()
    if time_type == "TIMESTAMP WITH TIME ZONE":
        ts_expr = q(time_col)
    elif time_type.startswith("TIMESTAMP"):
        ts_expr = f"timezone($tz, CAST({q(time_col)} AS TIMESTAMP))"
    elif time_type == "DATE":
        ts_expr = f"timezone($tz, CAST({q(time_col)} AS TIMESTAMP))"
    else:
        t = text(time_col)
        ts_expr = f"""CASE
            WHEN regexp_matches({t}, '{_ISO_OFFSET}') THEN TRY_CAST({t} AS TIMESTAMPTZ)
            WHEN regexp_matches({t}, '{_ISO_NAIVE}') THEN timezone($tz, TRY_CAST({t} AS TIMESTAMP))
            WHEN regexp_matches({t}, '{_UK_DAY_FIRST}') THEN timezone($tz,
                 try_strptime(replace({t}, 'T', ' '), ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M:%S.%f', '%d/%m/%Y %H:%M']))
            WHEN regexp_matches({t}, '{_EPOCH_S}') THEN to_timestamp(TRY_CAST({t} AS DOUBLE))
            WHEN regexp_matches({t}, '{_EPOCH_MS}') THEN epoch_ms(TRY_CAST({t} AS BIGINT))
        END"""
    naive_expr = (
        f"regexp_matches({text(time_col)}, '{_ISO_NAIVE}|{_UK_DAY_FIRST}')"
        if not time_type.startswith("TIMESTAMP") and time_type != "DATE"
        else ("false" if time_type == "TIMESTAMP WITH TIME ZONE" else "true")
    )
    acc = chosen.get(C.ACCURACY)
    acc_text = text(acc) if acc else "NULL"
    # Temporary tables number their rows from a large offset; count from the first.
    first_row = "(rowid - (SELECT min(rowid) FROM _raw))"
    line_expr = f"{first_row} + 1" if fmt == "parquet" else f"{first_row} + 2"
    sql = f"""
        CREATE TEMP TABLE _staged AS
        SELECT {line_expr} AS line,
               {text(chosen[C.OFFICER])} AS officer_id,
               {text(time_col)} AS time_text,
               {ts_expr} AS ts,
               {naive_expr} AS naive,
               {text(chosen[C.LAT])} AS lat_text,
               {text(chosen[C.LON])} AS lon_text,
               TRY_CAST({text(chosen[C.LAT])} AS DOUBLE) AS lat,
               TRY_CAST({text(chosen[C.LON])} AS DOUBLE) AS lon,
               {acc_text} AS acc_text,
               TRY_CAST({acc_text} AS DOUBLE) AS accuracy_m
        FROM _raw
        """
    con.execute(sql, {"tz": options.tz} if "$tz" in sql else {})
    if fmt != "csv":
        return 0
    structural = con.execute(
        "SELECT count(*) FROM _rej_errors"
    ).fetchall()[0][0]
    if structural:
        _renumber_lines(con)
    return structural


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


# -- validate: give every staged row a reason, or none --------------------------
def _validate(con, options: IngestOptions, report: IngestReport) -> None:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _staged AS
        SELECT *, CASE
            WHEN officer_id IS NULL THEN 'missing_officer'
            WHEN ts IS NULL THEN 'bad_time'
            WHEN lat IS NULL OR lon IS NULL OR isnan(lat) OR isnan(lon)
                 OR isinf(lat) OR isinf(lon) THEN 'bad_coordinate'
            WHEN abs(lat) > 90 OR abs(lon) > 180 THEN 'out_of_range'
            WHEN lat = 0 AND lon = 0 THEN 'null_island'
            WHEN acc_text IS NOT NULL AND (accuracy_m IS NULL OR accuracy_m < 0
                 OR isnan(accuracy_m)) THEN 'bad_accuracy'
        END AS reason
        FROM _staged
        """
    )
    # Several rows for one officer and instant: the first (by line) stands; an
    # identical later copy is a duplicate, a different one a conflicting duplicate.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _staged AS
        SELECT * EXCLUDE (first_lat, first_lon, first_acc, rn),
          CASE WHEN reason IS NOT NULL THEN reason
               WHEN rn > 1 AND (lat IS DISTINCT FROM first_lat OR lon IS DISTINCT FROM first_lon
                    OR accuracy_m IS DISTINCT FROM first_acc) THEN 'conflicting_duplicate'
          END AS reason2,
          reason IS NULL AND rn > 1 AND lat IS NOT DISTINCT FROM first_lat
              AND lon IS NOT DISTINCT FROM first_lon
              AND accuracy_m IS NOT DISTINCT FROM first_acc AS dup
        FROM (
          SELECT *,
            row_number() OVER w AS rn,
            first_value(lat) OVER w AS first_lat,
            first_value(lon) OVER w AS first_lon,
            first_value(accuracy_m) OVER w AS first_acc
          FROM _staged
          WINDOW w AS (PARTITION BY CASE WHEN reason IS NULL THEN officer_id END,
                                    CASE WHEN reason IS NULL THEN ts END
                       ORDER BY line)
        )
        """
    )
    con.execute("ALTER TABLE _staged DROP COLUMN reason")
    con.execute("ALTER TABLE _staged RENAME COLUMN reason2 TO reason")
    # Against what the store already holds.
    con.execute(
        """
        UPDATE _staged s SET
            dup = (p.lat = s.lat AND p.lon = s.lon
                   AND p.accuracy_m IS NOT DISTINCT FROM s.accuracy_m),
            reason = CASE WHEN p.lat = s.lat AND p.lon = s.lon
                          AND p.accuracy_m IS NOT DISTINCT FROM s.accuracy_m
                          THEN NULL ELSE 'conflicting_duplicate' END
        FROM pings p
        WHERE s.reason IS NULL AND NOT s.dup
          AND p.officer_id = s.officer_id AND p.ts = s.ts
        """
    )
    naive = con.execute(
        "SELECT count(*) FROM _staged WHERE naive AND ts IS NOT NULL"
    ).fetchall()[0][0]
    if naive:
        report.notes.append(
            f"{naive} timestamps had no UTC offset and were read as {options.tz} local time (--tz)"
        )


# -- whole-file coordinate checks ---------------------------------------------------
def _check_times(con, path: Path, column: str) -> None:
    """A file whose times mostly cannot be read is refused whole, with an example."""
    total, bad, example = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason = 'bad_time'), "
        "any_value(time_text) FILTER (WHERE reason = 'bad_time') FROM _staged"
    ).fetchall()[0]
    if total and bad > total / 2:
        raise InputFileError(
            f"{path}: {bad} of {total} times in column {column!r} cannot be read "
            f"(e.g. {example!r}); use ISO 8601 (2026-11-16T08:00:00Z), UK day-first "
            "(16/11/2026 08:00:00) or epoch seconds, or name another column with --time-col"
        )


def _check_coordinates(con, path: Path) -> None:
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL),
               count(*) FILTER (WHERE abs(lat) > 90 OR abs(lon) > 180),
               count(*) FILTER (WHERE abs(lat) > 1000 AND abs(lon) > 1000),
               median(lat) FILTER (WHERE reason IS NULL),
               median(lon) FILTER (WHERE reason IS NULL),
               min(lat) FILTER (WHERE abs(lat) > 1000), min(lon) FILTER (WHERE abs(lon) > 1000)
        FROM _staged
        """
    ).fetchall()[0]
    numeric, out_of_range, metric, mid_lat, mid_lon, ex_lat, ex_lon = row
    if numeric and out_of_range > numeric / 2:
        if metric > numeric / 2:
            raise CoordinateError(
                f"{path}: the latitude/longitude columns hold values like {ex_lat:.0f}, {ex_lon:.0f}: "
                "these look like projected metres (eastings/northings, e.g. British National Grid), "
                "not degrees; convert them to WGS84 latitude/longitude first"
            )
        raise CoordinateError(
            f"{path}: most coordinates are out of range for latitude/longitude; check the columns "
            "(--lat-col, --lon-col)"
        )
    if mid_lat is None:
        return
    ward_box = con.execute("SELECT value FROM meta WHERE key = 'ward_bbox'").fetchall()
    if not ward_box:
        return
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


# -- reconcile: write pings, rejects and the source row ------------------------------
def _reconcile(con, report: IngestReport, structural: int) -> None:
    source_id = con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchall()[0][0]
    report.source_id = source_id
    staged, accepted, duplicate = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NULL AND NOT dup), "
        "count(*) FILTER (WHERE dup) FROM _staged"
    ).fetchall()[0]
    if staged + structural == 0:
        raise InputFileError(f"{report.path}: has a header but no rows")
    con.execute(
        "INSERT INTO pings SELECT officer_id, ts, lat, lon, accuracy_m, ? FROM _staged "
        "WHERE reason IS NULL AND NOT dup ORDER BY officer_id, ts",
        [source_id],
    )
    raw_json = (
        "to_json({officer_id: officer_id, time: time_text, lat: lat_text, lon: lon_text, "
        "accuracy: acc_text})::VARCHAR"
    )
    con.execute(
        f"INSERT INTO rejects SELECT ?, line, reason, {raw_json} FROM _staged "
        "WHERE reason IS NOT NULL ORDER BY line",
        [source_id],
    )
    if structural:
        con.execute(
            "INSERT INTO rejects SELECT ?, line, 'malformed_row', any_value(csv_line) "
            "FROM _rej_errors GROUP BY line ORDER BY line",
            [source_id],
        )
        structural = con.execute(
            "SELECT count(DISTINCT line) FROM _rej_errors"
        ).fetchall()[0][0]
    rejected = staged - accepted - duplicate + structural
    reasons = dict(con.execute(
        "SELECT reason, count(*) FROM rejects WHERE source_id = ? GROUP BY reason ORDER BY reason",
        [source_id],
    ).fetchall())
    report.rows_read = staged + structural
    report.accepted, report.rejected, report.duplicate = accepted, rejected, duplicate
    report.reasons = reasons
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [source_id, report.sha256, report.path, report.format, report.rows_read, accepted,
         rejected, duplicate, "; ".join(report.notes) or None],
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
