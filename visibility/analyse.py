"""Analyse: from stored fixes and the roster to track runs and per-shift totals.

For the shifts that start in a date range, fixes come out of DuckDB in chunks of
officers, are put in shift and time order, and are cut into batches of whole
shifts. Each batch is located (H3 cell, ward, station) and passed through the
track kernel, then written back through Arrow:
``track_runs`` (one row per run of fixes in the same state, ward and cell;
each fix's state and owned interval can be recovered from it, see
:func:`run_fixes_sql`), ``shift_results`` (one row per shift, with
the seconds of each state) and ``presence`` (on-patch time per ward, cell and
hour). Re-analysing a range replaces its results in one transaction; under a
memory limit, in atomic chunks of whole shifts, so that a run of any size fits.

Memory is bounded independently of the number of fixes: DuckDB works within
its share of ``memory_limit`` (spilling to a folder beside the store), and
Python holds one batch of whole shifts at a time. The per-batch step
(:func:`analyse_batch`) is the same on one machine and on a Dask cluster
(:mod:`visibility.distributed`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from . import __version__
from .boundaries import rebuild_ward_cells
from .errors import MemoryLimitError, StoreError
from .kernels import latlng_to_cells, track_pass
from .kernels.track import gather, run_starts
from .locate import NO_WARD, StationIndex, WardIndex
from .policy import Policy
from .store import STATES, Store

#: Fixes per DuckDB query when streaming a scope (see :func:`stream_fixes`): about this many
#: are held and sorted at a time, whatever the size of the scope.
CHUNK_FIXES = 1 << 20
#: Fixes per Arrow batch streamed from the store (at most; a memory limit may make it smaller).
BATCH_ROWS = 1 << 20
#: Python-side bytes per fix of a batch at its peak: the Arrow batch from DuckDB, the kernels'
#: arrays and the track-runs table handed back (measured; see benchmarks/README.md, "Scale").
BYTES_PER_FIX = 400
#: What the process needs before any fixes: the interpreter, numba's compiled kernels, pyarrow,
#: shapely and a ward index of London's 649 wards (measured: about 400 MB).
BASE_BYTES = 400 * 10**6
#: Shares of the rest of ``memory_limit``: DuckDB's, and the Python batches'; the remaining
#: tenth is slack for DuckDB's own overheads beyond its limit.
DUCKDB_SHARE, BATCH_SHARE = 0.6, 0.3
#: Default fixes per committed chunk for callers of :func:`write_results` that give none.
#: DuckDB holds about 60 bytes a fix appended in an open transaction (beyond its memory limit);
#: under a limit, chunks are sized to keep that within the slack.
COMMIT_ROWS = 4 << 20
#: ``commit_rows`` meaning "never commit part-way".
ONE_TRANSACTION = 1 << 62
TXN_BYTES_PER_FIX = 60
#: Track runs held back and inserted together: DuckDB appends large inserts much faster
#: (2M runs: 0.29 s in inserts of 1M rows, 0.56 s in inserts of 200,000).
INSERT_ROWS = 1 << 20
#: Microseconds in an hour (presence is kept per UTC hour).
HOUR_US = 3_600_000_000


@dataclass
class AnalyseReport:
    run_id: int
    shifts: int
    shifts_without_fixes: int
    fixes: int
    unreliable: int
    from_ts: datetime | None
    to_ts: datetime | None
    policy_digest: str
    notes: list[str] = field(default_factory=list)
    #: Seconds spent in each stage of the run (where the time goes).
    stages: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id, "shifts": self.shifts,
            "shifts_without_fixes": self.shifts_without_fixes, "fixes": self.fixes,
            "unreliable": self.unreliable,
            "from": self.from_ts.isoformat() if self.from_ts else None,
            "to": self.to_ts.isoformat() if self.to_ts else None,
            "policy_digest": self.policy_digest, "notes": list(self.notes),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


def local_range(date_from: date | None, date_to: date | None, tz: str):
    """UTC instants bounding local days ``date_from`` to ``date_to`` inclusive."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(date_from, time(0), zone) if date_from else None
    hi = datetime.combine(date_to + timedelta(days=1), time(0), zone) if date_to else None
    if lo and hi and hi <= lo:
        raise StoreError(f"--to {date_to} is before --from {date_from}")
    return lo, hi


def _range_sql(lo, hi, officers: list[str] | None = None) -> tuple[str, list]:
    clauses, params = ["true"], []
    if lo is not None:
        clauses.append("start_ts >= ?")
        params.append(lo)
    if hi is not None:
        clauses.append("start_ts < ?")
        params.append(hi)
    if officers is not None:
        clauses.append("list_contains(?, officer_id)")
        params.append(list(officers))
    return " AND ".join(clauses), params


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(value: str | int) -> int:
    """Bytes in a size such as ``4GB`` (decimal, as DuckDB reads it), ``512MiB`` or ``1000000``."""
    if isinstance(value, int):
        size = value
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise MemoryLimitError(f"memory limit {value!r} is not a size like 4GB, 512MB or 2GiB")
        size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size <= 0:
        raise MemoryLimitError(f"memory limit {value!r} must be more than 0")
    return size


def format_size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


