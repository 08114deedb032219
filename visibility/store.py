"""The store: one DuckDB file holding inputs, settings and results.

:class:`Store` owns the connection and the schema. The schema carries a version
number in ``meta``; opening a store of another version is refused with a clear
message rather than misread. All SQL that touches user values is parameterised.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import StoreBusyError, StoreError

#: Bumped whenever the schema changes; :meth:`Store.open` checks it.
SCHEMA_VERSION = 2

#: Environment variable naming the default store file.
DB_ENV = "VISIBILITY_DB"
#: Store file used when neither ``--db`` nor the environment names one.
DEFAULT_DB = "visibility.duckdb"

#: Codes of the five states of a fix, as stored in ``track_runs.state``.
STATES = ("no_signal", "in_station", "transit", "on_patch", "off_patch")

SCHEMA = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

CREATE TABLE sources (
    source_id      INTEGER PRIMARY KEY,
    sha256         VARCHAR NOT NULL UNIQUE,
    path           VARCHAR NOT NULL,
    format         VARCHAR NOT NULL,
    rows_read      BIGINT NOT NULL,
    rows_accepted  BIGINT NOT NULL,
    rows_rejected  BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL,
    rows_unassigned BIGINT NOT NULL,
    notes          VARCHAR,
    ingested_at    TIMESTAMPTZ NOT NULL
);

-- Unique on (officer_id, ts): ingest enforces it (an index would slow bulk loads).
CREATE TABLE pings (
    officer_id VARCHAR NOT NULL,
    ts         TIMESTAMPTZ NOT NULL,
    lat        DOUBLE NOT NULL,
    lon        DOUBLE NOT NULL,
    accuracy_m DOUBLE,
    source_id  INTEGER NOT NULL
);

-- Fixes keyed by device (radio, phone, vehicle box), unique on (device_id, ts);
-- device_assignments map them to officers by time when the analysis runs.
CREATE TABLE device_pings (
    device_id  VARCHAR NOT NULL,
    ts         TIMESTAMPTZ NOT NULL,
    lat        DOUBLE NOT NULL,
    lon        DOUBLE NOT NULL,
    accuracy_m DOUBLE,
    source_id  INTEGER NOT NULL
);

CREATE TABLE device_assignments (
    device_id  VARCHAR NOT NULL,
    officer_id VARCHAR NOT NULL,
    from_ts    TIMESTAMPTZ NOT NULL,
    to_ts      TIMESTAMPTZ NOT NULL
);

CREATE TABLE rejects (
    source_id INTEGER NOT NULL,
    line      BIGINT NOT NULL,
    reason    VARCHAR NOT NULL,
    raw       VARCHAR NOT NULL
);

CREATE TABLE wards (
    ward_code    VARCHAR PRIMARY KEY,
    ward_name    VARCHAR NOT NULL,
    borough_code VARCHAR NOT NULL,
    borough_name VARCHAR NOT NULL,
    geometry     BLOB NOT NULL,
    area_m2      DOUBLE NOT NULL,
    repaired     BOOLEAN NOT NULL
);

CREATE TABLE ward_cells (
    cell      UBIGINT NOT NULL,
    ward_code VARCHAR NOT NULL,
    interior  BOOLEAN NOT NULL
);

CREATE TABLE stations (
    station_id VARCHAR PRIMARY KEY,
    name       VARCHAR NOT NULL,
    geometry   BLOB NOT NULL,
    radius_m   DOUBLE
);

CREATE TABLE officers (
    officer_id VARCHAR PRIMARY KEY,
    team       VARCHAR NOT NULL,
    role       VARCHAR
);

CREATE TABLE officer_wards (
    officer_id VARCHAR NOT NULL,
    ward_code  VARCHAR NOT NULL
);

CREATE TABLE shifts (
    shift_id   BIGINT PRIMARY KEY,
    officer_id VARCHAR NOT NULL,
    start_ts   TIMESTAMPTZ NOT NULL,
    end_ts     TIMESTAMPTZ NOT NULL,
    kind       VARCHAR NOT NULL,
    reason     VARCHAR
);

CREATE TABLE analyses (
    run_id        INTEGER PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    from_ts       TIMESTAMPTZ,
    to_ts         TIMESTAMPTZ,
    policy        VARCHAR NOT NULL,
    policy_digest VARCHAR NOT NULL,
    version       VARCHAR NOT NULL,
    n_shifts      BIGINT NOT NULL,
    n_fixes       BIGINT NOT NULL
);

CREATE TABLE shift_results (
    shift_id      BIGINT PRIMARY KEY,
    officer_id    VARCHAR NOT NULL,
    shift_start   TIMESTAMPTZ NOT NULL,
    shift_end     TIMESTAMPTZ NOT NULL,
    kind          VARCHAR NOT NULL,
    duration_us   BIGINT NOT NULL,
    on_patch_us   BIGINT NOT NULL,
    off_patch_us  BIGINT NOT NULL,
    in_station_us BIGINT NOT NULL,
    transit_us    BIGINT NOT NULL,
    no_signal_us  BIGINT NOT NULL,
    n_fixes       BIGINT NOT NULL,
    n_unreliable  BIGINT NOT NULL,
    run_id        INTEGER NOT NULL,
    -- what the result was computed from, so a later run redoes only stale shifts
    policy_digest    VARCHAR NOT NULL,
    sources_seen     INTEGER NOT NULL,
    assignments_seen BIGINT NOT NULL
);

-- One row per fix inside a shift: its state and the time it owns.
-- A shift's track as runs: consecutive fixes with the same state, quality, ward and
-- cell whose owned intervals touch. Inside a run the boundary between two fixes is
-- the midpoint of their times, so each fix's owned interval can be recovered.
CREATE TABLE track_runs (
    shift_id   BIGINT NOT NULL,
    first_ts   TIMESTAMPTZ NOT NULL,
    last_ts    TIMESTAMPTZ NOT NULL,
    n_fixes    INTEGER NOT NULL,
    state      UTINYINT NOT NULL,
    quality    UTINYINT NOT NULL,
    ward_code  VARCHAR,
    cell       UBIGINT NOT NULL,
    own_from   TIMESTAMPTZ NOT NULL,
    own_to     TIMESTAMPTZ NOT NULL
);

-- On-patch officer time per ward, H3 cell and UTC hour (local hour-of-week in queries).
CREATE TABLE presence (
    shift_id    BIGINT NOT NULL,
    ward_code   VARCHAR NOT NULL,
    cell        UBIGINT NOT NULL,
    hour_utc    TIMESTAMPTZ NOT NULL,
    on_patch_us BIGINT NOT NULL
);

CREATE VIEW states AS
SELECT * FROM (VALUES (0, 'no_signal'), (1, 'in_station'), (2, 'transit'),
                      (3, 'on_patch'), (4, 'off_patch')) AS t(state, name);

-- Demand, hotspots, team history and the coverage measures (docs/peaks.md).
CREATE TABLE demand_sources (
    source_id     INTEGER PRIMARY KEY,
    sha256        VARCHAR NOT NULL UNIQUE,
    path          VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    rows_read     BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    rows_timed    BIGINT NOT NULL,
    notes         VARCHAR,
    loaded_at     TIMESTAMPTZ NOT NULL
);

-- One row per incident. ts is the instant when precision = 'time'; the start of its local
-- day or month for 'day' and 'month'; NULL for 'none' (the file gives no time).
CREATE TABLE demand (
    source_id INTEGER NOT NULL,
    line      BIGINT NOT NULL,
    ref       VARCHAR,
    ts        TIMESTAMPTZ,
    precision VARCHAR NOT NULL,
    lat       DOUBLE NOT NULL,
    lon       DOUBLE NOT NULL,
    category  VARCHAR,
    priority  VARCHAR,
    ward_code VARCHAR
);

CREATE TABLE demand_rejects (
    source_id INTEGER NOT NULL,
    line      BIGINT NOT NULL,
    reason    VARCHAR NOT NULL,
    raw       VARCHAR NOT NULL
);

-- An H3 cell (at the analysis resolution or coarser), a circle (centre point + radius_m)
-- or a polygon; geometry is WKB longitude/latitude. source: given | demand.
CREATE TABLE hotspots (
    hotspot_id INTEGER PRIMARY KEY,
    label      VARCHAR NOT NULL,
    ward_code  VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    cell       UBIGINT,
    geometry   BLOB,
    radius_m   DOUBLE,
    demand     BIGINT,
    source     VARCHAR NOT NULL
);

-- Team membership over time, for turnover; to_date is the last day in the team (NULL: still).
CREATE TABLE memberships (
    officer_id VARCHAR NOT NULL,
    team       VARCHAR NOT NULL,
    ward_code  VARCHAR,
    from_date  DATE NOT NULL,
    to_date    DATE
);

-- One run of the measures over local days from_date..to_date; re-measuring them replaces it.
CREATE TABLE coverage_runs (
    run_id        INTEGER PRIMARY KEY,
    computed_at   TIMESTAMPTZ NOT NULL,
    from_date     DATE NOT NULL,
    to_date       DATE NOT NULL,
    from_ts       TIMESTAMPTZ NOT NULL,
    to_ts         TIMESTAMPTZ NOT NULL,
    policy        VARCHAR NOT NULL,
    policy_digest VARCHAR NOT NULL,
    version       VARCHAR NOT NULL,
    notes         VARCHAR NOT NULL
);

CREATE TABLE coverage_wards (
    run_id              INTEGER NOT NULL,
    ward_code           VARCHAR NOT NULL,
    teams               VARCHAR,
    officers            INTEGER NOT NULL,
    peak_source         VARCHAR NOT NULL,
    windows             INTEGER NOT NULL,
    empty_windows       INTEGER NOT NULL,
    peak_s              DOUBLE NOT NULL,
    covered_s           DOUBLE NOT NULL,
    coverage            DOUBLE,
    longest_uncovered_s DOUBLE NOT NULL
);

CREATE TABLE coverage_teams (
    run_id        INTEGER NOT NULL,
    team          VARCHAR NOT NULL,
    wards         INTEGER NOT NULL,
    windows       INTEGER NOT NULL,
    empty_windows INTEGER NOT NULL,
    peak_s        DOUBLE NOT NULL,
    covered_s     DOUBLE NOT NULL,
    coverage      DOUBLE
);

CREATE TABLE coverage_windows (
    run_id              INTEGER NOT NULL,
    ward_code           VARCHAR NOT NULL,
    window_start        TIMESTAMPTZ NOT NULL,
    window_end          TIMESTAMPTZ NOT NULL,
    label               VARCHAR NOT NULL,
    peak_s              DOUBLE NOT NULL,
    covered_s           DOUBLE NOT NULL,
    coverage            DOUBLE NOT NULL,
    longest_uncovered_s DOUBLE NOT NULL,
    uncovered_from      TIMESTAMPTZ NOT NULL
);

-- Local hour of the week (dow 1 = Monday): time in the range, peak time, covered time.
CREATE TABLE coverage_hours (
    run_id         INTEGER NOT NULL,
    ward_code      VARCHAR NOT NULL,
    dow            UTINYINT NOT NULL,
    hour           UTINYINT NOT NULL,
    hours_s        DOUBLE NOT NULL,
    peak_s         DOUBLE NOT NULL,
    covered_s      DOUBLE NOT NULL,
    covered_peak_s DOUBLE NOT NULL
);

CREATE TABLE hotspot_dosage (
    run_id           INTEGER NOT NULL,
    hotspot_id       INTEGER NOT NULL,
    ward_code        VARCHAR NOT NULL,
    peak_s           DOUBLE NOT NULL,
    dosage_s         DOUBLE NOT NULL,
    officer_s        DOUBLE NOT NULL,
    visits           INTEGER NOT NULL,
    pass_bys         INTEGER NOT NULL,
    short_visits     INTEGER NOT NULL,
    effective_visits INTEGER NOT NULL,
    long_visits      INTEGER NOT NULL,
    windows          INTEGER NOT NULL,
    windows_missed   INTEGER NOT NULL,
    longest_gap_s    DOUBLE NOT NULL
);

CREATE TABLE hotspot_visits (
    run_id      INTEGER NOT NULL,
    hotspot_id  INTEGER NOT NULL,
    officer_id  VARCHAR NOT NULL,
    start_ts    TIMESTAMPTZ NOT NULL,
    end_ts      TIMESTAMPTZ NOT NULL,
    duration_s  DOUBLE NOT NULL,
    present_s   DOUBLE NOT NULL,
    visit_class VARCHAR NOT NULL,
    peak_s      DOUBLE NOT NULL
);

CREATE TABLE hotspot_windows (
    run_id        INTEGER NOT NULL,
    hotspot_id    INTEGER NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    window_end    TIMESTAMPTZ NOT NULL,
    dosage_s      DOUBLE NOT NULL,
    visits        INTEGER NOT NULL,
    longest_gap_s DOUBLE NOT NULL,
    gap_start     TIMESTAMPTZ NOT NULL,
    revisit_met   BOOLEAN NOT NULL
);

CREATE TABLE abstraction (
    run_id           INTEGER NOT NULL,
    team             VARCHAR NOT NULL,
    officers         INTEGER NOT NULL,
    shifts           INTEGER NOT NULL,
    rostered_s       DOUBLE NOT NULL,
    abstracted_s     DOUBLE NOT NULL,
    abstraction_rate DOUBLE
);

CREATE TABLE abstraction_reasons (
    run_id       INTEGER NOT NULL,
    team         VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    shifts       INTEGER NOT NULL,
    abstracted_s DOUBLE NOT NULL
);

-- Where a team's off-patch time went: place is team_ward | borough | other_borough | outside.
CREATE TABLE off_patch_places (
    run_id       INTEGER NOT NULL,
    team         VARCHAR NOT NULL,
    place        VARCHAR NOT NULL,
    ward_code    VARCHAR,
    borough_code VARCHAR,
    off_patch_s  DOUBLE NOT NULL,
    share        DOUBLE NOT NULL
);

-- ward_code NULL: the whole team.
CREATE TABLE turnover (
    run_id             INTEGER NOT NULL,
    team               VARCHAR NOT NULL,
    ward_code          VARCHAR,
    headcount_start    INTEGER NOT NULL,
    headcount_end      INTEGER NOT NULL,
    avg_headcount      DOUBLE NOT NULL,
    joiners            INTEGER NOT NULL,
    leavers            INTEGER NOT NULL,
    turnover           DOUBLE,
    turnover_annual    DOUBLE,
    median_tenure_days DOUBLE
);
"""


