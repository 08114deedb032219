"""Export and import of the store's fixes and results as hive-partitioned Parquet.

The hand-over format to the distributed engine and to other tools. Folders are
partitioned by local date and borough, written by DuckDB's
``COPY ... (FORMAT parquet, PARTITION_BY (date, borough))``::

    DIR/fixes/date=2026-11-16/borough=E09000007/data_0.parquet
    DIR/shift_results/date=.../borough=.../...   (and track_runs/, presence/)
    DIR/analyses.parquet                          (the runs the results came from)

Fixes are partitioned by the fix's local date; results by the local date of
their shift's start (the key ``analyse --from/--to`` selects on), so a shift's
results never straddle two partitions. The borough is that of the officer's
first home ward (by ward code), ``none`` when the officer has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from .analyse import local_range
from .errors import PartitionError, StoreError
from .store import Store

#: What can be exported: fixes, and the three results tables.
RESULT_TABLES = ("shift_results", "track_runs", "presence")
WHAT = ("fixes", "results")

#: officer_id -> borough label of the officer's first home ward (by ward code). A label is safe
#: as a folder name: characters other than letters, digits, ``_.-`` become ``_``.
OFFICER_BOROUGH_SQL = """
    SELECT ow.officer_id,
           regexp_replace(arg_min(w.borough_code, ow.ward_code), '[^A-Za-z0-9_.-]', '_', 'g') AS borough
    FROM officer_wards ow JOIN wards w USING (ward_code)
    GROUP BY ow.officer_id"""


def local_date_sql(ts: str, tz: str = "$tz") -> str:
    """SQL of the local date of the instant ``ts`` (zone: the parameter ``tz``)."""
    return f"CAST(timezone({tz}, {ts}) AS DATE)"


def sql_path(path: Path | str) -> str:
    """A path as a SQL string literal (COPY takes no parameter for its target)."""
    return "'" + str(path).replace("'", "''") + "'"


@dataclass
class ExportReport:
    folder: str
    rows: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"folder": self.folder, "rows": dict(self.rows), "partitions": dict(self.partitions),
                "notes": list(self.notes)}


@dataclass
class ImportReport:
    folder: str
    fixes: dict | None = None
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"folder": self.folder, "fixes": self.fixes, "rows": dict(self.rows),
                "notes": list(self.notes)}


def export_store(store: Store, folder: str | Path, what: tuple[str, ...] = WHAT,
                 date_from: date | None = None, date_to: date | None = None,
                 tz: str = "Europe/London") -> ExportReport:
    """Write fixes and/or results of local days ``date_from``..``date_to`` under ``folder``."""
    unknown = [w for w in what if w not in WHAT]
    if unknown or not what:
        raise StoreError(f"cannot export {', '.join(unknown) or 'nothing'}; choose from {', '.join(WHAT)}")
    folder = Path(folder)
    targets = (["fixes"] if "fixes" in what else []) + (list(RESULT_TABLES) if "results" in what else [])
    for name in targets:
        target = folder / name
        if target.exists() and any(target.iterdir()):
            raise StoreError(f"{target} already holds an export; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    lo, hi = local_range(date_from, date_to, tz)
    report = ExportReport(str(folder))
    con = store.con
    if "fixes" in what:
        where, params = _between("p.ts", lo, hi)
        report.rows["fixes"] = _copy(con, f"""
            SELECT p.officer_id, p.ts, p.lat, p.lon, p.accuracy_m, p.source_id,
                   {local_date_sql('p.ts')} AS date, coalesce(h.borough, 'none') AS borough
            FROM pings p LEFT JOIN ({OFFICER_BOROUGH_SQL}) h USING (officer_id)
            WHERE {where} ORDER BY p.officer_id, p.ts""", {"tz": tz, **params}, folder / "fixes")
        devices = con.execute("SELECT count(*) FROM device_pings").fetchall()[0][0]
        if devices:
            report.notes.append(f"{devices} device-keyed fixes are not exported (only officer-keyed "
                                "fixes are); their results are")
    if "results" in what:
        where, params = _between("s.start_ts", lo, hi)
        keys = f"""{local_date_sql('s.start_ts')} AS date, coalesce(h.borough, 'none') AS borough
                   FROM shifts s LEFT JOIN ({OFFICER_BOROUGH_SQL}) h USING (officer_id)"""
        for table in RESULT_TABLES:
            report.rows[table] = _copy(con, f"""
                SELECT r.*, {keys} JOIN {table} r USING (shift_id)
                WHERE {where} ORDER BY r.shift_id""", {"tz": tz, **params}, folder / table)
        runs = con.execute(
            f"""SELECT count(*) FROM analyses WHERE run_id IN (
                    SELECT r.run_id FROM shifts s JOIN shift_results r USING (shift_id) WHERE {where})""",
            params).fetchall()[0][0]
        if runs:
            con.execute(
                f"""COPY (SELECT * FROM analyses WHERE run_id IN (
                        SELECT r.run_id FROM shifts s JOIN shift_results r USING (shift_id)
                        WHERE {where}) ORDER BY run_id)
                    TO {sql_path(folder / 'analyses.parquet')} (FORMAT parquet)""", params)
    for name in targets:
        target = folder / name
        report.partitions[name] = sum(1 for _ in target.glob("date=*/borough=*")) if target.exists() else 0
    return report


def _between(col: str, lo, hi) -> tuple[str, dict]:
    clauses, params = ["true"], {}
    if lo is not None:
        clauses.append(f"{col} >= $lo")
        params["lo"] = lo
    if hi is not None:
        clauses.append(f"{col} < $hi")
        params["hi"] = hi
    return " AND ".join(clauses), params


def _copy(con, select: str, params: dict, target: Path) -> int:
    """COPY a query to ``target`` partitioned by (date, borough); the rows written."""
    return con.execute(f"COPY ({select}) TO {sql_path(target)} "
                       "(FORMAT parquet, PARTITION_BY (date, borough), OVERWRITE_OR_IGNORE)",
                       params).fetchall()[0][0]


def import_store(store: Store, folder: str | Path, what: tuple[str, ...] = WHAT) -> ImportReport:
    """Load an export: fixes through the ordinary ingest (deduplicated, reconciled), then results.

    Results replace those of the same shifts. Each shift must exist in this store
    with the same officer, start and end (load the same roster first). Imported
    results count as computed from the fixes in the store at import time, so a
    later ``analyse`` redoes a shift only if fixes arrive for it afterwards (or
    the policy changes); ``analyse --force`` recomputes them here.
    """
    from .ingest import ingest_file

    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"{folder}: no such folder")
    report = ImportReport(str(folder))
    found = [w for w in ("fixes", *RESULT_TABLES) if (folder / w).is_dir()]
    if not found:
        raise StoreError(f"{folder}: holds no fixes/ or shift_results/ folder from visibility export")
    if "results" in what and "shift_results" in found and "track_runs" not in found \
            and (folder / "fix_results").is_dir():
        raise StoreError(f"{folder}: its results were exported by an older visibility (one row "
                         "per fix, fix_results/); import the fixes alone (--what fixes) and run "
                         "visibility analyse")
    if "fixes" in what and "fixes" in found:
        report.fixes = ingest_file(store, folder / "fixes").to_dict()
    if "results" in what and "shift_results" in found:
        report.rows = _import_results(store, folder)
    return report


def _read(folder: Path, table: str) -> str:
    return (f"read_parquet({sql_path(folder / table / '**' / '*.parquet')}, hive_partitioning = true, "
            "union_by_name = true)")


def _import_results(store: Store, folder: Path) -> dict[str, int]:
    from .analyse import _seen

    con = store.con
    columns = {t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()] for t in RESULT_TABLES}
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _imp_shifts AS "
                    f"SELECT * FROM {_read(folder, 'shift_results')}")
        bad = con.execute(
            """SELECT count(*), any_value(i.shift_id) FROM _imp_shifts i LEFT JOIN shifts s USING (shift_id)
               WHERE s.shift_id IS NULL OR s.officer_id <> i.officer_id OR s.start_ts <> i.shift_start
                  OR s.end_ts <> i.shift_end""").fetchall()[0]
        if bad[0]:
            raise StoreError(f"{bad[0]} imported shift results name shifts this store does not have "
                             f"(e.g. shift {bad[1]}); load the same roster first")
        runs = folder / "analyses.parquet"
        seen = _seen(con)
        rows = {}
        with store.transaction():
            first = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM analyses").fetchall()[0][0]
            con.execute("CREATE OR REPLACE TEMP TABLE _imp_runs AS SELECT run_id AS old, "
                        "? + row_number() OVER (ORDER BY run_id) - 1 AS new FROM "
                        "(SELECT DISTINCT run_id FROM _imp_shifts)", [first])
            if runs.exists():
                con.execute(f"""INSERT INTO analyses SELECT r.new, a.* EXCLUDE (run_id)
                                FROM read_parquet({sql_path(runs)}) a JOIN _imp_runs r ON r.old = a.run_id""")
            for table in RESULT_TABLES:
                con.execute(f"DELETE FROM {table} WHERE shift_id IN (SELECT shift_id FROM _imp_shifts)")
            con.execute(
                f"""INSERT INTO shift_results SELECT {', '.join(
                    'r.new' if c == 'run_id' else '?' if c == 'sources_seen' else
                    '?' if c == 'assignments_seen' else 'i.' + c for c in columns['shift_results'])}
                    FROM _imp_shifts i JOIN _imp_runs r ON r.old = i.run_id""", list(seen))
            rows["shift_results"] = con.execute("SELECT count(*) FROM _imp_shifts").fetchall()[0][0]
            for table in ("track_runs", "presence"):
                if not (folder / table).is_dir():
                    rows[table] = 0
                    continue
                before = store.count(table)
                con.execute(f"""INSERT INTO {table} SELECT {', '.join(columns[table])}
                                FROM {_read(folder, table)}
                                WHERE shift_id IN (SELECT shift_id FROM _imp_shifts)""")
                rows[table] = store.count(table) - before
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PartitionError(f"{folder}: cannot import results: {first_line}") from None
    finally:
        con.execute("DROP TABLE IF EXISTS _imp_shifts")
        con.execute("DROP TABLE IF EXISTS _imp_runs")
    return rows