@dataclass(frozen=True)
class MemoryPlan:
    """How ``memory_limit`` is shared: DuckDB's limit, and the fixes per Python batch."""

    limit_bytes: int | None
    duckdb_bytes: int | None
    batch_rows: int

    @classmethod
    def make(cls, memory_limit: str | int | None = None, batch_rows: int | None = None) -> "MemoryPlan":
        """Share ``memory_limit`` out; a ``batch_rows`` that cannot fit is an error, not an OOM kill."""
        if batch_rows is not None and batch_rows < 1:
            raise MemoryLimitError(f"batch rows {batch_rows} must be at least 1")
        if memory_limit is None:
            return cls(None, None, batch_rows or BATCH_ROWS)
        limit = parse_size(memory_limit)
        if limit <= BASE_BYTES:
            raise MemoryLimitError(
                f"--memory-limit {format_size(limit)} is less than the {format_size(BASE_BYTES)} the "
                "program needs before any fixes; give at least 1GB")
        usable = limit - BASE_BYTES
        budget = int(usable * BATCH_SHARE)
        fits = max(budget // BYTES_PER_FIX, 1)
        if batch_rows is not None and batch_rows > fits:
            raise MemoryLimitError(
                f"--batch-rows {batch_rows:,} needs about {format_size(batch_rows * BYTES_PER_FIX)}, "
                f"more than the {format_size(budget)} of --memory-limit {format_size(limit)} kept for "
                f"batches; use --batch-rows {fits:,} or less, or a larger --memory-limit")
        return cls(limit, int(usable * DUCKDB_SHARE), batch_rows or min(BATCH_ROWS, fits))

    @property
    def commit_rows(self) -> int:
        """Fixes per committed chunk of results (see :func:`write_results`).

        Without a memory limit the whole run is one transaction: all of its results land,
        or none. With a limit, chunks of whole shifts keep the transaction within it.
        """
        if self.limit_bytes is None:
            return ONE_TRANSACTION
        slack = (self.limit_bytes - BASE_BYTES) * (1 - DUCKDB_SHARE - BATCH_SHARE)
        return max(self.batch_rows, int(slack // TXN_BYTES_PER_FIX))

    def error(self, what: str) -> MemoryLimitError:
        """The one-line error for running out of memory while doing ``what``."""
        if self.limit_bytes is None:
            return MemoryLimitError(
                f"out of memory while {what}; set --memory-limit (e.g. 4GB) so that DuckDB spills "
                f"to disk, or use a smaller --batch-rows (now {self.batch_rows:,})")
        return MemoryLimitError(
            f"out of memory while {what} within --memory-limit {format_size(self.limit_bytes)} "
            f"(DuckDB {format_size(self.duckdb_bytes)}, batches of {self.batch_rows:,} fixes); "
            "use a smaller --batch-rows or a larger --memory-limit")


@contextmanager
def memory_bounded(store: Store, plan: MemoryPlan, what: str):
    """DuckDB within the plan's limit, spilling beside the store; out of memory is one clear error.

    The store's previous settings are restored afterwards.
    """
    import duckdb

    con = store.con
    before = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                         ).fetchall()[0]
    if plan.duckdb_bytes is not None:
        con.execute(f"SET memory_limit = '{int(plan.duckdb_bytes)}B'")
        spill = f"{store.path}.tmp"
        if before[1] != spill:
            con.execute("SET temp_directory = ?", [spill])
    try:
        yield plan
    except duckdb.OutOfMemoryException:
        raise plan.error(what) from None
    except MemoryError:
        raise plan.error(what) from None
    finally:
        if plan.duckdb_bytes is not None:
            con.execute("RESET memory_limit")
            if con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != before[0]:
                con.execute("SET memory_limit = ?", [before[0]])


@dataclass
class Scope:
    """The shifts a pass covers, and what locating their fixes needs."""

    where: str
    params: list
    lo: datetime | None
    hi: datetime | None
    ctx: "_Context"
    wards: WardIndex
    notes: list[str]

    @property
    def n_shifts(self) -> int:
        return len(self.ctx.shift_id)


def open_scope(store: Store, policy: Policy, date_from: date | None = None,
               date_to: date | None = None, officers: list[str] | None = None,
               shift_ids: list[int] | None = None, wards: WardIndex | None = None) -> Scope:
    """Select the shifts starting on local days ``date_from``..``date_to`` (of ``officers``,
    and among ``shift_ids`` when given). ``wards``: the store's ward index, when already
    built."""
    con = store.con
    if not con.execute("SELECT count(*) FROM wards").fetchall()[0][0]:
        raise StoreError("no wards are loaded; load them first with: visibility boundaries load")
    if not con.execute("SELECT count(*) FROM shifts").fetchall()[0][0]:
        raise StoreError("no shifts are loaded; load the roster first with: visibility roster load")
    lo, hi = local_range(date_from, date_to, policy.timezone)
    where, params = _range_sql(lo, hi, officers)
    if shift_ids is not None:
        where += " AND shift_id IN (SELECT unnest(?))"
        params.append(list(shift_ids))
    shifts = con.sql(
        f"""SELECT s.shift_id, s.officer_id, epoch_us(s.start_ts) AS start_us,
                   epoch_us(s.end_ts) AS end_us, s.kind
            FROM shifts s WHERE {where} ORDER BY s.shift_id""", params=params
    ).to_arrow_table()
    if not shifts.num_rows:
        span = f"between {date_from or 'the start'} and {date_to or 'the end'}"
        raise StoreError(f"no shifts start {span}")
    notes = []
    res_row = con.execute("SELECT value FROM meta WHERE key = 'h3_resolution'").fetchall()
    if not res_row or int(res_row[0][0]) != policy.h3_resolution:
        with store.transaction():
            rebuild_ward_cells(store, policy.h3_resolution)
        notes.append(f"ward cells rebuilt at H3 resolution {policy.h3_resolution}")
    if wards is None or notes:
        wards = WardIndex.from_store(store)
    pairs = con.execute("SELECT officer_id, ward_code FROM officer_wards").fetchall()
    return Scope(where, params, lo, hi, _Context.build(shifts, pairs, wards), wards, notes)


@dataclass
class Fixes:
    """Whole shifts' fixes, sorted by shift then time, as arrays."""

    shift_id: np.ndarray
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    acc: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_table(cls, table: pa.Table) -> "Fixes":
        return cls(*(table.column(c).to_numpy() for c in ("shift_id", "t", "lat", "lon", "acc")))

    @classmethod
    def concat(cls, parts: list["Fixes"]) -> "Fixes":
        """One set of fixes from batches of whole shifts, in shift_id order."""
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0),
                       np.empty(0))
        whole = cls(*(np.concatenate([getattr(p, f) for p in parts])
                      for f in ("shift_id", "t", "lat", "lon", "acc")))
        if np.any(np.diff(whole.shift_id) < 0):  # batches of several chunks
            whole = whole.take(np.argsort(whole.shift_id, kind="stable"))
        return whole

    def take(self, mask: np.ndarray) -> "Fixes":
        return Fixes(self.shift_id[mask], self.t[mask], self.lat[mask], self.lon[mask], self.acc[mask])

    def slice(self, i: int, j: int) -> "Fixes":
        return Fixes(self.shift_id[i:j], self.t[i:j], self.lat[i:j], self.lon[i:j], self.acc[i:j])

    def in_order(self, ctx: "_Context") -> "Fixes":
        """Sorted by shift (in ``ctx`` order, which is shift_id order) then time."""
        if len(self) == 0:
            return self
        heads = np.flatnonzero(np.r_[True, self.shift_id[1:] != self.shift_id[:-1]])
        pos = np.repeat(np.searchsorted(ctx.shift_id, self.shift_id[heads]),
                        np.diff(np.r_[heads, len(self)]))
        rel = self.t - ctx.start_us[pos]  # fixes lie inside their shift: never negative
        pos -= pos.min()
        if pos.max() < 1 << 21 and rel.max() < 1 << 42:  # one int64 key: shift, then time
            key = (pos.astype(np.int64) << 42) | rel
            if np.all(key[1:] > key[:-1]):
                return self
            return Fixes(*gather(np.argsort(key, kind="stable"), *self.columns()))
        return Fixes(*gather(np.lexsort((self.t, self.shift_id)), *self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return self.shift_id, self.t, self.lat, self.lon, self.acc

    def segments(self, ctx: "_Context") -> tuple[np.ndarray, np.ndarray]:
        """(seg offsets, position of each segment's shift in the scope)."""
        bounds = np.flatnonzero(np.diff(self.shift_id)) + 1
        seg = np.concatenate([[0], bounds, [len(self.shift_id)]]).astype(np.int64)
        if len(self.shift_id) == 0:
            return np.zeros(1, np.int64), np.empty(0, np.int64)
        return seg, np.searchsorted(ctx.shift_id, self.shift_id[seg[:-1]])


def scope_fixes_sql(con, shifts_sql: str, extra: str = "", fix_where: str = "",
                    ordered: bool = True) -> str:
    """SQL of the fixes of the shifts that ``shifts_sql`` selects (shift_id, t, lat, lon, acc,
    then ``extra`` columns of the shift ``s``), ordered by shift then time unless not
    ``ordered``. ``fix_where`` (a condition on the fixes' officer_id and ts) lets DuckDB skip
    the others as it scans."""
    fixes, qualify = _fixes_sql(con)
    if fix_where:
        fixes = f"(SELECT * FROM {fixes} WHERE {fix_where})"
    return f"""SELECT s.shift_id, epoch_us(p.ts) AS t, p.lat, p.lon,
                      coalesce(p.accuracy_m, 'NaN'::DOUBLE) AS acc{extra}
               FROM ({shifts_sql}) s
               JOIN {fixes} p
                 ON p.officer_id = s.officer_id AND p.ts >= s.start_ts AND p.ts < s.end_ts
               {qualify}
               {"ORDER BY s.shift_id, p.ts" if ordered else ""}"""


def officer_chunks(store: Store, scope: Scope, chunk_fixes: int) -> list[tuple[str, str] | None]:
    """The scope's officers cut into ranges (first, last officer_id) of about ``chunk_fixes``
    fixes each, by officer_id order; ``[None]`` when one query will do."""
    officers = scope.ctx.officer_ids
    if len(officers) < 2:
        return [None]
    fixes, _ = _fixes_sql(store.con)
    lo = int(scope.ctx.start_us.min())
    hi = int(scope.ctx.end_us.max())
    counts = dict(store.con.execute(
        f"SELECT officer_id, count(*) FROM {fixes} WHERE ts >= make_timestamptz(?) "
        f"AND ts < make_timestamptz(?) GROUP BY officer_id", [lo, hi]).fetchall())
    n = np.array([counts.get(o, 0) for o in officers], np.int64)
    if n.sum() <= chunk_fixes:
        return [None]
    chunks, first, held = [], 0, 0
    for i, k in enumerate(n):
        if held and held + k > chunk_fixes:
            chunks.append((officers[first], officers[i - 1]))
            first, held = i, 0
        held += k
    chunks.append((officers[first], officers[-1]))
    return chunks


def stream_fixes(store: Store, scope: Scope, batch_rows: int = BATCH_ROWS,
                 chunk_fixes: int | None = None):
    """Fixes of the scope's shifts from the store, in Arrow batches cut at shift edges.

    The scope is read in chunks of officers holding about ``chunk_fixes`` fixes, so that
    memory holds one chunk at a time, not the scope. A chunk comes from DuckDB unordered
    and is sorted here: fixes are mostly stored in officer and time order already, which a
    stable sort (timsort) finishes in a fraction of the time of a general sort. Each shift
    comes whole and in time order; shifts come in shift_id order within a chunk.
    """
    reader_con = store.con.cursor()
    try:
        for chunk in officer_chunks(store, scope, chunk_fixes or CHUNK_FIXES):
            shifts = f"SELECT * FROM shifts s WHERE {scope.where}"
            params = list(scope.params)
            fix_where = ""
            if chunk is not None:
                shifts += " AND s.officer_id BETWEEN ? AND ?"
                fix_where = "officer_id BETWEEN ? AND ?"
                params += [*chunk, *chunk]
            table = reader_con.sql(scope_fixes_sql(store.con, shifts, fix_where=fix_where,
                                                   ordered=False), params=params).to_arrow_table()
            fixes = Fixes.from_table(table)
            del table  # hold one copy of the chunk at a time
            fixes = fixes.in_order(scope.ctx)
            yield from _cut(fixes, batch_rows)
    finally:
        reader_con.close()


def _cut(fixes: "Fixes", batch_rows: int):
    """``fixes`` (whole shifts, in order) in batches of about ``batch_rows``, cut between shifts."""
    n = len(fixes)
    starts = np.flatnonzero(np.r_[True, fixes.shift_id[1:] != fixes.shift_id[:-1]]) if n else []
    i = 0
    while i < n:
        j = n
        if i + batch_rows < n:
            k = int(np.searchsorted(starts, i + batch_rows, side="right")) - 1
            j = int(starts[k]) if starts[k] > i else int(starts[k + 1]) if k + 1 < len(starts) else n
        yield fixes.slice(i, j)
        i = j


def locate(fixes: Fixes, scope: Scope) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H3 cell, ward index, on one of the officer's own wards) of each fix."""
    ctx = scope.ctx
    seg, pos = fixes.segments(ctx)
    officer_of_fix = np.repeat(ctx.officer_idx[pos], np.diff(seg))
    cells = latlng_to_cells(fixes.lat, fixes.lon, scope.wards.resolution)
    ward = scope.wards.locate(fixes.lat, fixes.lon, cells)
    found = ward != NO_WARD
    on_patch = found & ctx.allowed[officer_of_fix * ctx.n_wards + np.where(found, ward, 0)]
    return cells, ward, on_patch


def track(fixes: Fixes, scope: Scope, policy: Policy, in_station: np.ndarray,
          on_patch: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """The track kernel over ``fixes``: (outputs, seg offsets, scope positions of the shifts)."""
    seg, pos = fixes.segments(scope.ctx)
    out = track_pass(seg, scope.ctx.start_us[pos], scope.ctx.end_us[pos], fixes.t, fixes.lat,
                     fixes.lon, fixes.acc, in_station, on_patch, max_gap_s=policy.max_gap_s,
                     spike_speed_kmh=policy.spike_speed_kmh,
                     accuracy_limit_m=policy.accuracy_limit_m,
                     transit_speed_kmh=policy.transit_speed_kmh, speed_window=policy.speed_window)
    return out, seg, pos


@dataclass
class ShiftTotals:
    """Per-shift sums over the batches: owned microseconds per state, unreliable fixes, fixes."""

    shift_id: np.ndarray
    totals_us: np.ndarray  # int64 (shifts, 5), columns in state order
    n_unreliable: np.ndarray
    n_fixes: np.ndarray

    @classmethod
    def zeros(cls, shift_id: np.ndarray) -> "ShiftTotals":
        n = len(shift_id)
        return cls(np.asarray(shift_id, np.int64), np.zeros((n, 5), np.int64),
                   np.zeros(n, np.int64), np.zeros(n, np.int64))

    def to_table(self) -> pa.Table:
        """The shifts that had fixes, as a table (one column per state)."""
        had = self.n_fixes > 0
        cols = {"shift_id": self.shift_id[had]}
        cols.update({f"{name}_us": self.totals_us[had, k] for k, name in enumerate(STATES)})
        cols.update(n_unreliable=self.n_unreliable[had], n_fixes=self.n_fixes[had])
        return pa.table(cols)

    def add_table(self, table: pa.Table) -> None:
        """Add a :meth:`to_table` of some of these shifts (e.g. one partition's)."""
        ids = table.column("shift_id").to_numpy()
        pos = np.searchsorted(self.shift_id, ids)
        if len(ids) and (pos.max() >= len(self.shift_id) or (self.shift_id[pos] != ids).any()):
            raise StoreError("partition results name shifts outside the analysed scope")
        for k, name in enumerate(STATES):
            np.add.at(self.totals_us[:, k], pos, table.column(f"{name}_us").to_numpy())
        np.add.at(self.n_unreliable, pos, table.column("n_unreliable").to_numpy())
        np.add.at(self.n_fixes, pos, table.column("n_fixes").to_numpy())


class Stages(dict):
    """Seconds per stage, added up over batches: ``with stages("locate"): ...``."""

    @contextmanager
    def __call__(self, name: str):
        start = perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + perf_counter() - start


def analyse_batch(fixes: Fixes, scope: Scope, stations: StationIndex, policy: Policy,
                  totals: ShiftTotals, stages: Stages | None = None) -> pa.Table:
    """Locate and track one batch of whole shifts: add to ``totals`` (aligned with
    ``scope.ctx``), return the batch's ``track_runs`` rows. The same step on every engine."""
    stages = Stages() if stages is None else stages
    with stages("locate (H3, wards, stations)"):
        cells, ward, on_patch = locate(fixes, scope)
        in_station = stations.contains(fixes.lat, fixes.lon)
    with stages("track kernel"):
        out, seg, pos = track(fixes, scope, policy, in_station, on_patch)
        totals.totals_us[pos] += out["totals_us"]
        totals.n_unreliable[pos] += out["n_unreliable"]
        totals.n_fixes[pos] += np.diff(seg)
    with stages("track runs to Arrow"):
        return track_runs_table(fixes, seg, scope, cells, ward, out)


def stale_shifts(store: Store, policy: Policy, date_from: date | None = None,
                 date_to: date | None = None) -> dict[str, list[int]]:
    """Shifts in the range whose results are missing or out of date, by reason.

    A result is out of date when it was computed under another policy, when a
    source ingested since holds fixes inside the shift, or when device
    assignments changed since (for officers with device fixes).
    """
    from .devices import assignments_version

    con = store.con
    lo, hi = local_range(date_from, date_to, policy.timezone)
    where, params = _range_sql(lo, hi)
    rows = con.execute(
        f"""
        WITH sel AS (SELECT * FROM shifts s WHERE {where}),
        new_fix AS (
            SELECT DISTINCT s.shift_id FROM sel s JOIN shift_results r USING (shift_id)
            JOIN pings p ON p.officer_id = s.officer_id AND p.ts >= s.start_ts AND p.ts < s.end_ts
            WHERE p.source_id > r.sources_seen
            UNION
            SELECT DISTINCT s.shift_id FROM sel s JOIN shift_results r USING (shift_id)
            JOIN device_assignments a ON a.officer_id = s.officer_id
            JOIN device_pings d ON d.device_id = a.device_id AND d.ts >= a.from_ts AND d.ts < a.to_ts
                 AND d.ts >= s.start_ts AND d.ts < s.end_ts
            WHERE d.source_id > r.sources_seen)
        SELECT s.shift_id,
               CASE WHEN r.shift_id IS NULL THEN 'not analysed'
                    WHEN r.policy_digest <> ? THEN 'policy changed'
                    WHEN s.shift_id IN (SELECT shift_id FROM new_fix) THEN 'new fixes'
                    WHEN r.assignments_seen <> ? AND s.officer_id IN
                         (SELECT officer_id FROM device_assignments) THEN 'device assignments changed'
               END AS why
        FROM sel s LEFT JOIN shift_results r USING (shift_id)
        ORDER BY s.shift_id
        """, params + [policy.digest, assignments_version(con)]).fetchall()
    out: dict[str, list[int]] = {}
    for shift_id, why in rows:
        if why:
            out.setdefault(why, []).append(shift_id)
    return out


def analyse(store: Store, policy: Policy | None = None, date_from: date | None = None,
            date_to: date | None = None,
            progress: Callable[[int], None] | None = None, force: bool = False, *,
            memory_limit: str | int | None = None, batch_rows: int | None = None,
            engine: str = "local", scheduler: str | None = None,
            work_dir: str | None = None) -> AnalyseReport:
    """Analyse the shifts starting on local days ``date_from`` to ``date_to`` (inclusive).

    Only shifts whose results are missing or out of date are redone (see
    :func:`stale_shifts`), unless ``force``; the report says what was redone.

    ``memory_limit`` (e.g. ``"4GB"``) bounds the run: DuckDB gets its share and
    spills beside the store, and batches hold at most ``batch_rows`` fixes
    (sized from the limit when not given). Running out is a
    :class:`~visibility.errors.MemoryLimitError`. ``engine="dask"`` runs the
    same per-batch step partition by partition on a Dask cluster (``scheduler``:
    ``local:N`` or an address; ``work_dir``: where the Parquet lives), see
    :func:`visibility.distributed.analyse_distributed`.
    """
    policy = policy or Policy()
    plan = MemoryPlan.make(memory_limit, batch_rows)
    if engine not in ("local", "dask"):
        raise StoreError(f"unknown engine {engine!r}; choose local or dask")
    stages = Stages()
    with memory_bounded(store, plan, "analysing"):
        with stages("select shifts"):
            scope, notes = _select(store, policy, date_from, date_to, force)
        if scope is None:
            return AnalyseReport(run_id=0, shifts=0, shifts_without_fixes=0, fixes=0, unreliable=0,
                                 from_ts=None, to_ts=None, policy_digest=policy.digest, notes=notes)
        if engine == "dask":
            from .distributed import analyse_distributed

            return analyse_distributed(store, policy, scope, notes, plan, scheduler=scheduler,
                                       work_dir=work_dir, progress=progress, stages=stages)
        stations = StationIndex.from_store(store, policy.station_radius_m, policy.station_margin_m)
        totals = ShiftTotals.zeros(scope.ctx.shift_id)
        seen = _seen(store.con)

        def batches():
            fixes_in = iter(stream_fixes(store, scope, plan.batch_rows,
                                         min(CHUNK_FIXES, 2 * plan.batch_rows)))
            while True:
                with stages("DuckDB: select fixes, then sort"):
                    fixes = next(fixes_in, None)
                if fixes is None:
                    return
                yield len(fixes), analyse_batch(fixes, scope, stations, policy, totals, stages)

        return write_results(store, policy, scope, notes, totals, seen, batches(), progress, stages,
                             commit_rows=plan.commit_rows)


def _select(store: Store, policy: Policy, date_from, date_to, force) -> tuple[Scope | None, list]:
    """The scope to redo (``None``: nothing is out of date) and the notes saying why."""
    con = store.con
    notes = []
    only = None
    whole = None
    if not force:
        whole = open_scope(store, policy, date_from, date_to)  # the range's checks and errors
        stale = stale_shifts(store, policy, date_from, date_to)
        only = sorted(i for ids in stale.values() for i in ids)
        where, params = _range_sql(*local_range(date_from, date_to, policy.timezone))
        total = con.execute(f"SELECT count(*) FROM shifts s WHERE {where}", params).fetchall()[0][0]
        if not only:
            return None, [f"all {total} shifts in the range are up to date; nothing redone "
                          "(--force redoes them)"]
        notes.append("redone: " + ", ".join(f"{len(ids)} {why}" for why, ids in stale.items())
                     + f"; {total - len(only)} up to date")
        if len(only) == total:
            only = None  # every shift of the range: no need to list them
    if whole is not None and only is None:
        scope = whole
    else:
        scope = open_scope(store, policy, date_from, date_to, shift_ids=only,
                           wards=whole.wards if whole is not None else None)
        notes += whole.notes if whole is not None else []
    notes += scope.notes
    if not con.execute("SELECT (SELECT count(*) FROM pings) + (SELECT count(*) FROM device_pings)"
                       ).fetchall()[0][0]:
        notes.append("the store holds no fixes: every shift is all no_signal")
    return scope, notes


def _seen(con) -> tuple[int, int]:
    """What results computed now have seen: the last source, and the assignments' version."""
    from .devices import assignments_version

    return (con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchall()[0][0],
            assignments_version(con))


def write_results(store: Store, policy: Policy, scope: Scope, notes: list[str],
                  totals: ShiftTotals, seen: tuple[int, int], batches,
                  progress: Callable[[int], None] | None = None,
                  stages: Stages | None = None, commit_rows: int = COMMIT_ROWS) -> AnalyseReport:
    """Replace the scope's results: ``batches`` yields (fixes, track_runs table or SQL relation
    text) as they are computed, each of whole shifts whose ``totals`` are then complete.

    Without a memory limit the run is one transaction. Under ``--memory-limit`` results are
    committed in chunks of whole shifts of about ``commit_rows`` fixes: a DuckDB transaction
    holds memory for every row it appends, so one transaction for a force-year would not fit
    the limit. Each chunk replaces its shifts' results atomically; a run that stops part way
    keeps the chunks it finished, and the next ``analyse`` redoes only the rest. The run's
    row in ``analyses`` is written last.
    """
    con = store.con
    stages = Stages() if stages is None else stages
    run_id = con.execute("SELECT greatest((SELECT coalesce(max(run_id), 0) FROM analyses), "
                         "(SELECT coalesce(max(run_id), 0) FROM shift_results)) + 1").fetchall()[0][0]
    written = np.zeros(scope.n_shifts, bool)
    pending, pending_rows, done = [], 0, 0
    # Shifts with results to replace (all of a shift's results are written together, so a
    # shift without shift_results has none); the others need no deleting.
    old = np.isin(scope.ctx.shift_id, np.array(
        [r[0] for r in con.execute("SELECT shift_id FROM shift_results WHERE shift_id IN "
                                   "(SELECT unnest(?))", [scope.ctx.shift_id.tolist()]).fetchall()],
        np.int64))

    held: list[pa.Table] = []  # track runs not yet inserted: fewer, larger inserts are faster
    relation: list[str] = []  # runs inserted from SQL since the last commit

    def replace(pos: np.ndarray) -> None:
        _delete_results(con, scope.ctx.shift_id[pos[old[pos]]])

    def insert_held() -> None:
        if held:
            con.register("_run_batch", pa.concat_tables(held))
            held.clear()
            try:
                with stages("DuckDB: insert track runs"):
                    con.execute("INSERT INTO track_runs SELECT * FROM _run_batch")
                with stages("DuckDB: presence"):  # the runs are of whole shifts: sums are final
                    _write_presence(con, "_run_batch")
            finally:
                con.unregister("_run_batch")

    def commit() -> None:
        insert_held()
        pos = np.unique(np.concatenate(pending)) if pending else np.empty(0, np.int64)
        with stages("DuckDB: shift results"):
            _write_shift_results(con, scope.ctx, totals, run_id, policy.digest, seen, pos)
        if relation:  # runs inserted from SQL: their presence from the table
            with stages("DuckDB: presence"):
                _write_presence(con, "track_runs", "shift_id IN (SELECT unnest(?))",
                                [scope.ctx.shift_id[pos].tolist()])
            relation.clear()
        with stages("DuckDB: commit"):
            con.execute("COMMIT")
        written[pos] = True
        pending.clear()

    try:
        for n, rows in batches:
            with stages("DuckDB: replace old results"):
                if not pending:
                    con.execute("BEGIN TRANSACTION")
                if isinstance(rows, str):  # every shift with fixes, from a relation
                    pos = np.flatnonzero(totals.n_fixes > 0)
                else:
                    pos = np.searchsorted(scope.ctx.shift_id, np.unique(rows.column("shift_id")))
                pending.append(pos)
                replace(pos)
            if isinstance(rows, str):
                with stages("DuckDB: insert track runs"):
                    con.execute(f"INSERT INTO track_runs {rows}")
                relation.append(rows)
            else:
                held.append(rows)
                if sum(t.num_rows for t in held) >= INSERT_ROWS:
                    insert_held()
            done += n
            pending_rows += n
            if progress:
                progress(n)
            if pending_rows >= commit_rows:
                commit()
                pending_rows = 0
        if not pending:
            con.execute("BEGIN TRANSACTION")
        rest = np.flatnonzero(~written)  # shifts without fixes, and the last chunk's
        replace(np.setdiff1d(rest, np.concatenate(pending or [rest[:0]])))
        pending.append(rest)
        con.execute("INSERT INTO analyses VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, scope.lo, scope.hi, policy.to_json(), policy.digest, __version__,
                     scope.n_shifts, done])
        commit()
    except BaseException:
        if pending:
            con.execute("ROLLBACK")
        raise
    return AnalyseReport(
        run_id=run_id, shifts=scope.n_shifts, shifts_without_fixes=int((totals.n_fixes == 0).sum()),
        fixes=done, unreliable=int(totals.n_unreliable.sum()), from_ts=scope.lo, to_ts=scope.hi,
        policy_digest=policy.digest, notes=notes, stages=dict(stages))


def _delete_results(con, shift_ids: np.ndarray) -> None:
    if len(shift_ids):
        for table in ("track_runs", "presence", "shift_results"):
            con.execute(f"DELETE FROM {table} WHERE shift_id IN (SELECT unnest(?))",
                        [shift_ids.tolist()])


def run_fixes_sql(con, runs_sql: str, extra: tuple[str, ...] = ()) -> str:
    """SQL of the fixes of the runs that ``runs_sql`` selects (``track_runs`` rows), one row
    per fix: shift_id, officer_id, ts, lat, lon, state, quality, ward_code, cell, the
    fix's owned interval ``own_from_us``/``own_to_us`` (epoch microseconds), then the
    ``extra`` columns of ``runs_sql``.

    Inside a run each boundary between two fixes is the midpoint of their times, and the
    run's ends are its own, exactly as the track pass owned them. The fixes are read again
    from the store, so they are those the analysis saw as long as no fixes were added since
    (``analyse`` redoes such shifts). A run selected twice is expanded twice.
    """
    fixes, qualify = _fixes_sql(con)
    more = "".join(f", r.{c}" for c in extra)
    tail = "".join(f", {c}" for c in extra)
    return f"""
        WITH r AS (SELECT *, row_number() OVER () AS run_key FROM ({runs_sql})),
        f AS (
            SELECT r.shift_id, s.officer_id, p.ts, p.lat, p.lon, r.state, r.quality, r.ward_code,
                   r.cell, r.first_ts, r.last_ts, epoch_us(r.own_from) AS run_from,
                   epoch_us(r.own_to) AS run_to, epoch_us(p.ts) AS t, r.run_key{more}
            FROM r JOIN shifts s USING (shift_id)
            JOIN {fixes} p
              ON p.officer_id = s.officer_id AND p.ts >= r.first_ts AND p.ts <= r.last_ts
            {qualify})
        SELECT shift_id, officer_id, ts, lat, lon, state, quality, ward_code, cell,
               CASE WHEN ts = first_ts THEN run_from
                    ELSE lag(t) OVER w + (t - lag(t) OVER w) // 2 END AS own_from_us,
               CASE WHEN ts = last_ts THEN run_to
                    ELSE t + (lead(t) OVER w - t) // 2 END AS own_to_us{tail}
        FROM f
        WINDOW w AS (PARTITION BY run_key ORDER BY ts)"""


def _fixes_sql(con) -> tuple[str, str]:
    """Officers' fixes (a relation and a QUALIFY clause for the shift join).

    Their own fixes, plus device fixes mapped through the assignments. When two
    give a fix for the same shift and instant, the officer-keyed one stands (of
    two devices, the first in device order), so times stay unique in a shift.
    """
    if not con.execute("SELECT count(*) FROM device_assignments").fetchall()[0][0]:
        return "pings", ""
    union = """(
        SELECT officer_id, ts, lat, lon, accuracy_m, 0 AS rank, '' AS device_id FROM pings
        UNION ALL
        SELECT a.officer_id, d.ts, d.lat, d.lon, d.accuracy_m, 1, d.device_id
        FROM device_pings d JOIN device_assignments a
          ON d.device_id = a.device_id AND d.ts >= a.from_ts AND d.ts < a.to_ts)"""
    return union, "QUALIFY row_number() OVER (PARTITION BY s.shift_id, p.ts ORDER BY p.rank, p.device_id) = 1"


@dataclass
class _Context:
    """The selected shifts as arrays, and which wards each officer may patrol."""

    shift_id: np.ndarray
    officer_idx: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    kind: list
    officer_ids: np.ndarray
    allowed: np.ndarray  # bool at officer_idx * n_wards + ward_idx: a home ward of the officer
    n_wards: int

    @classmethod
    def build(cls, shifts: pa.Table, pairs, wards: WardIndex) -> "_Context":
        """From shifts (shift_id, officer_id, start_us, end_us, kind; by shift_id) and
        (officer_id, ward_code) home-ward pairs."""
        officer_ids, officer_idx = np.unique(
            np.array(shifts.column("officer_id").to_pylist(), dtype=object), return_inverse=True)
        o_pos = {o: i for i, o in enumerate(officer_ids)}
        w_pos = {w: i for i, w in enumerate(wards.codes)}
        n_wards = max(len(wards.codes), 1)
        allowed = np.zeros(len(officer_ids) * n_wards, bool)
        allowed[[o_pos[o] * n_wards + w_pos[w] for o, w in pairs if o in o_pos and w in w_pos]] = True
        return cls(
            shift_id=shifts.column("shift_id").to_numpy().astype(np.int64),
            officer_idx=officer_idx.astype(np.int64),
            start_us=shifts.column("start_us").to_numpy().astype(np.int64),
            end_us=shifts.column("end_us").to_numpy().astype(np.int64),
            kind=shifts.column("kind").to_pylist(),
            officer_ids=officer_ids,
            allowed=allowed,
            n_wards=n_wards,
        )


def _whole_shifts(reader):
    """Re-cut Arrow batches so that no shift is split across two of them."""
    carry = None
    for batch in reader:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        ids = table.column("shift_id").to_numpy()
        last = ids[-1]
        cut = int(np.searchsorted(ids, last, side="left"))
        if cut > 0:
            yield table.slice(0, cut)
        carry = table.slice(cut)
    if carry is not None and carry.num_rows:
        yield carry


def track_runs_table(fixes: Fixes, seg, scope: Scope, cells, ward, out) -> pa.Table:
    """The ``track_runs`` rows of a batch (see :func:`~visibility.kernels.track.run_starts`),
    columns in the table's order."""
    first = run_starts(seg, out["state"], out["quality"], ward, cells, out["own_from_us"],
                       out["own_to_us"])
    last = np.append(first[1:], len(fixes)) - 1
    codes = pa.array(list(scope.wards.codes), pa.string())
    run_ward = ward[first]
    ts_type = pa.timestamp("us", tz="UTC")
    return pa.table({
        "shift_id": fixes.shift_id[first],
        "first_ts": pa.array(fixes.t[first], ts_type),
        "last_ts": pa.array(fixes.t[last], ts_type),
        "n_fixes": (last - first + 1).astype(np.int32),
        "state": out["state"][first],
        "quality": out["quality"][first],
        "ward_code": pa.DictionaryArray.from_arrays(
            pa.array(run_ward, pa.int32(), mask=run_ward == NO_WARD), codes),
        "cell": cells[first],
        "own_from": pa.array(out["own_from_us"][first], ts_type),
        "own_to": pa.array(out["own_to_us"][last], ts_type),
    })


def _write_shift_results(con, ctx: _Context, sums: ShiftTotals, run_id: int, digest: str,
                         seen: tuple[int, int], pos: np.ndarray) -> None:
    """The ``shift_results`` rows of the shifts at positions ``pos`` of the scope."""
    totals, n_bad, n_fix = sums.totals_us[pos], sums.n_unreliable[pos], sums.n_fixes[pos]
    start, end, n = ctx.start_us[pos], ctx.end_us[pos], len(pos)
    ts_type = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "shift_id": ctx.shift_id[pos],
        "officer_id": pa.array(list(ctx.officer_ids[ctx.officer_idx[pos]]), pa.string()),
        "shift_start": pa.array(start, ts_type),
        "shift_end": pa.array(end, ts_type),
        "kind": pa.array([ctx.kind[i] for i in pos], pa.string()),
        "duration_us": end - start,
        "on_patch_us": totals[:, 3],
        "off_patch_us": totals[:, 4],
        "in_station_us": totals[:, 1],
        "transit_us": totals[:, 2],
        "no_signal_us": totals[:, 0] + np.where(n_fix == 0, end - start, 0),
        "n_fixes": n_fix,
        "n_unreliable": n_bad,
        "run_id": np.full(n, run_id, np.int32),
        "policy_digest": pa.array([digest] * n, pa.string()),
        "sources_seen": np.full(n, seen[0], np.int32),
        "assignments_seen": np.full(n, seen[1], np.int64),
    })
    con.register("_shift_batch", table)
    con.execute("INSERT INTO shift_results SELECT * FROM _shift_batch")
    con.unregister("_shift_batch")