#: Seconds to wait for a store held by another process (``visibility --wait``).
WAIT_S = 0.0

#: SQL that takes a store from schema version N to N + 1.
MIGRATIONS: dict[int, str] = {
    # 1 -> 2: one row per fix (fix_results) becomes one row per run (track_runs). The runs
    # are cut by the rule the analysis uses, so the result equals a fresh analysis's.
    1: """
    CREATE TABLE track_runs (
        shift_id BIGINT NOT NULL, first_ts TIMESTAMPTZ NOT NULL, last_ts TIMESTAMPTZ NOT NULL,
        n_fixes INTEGER NOT NULL, state UTINYINT NOT NULL, quality UTINYINT NOT NULL,
        ward_code VARCHAR, cell UBIGINT NOT NULL, own_from TIMESTAMPTZ NOT NULL,
        own_to TIMESTAMPTZ NOT NULL);
    INSERT INTO track_runs
    WITH cut AS (
        SELECT *, CASE WHEN state = lag(state) OVER w AND quality = lag(quality) OVER w
                            AND ward_code IS NOT DISTINCT FROM lag(ward_code) OVER w
                            AND cell = lag(cell) OVER w AND own_from = lag(own_to) OVER w
                       THEN 0 ELSE 1 END AS starts
        FROM fix_results WINDOW w AS (PARTITION BY shift_id ORDER BY ts)),
    numbered AS (
        SELECT *, sum(starts) OVER (PARTITION BY shift_id ORDER BY ts ROWS UNBOUNDED PRECEDING)
                  AS run
        FROM cut)
    SELECT shift_id, min(ts), max(ts), count(*)::INTEGER, any_value(state), any_value(quality),
           any_value(ward_code), any_value(cell), min(own_from), max(own_to)
    FROM numbered GROUP BY shift_id, run ORDER BY shift_id, min(ts);
    DROP TABLE fix_results;
    """,
}