def _write_presence(con, runs: str, where: str = "true", params: list | None = None) -> None:
    """On-patch time per ward, cell and UTC hour of the whole shifts' ``runs`` (a table or
    registered relation of track runs) that ``where`` selects: each run's interval split at
    the hours. Most runs lie within one hour; only the others are split (which costs far
    more)."""
    con.execute(
        f"""
        INSERT INTO presence
        WITH r AS (
            SELECT shift_id, ward_code, cell, epoch_us(own_from) AS a, epoch_us(own_to) AS b,
                   a // {HOUR_US} AS h0, (b - 1) // {HOUR_US} AS h1
            FROM {runs}
            WHERE state = 3 AND own_to > own_from AND {where}
        ), parts AS (
            SELECT shift_id, ward_code, cell, h0 AS h, b - a AS us FROM r WHERE h0 = h1
            UNION ALL
            SELECT shift_id, ward_code, cell, h,
                   least(b, (h + 1) * {HOUR_US}) - greatest(a, h * {HOUR_US}) AS us
            FROM (SELECT * FROM r WHERE h1 > h0), unnest(range(h0, h1 + 1)) AS u(h)
        )
        SELECT shift_id, ward_code, cell, to_timestamp(h * 3600), sum(us)::BIGINT
        FROM parts
        GROUP BY shift_id, ward_code, cell, h
        """,
        params or [],
    )