def _migrate(con, path: Path, version: int | None, read_only: bool) -> None:
    """Bring an older store up to :data:`SCHEMA_VERSION`, in one transaction, or refuse."""
    if version is None or version < 1:
        raise StoreError(f"{path} has no store schema version; it was not made by visibility")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was made by a newer visibility (store schema {version}; this "
                         f"one reads up to {SCHEMA_VERSION}); upgrade visibility to use it")
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:
        raise StoreError(f"{path} has store schema {version}, which this visibility cannot "
                         f"migrate; export it with the version that made it")
    if read_only:
        raise StoreError(f"{path} has store schema {version} and needs migrating to "
                         f"{SCHEMA_VERSION}; run any writing command on it first (e.g. visibility init)")
    con.execute("BEGIN TRANSACTION")
    try:
        for v in range(version, SCHEMA_VERSION):
            con.execute(MIGRATIONS[v])
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def default_db_path() -> Path:
    """The store named by ``$VISIBILITY_DB``, else ``visibility.duckdb`` here."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


class Store:
    """An open store file. Use :meth:`open` or :meth:`create`, and close it (or use ``with``)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection):
        self.path = path
        self.con = con

    # -- opening ---------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path) -> "Store":
        """Create a new, empty store; an existing file is an error."""
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} already exists; use it as it is, or choose another --db path")
        if path.parent and not path.parent.exists():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        con = _connect(path)
        try:
            con.execute("BEGIN")
            con.execute(SCHEMA)
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            con.execute("COMMIT")
        except Exception:
            con.close()
            path.unlink(missing_ok=True)
            raise
        _owner_only(path)
        return cls(path, con)

    @classmethod
    def open(cls, path: str | Path, create: bool = False, read_only: bool = False,
             wait_s: float | None = None) -> "Store":
        """Open an existing store (or create it when ``create`` is true).

        If another process holds the store, keep trying for ``wait_s`` seconds
        (default: :data:`WAIT_S`, which ``visibility --wait`` sets) before giving up
        with a clear error. A store of an older schema is migrated; one of a
        newer schema is refused.
        """
        path = Path(path)
        if not path.exists():
            if create:
                return cls.create(path)
            raise StoreError(f"no store at {path}; create one with: visibility init --db {path}")
        deadline = time.monotonic() + (WAIT_S if wait_s is None else wait_s)
        while True:
            try:
                con = _connect(path, read_only=read_only)
                break
            except StoreBusyError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            version = int(row[0][0]) if row else None
        except (duckdb.Error, ValueError):
            con.close()
            raise StoreError(f"{path} is a DuckDB file but not a visibility store") from None
        if version != SCHEMA_VERSION:
            try:
                _migrate(con, path, version, read_only)
            except BaseException:
                con.close()
                raise
        return cls(path, con)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------
    @contextmanager
    def transaction(self):
        """Run a block atomically: all of its writes land, or none do."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def count(self, table: str) -> int:
        if table not in _TABLES:
            raise ValueError(f"unknown table {table}")
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables, for status lines."""
        return {t: self.count(t) for t in _TABLES}


_TABLES = (
    "sources", "pings", "device_pings", "device_assignments", "rejects", "wards", "ward_cells",
    "stations", "officers", "officer_wards", "shifts", "analyses", "shift_results",
    "track_runs", "presence",
)


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise StoreBusyError(
                f"the store {path} is in use by another process (DuckDB lets one process "
                "write and none read meanwhile); try again, or wait with visibility --wait SECONDS"
            ) from None
        raise StoreError(f"cannot open the store {path}: {message}") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the store {path}: {str(exc).splitlines()[0]}") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _owner_only(path: Path) -> None:
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
