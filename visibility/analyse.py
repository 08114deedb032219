"""Analyse: from stored fixes and the roster to per-fix states and per-shift totals.

For the shifts that start in a date range, fixes stream out of DuckDB as Arrow
batches ordered by shift and time. Each batch is located (H3 cell, ward,
station) and passed through the track kernel, then written back through Arrow:
``fix_results`` (one row per fix), ``shift_results`` (one row per shift, with
the seconds of each state) and ``presence`` (on-patch time per ward, cell and
hour). Re-analysing a range replaces its results; the whole run is one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from . import __version__
from .boundaries import rebuild_ward_cells
from .errors import StoreError
from .kernels import latlng_to_cells, track_pass
from .locate import NO_WARD, StationIndex, WardIndex
from .policy import Policy
from .store import Store

#: Fixes per Arrow batch streamed from the store.
BATCH_ROWS = 1 << 20


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

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id, "shifts": self.shifts,
            "shifts_without_fixes": self.shifts_without_fixes, "fixes": self.fixes,
            "unreliable": self.unreliable,
            "from": self.from_ts.isoformat() if self.from_ts else None,
            "to": self.to_ts.isoformat() if self.to_ts else None,
            "policy_digest": self.policy_digest, "notes": list(self.notes),
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
               shift_ids: list[int] | None = None) -> Scope:
    """Select the shifts starting on local days ``date_from``..``date_to`` (of ``officers``,
    and among ``shift_ids`` when given)."""
    con = store.con
    if not con.execute("SELECT count(*) FROM wards").fetchall()[0][0]:
        raise StoreError("no wards are loaded; load them first with: visibility boundaries load")
    if not con.execute("SELECT count(*) FROM shifts").fetchall()[0][0]:
        raise StoreError("no shifts are loaded; load the roster first with: visibility roster load")
    lo, hi = local_range(date_from, date_to, policy.timezone)
    where, params = _range_sql(lo, hi, officers)
    if shift_ids is not None:
        where += " AND list_contains(?, shift_id)"
        params.append(list(shift_ids))
    shifts = con.execute(
        f"""SELECT s.shift_id, s.officer_id, epoch_us(s.start_ts), epoch_us(s.end_ts), s.kind
            FROM shifts s WHERE {where} ORDER BY s.shift_id""", params
    ).fetchall()
    if not shifts:
        span = f"between {date_from or 'the start'} and {date_to or 'the end'}"
        raise StoreError(f"no shifts start {span}")
    notes = []
    res_row = con.execute("SELECT value FROM meta WHERE key = 'h3_resolution'").fetchall()
    if not res_row or int(res_row[0][0]) != policy.h3_resolution:
        with store.transaction():
            rebuild_ward_cells(store, policy.h3_resolution)
        notes.append(f"ward cells rebuilt at H3 resolution {policy.h3_resolution}")
    wards = WardIndex.from_store(store)
    return Scope(where, params, lo, hi, _Context.build(con, shifts, wards), wards, notes)


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
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0),
                       np.empty(0))
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("shift_id", "t", "lat", "lon", "acc")))

    def take(self, mask: np.ndarray) -> "Fixes":
        return Fixes(self.shift_id[mask], self.t[mask], self.lat[mask], self.lon[mask], self.acc[mask])

    def segments(self, ctx: "_Context") -> tuple[np.ndarray, np.ndarray]:
        """(seg offsets, position of each segment's shift in the scope)."""
        bounds = np.flatnonzero(np.diff(self.shift_id)) + 1
        seg = np.concatenate([[0], bounds, [len(self.shift_id)]]).astype(np.int64)
        if len(self.shift_id) == 0:
            return np.zeros(1, np.int64), np.empty(0, np.int64)
        return seg, np.searchsorted(ctx.shift_id, self.shift_id[seg[:-1]])


def stream_fixes(store: Store, scope: Scope):
    """Fixes of the scope's shifts from the store, in Arrow batches cut at shift edges."""
    fixes, qualify = _fixes_sql(store.con)
    reader_con = store.con.cursor()
    try:
        reader = reader_con.sql(
            f"""SELECT s.shift_id, epoch_us(p.ts) AS t, p.lat, p.lon,
                       coalesce(p.accuracy_m, 'NaN'::DOUBLE) AS acc
                FROM (SELECT * FROM shifts s WHERE {scope.where}) s
                JOIN {fixes} p
                  ON p.officer_id = s.officer_id AND p.ts >= s.start_ts AND p.ts < s.end_ts
                {qualify}
                ORDER BY s.shift_id, p.ts""", params=scope.params
        ).to_arrow_reader(BATCH_ROWS)
        for table in _whole_shifts(reader):
            yield Fixes.from_table(table)
    finally:
        reader_con.close()


def locate(fixes: Fixes, scope: Scope) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H3 cell, ward index, on one of the officer's own wards) of each fix."""
    ctx = scope.ctx
    seg, pos = fixes.segments(ctx)
    officer_of_fix = np.repeat(ctx.officer_idx[pos], np.diff(seg))
    cells = latlng_to_cells(fixes.lat, fixes.lon, scope.wards.resolution)
    ward = scope.wards.locate(fixes.lat, fixes.lon, cells)
    on_patch = (ward != NO_WARD) & np.isin(officer_of_fix * ctx.n_wards + ward, ctx.allowed)
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
            progress: Callable[[int], None] | None = None, force: bool = False) -> AnalyseReport:
    """Analyse the shifts starting on local days ``date_from`` to ``date_to`` (inclusive).

    Only shifts whose results are missing or out of date are redone (see
    :func:`stale_shifts`), unless ``force``; the report says what was redone.
    """
    policy = policy or Policy()
    con = store.con
    notes = []
    only = None
    if not force:
        open_scope(store, policy, date_from, date_to)  # the range's checks and errors
        stale = stale_shifts(store, policy, date_from, date_to)
        only = sorted(i for ids in stale.values() for i in ids)
        where, params = _range_sql(*local_range(date_from, date_to, policy.timezone))
        total = con.execute(f"SELECT count(*) FROM shifts s WHERE {where}", params).fetchall()[0][0]
        if not only:
            return AnalyseReport(run_id=0, shifts=0, shifts_without_fixes=0, fixes=0, unreliable=0,
                                 from_ts=None, to_ts=None, policy_digest=policy.digest,
                                 notes=[f"all {total} shifts in the range are up to date; nothing redone "
                                        "(--force redoes them)"])
        notes.append("redone: " + ", ".join(f"{len(ids)} {why}" for why, ids in stale.items())
                     + f"; {total - len(only)} up to date")
    scope = open_scope(store, policy, date_from, date_to, shift_ids=only)
    notes += scope.notes
    if not con.execute("SELECT (SELECT count(*) FROM pings) + (SELECT count(*) FROM device_pings)"
                       ).fetchall()[0][0]:
        notes.append("the store holds no fixes: every shift is all no_signal")
    stations = StationIndex.from_store(store, policy.station_radius_m, policy.station_margin_m)
    ctx, where, params = scope.ctx, scope.where, scope.params
    from .devices import assignments_version

    seen = (con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchall()[0][0],
            assignments_version(con))
    totals = np.zeros((scope.n_shifts, 5), np.int64)
    n_bad = np.zeros(scope.n_shifts, np.int64)
    n_fix = np.zeros(scope.n_shifts, np.int64)
    with store.transaction():
        for table in ("fix_results", "presence", "shift_results"):
            con.execute(
                f"DELETE FROM {table} WHERE shift_id IN (SELECT shift_id FROM shifts s WHERE {where})",
                params)
        done = 0
        for fixes in stream_fixes(store, scope):
            cells, ward, on_patch = locate(fixes, scope)
            out, seg, pos = track(fixes, scope, policy, stations.contains(fixes.lat, fixes.lon),
                                  on_patch)
            totals[pos] += out["totals_us"]
            n_bad[pos] += out["n_unreliable"]
            n_fix[pos] += np.diff(seg)
            _write_fixes(con, fixes, seg, pos, scope, cells, ward, out)
            done += len(fixes)
            if progress:
                progress(len(fixes))
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM analyses").fetchall()[0][0]
        _write_shift_results(con, ctx, totals, n_bad, n_fix, run_id, policy.digest, seen)
        _write_presence(con, where, params)
        con.execute(
            "INSERT INTO analyses VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [run_id, scope.lo, scope.hi, policy.to_json(), policy.digest, __version__,
             scope.n_shifts, done],
        )
    return AnalyseReport(
        run_id=run_id, shifts=scope.n_shifts, shifts_without_fixes=int((n_fix == 0).sum()),
        fixes=done, unreliable=int(n_bad.sum()), from_ts=scope.lo, to_ts=scope.hi,
        policy_digest=policy.digest, notes=notes)


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
    allowed: np.ndarray  # sorted keys officer_idx * n_wards + ward_idx
    n_wards: int

    @classmethod
    def build(cls, con, shifts, wards: WardIndex) -> "_Context":
        officer_ids, officer_idx = np.unique(np.array([s[1] for s in shifts], dtype=object),
                                             return_inverse=True)
        pairs = con.execute("SELECT officer_id, ward_code FROM officer_wards").fetchall()
        o_pos = {o: i for i, o in enumerate(officer_ids)}
        w_pos = {w: i for i, w in enumerate(wards.codes)}
        n_wards = max(len(wards.codes), 1)
        keys = sorted({o_pos[o] * n_wards + w_pos[w] for o, w in pairs if o in o_pos and w in w_pos})
        return cls(
            shift_id=np.array([s[0] for s in shifts], np.int64),
            officer_idx=officer_idx.astype(np.int64),
            start_us=np.array([s[2] for s in shifts], np.int64),
            end_us=np.array([s[3] for s in shifts], np.int64),
            kind=[s[4] for s in shifts],
            officer_ids=officer_ids,
            allowed=np.array(keys, np.int64),
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


def _write_fixes(con, fixes: Fixes, seg, pos, scope: Scope, cells, ward, out) -> None:
    ctx, wards = scope.ctx, scope.wards
    officer_of_fix = np.repeat(ctx.officer_idx[pos], np.diff(seg))
    ward_codes = pa.array(list(wards.codes) if len(wards.codes) else [], pa.string())
    ward_arr = pa.DictionaryArray.from_arrays(
        pa.array(ward, pa.int32(), mask=ward == NO_WARD), ward_codes)
    officer_arr = pa.DictionaryArray.from_arrays(
        pa.array(officer_of_fix.astype(np.int32)), pa.array(list(ctx.officer_ids), pa.string()))
    ts_type = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "shift_id": fixes.shift_id,
        "officer_id": officer_arr,
        "ts": pa.array(fixes.t, ts_type),
        "state": out["state"],
        "quality": out["quality"],
        "ward_code": ward_arr,
        "cell": cells,
        "speed_kmh": out["speed_kmh"],
        "own_from": pa.array(out["own_from_us"], ts_type),
        "own_to": pa.array(out["own_to_us"], ts_type),
    })
    con.register("_fix_batch", table)
    con.execute("INSERT INTO fix_results SELECT * FROM _fix_batch")
    con.unregister("_fix_batch")


def _write_shift_results(con, ctx: _Context, totals, n_bad, n_fix, run_id: int, digest: str,
                         seen: tuple[int, int]) -> None:
    ts_type = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "shift_id": ctx.shift_id,
        "officer_id": pa.array(list(ctx.officer_ids[ctx.officer_idx]), pa.string()),
        "shift_start": pa.array(ctx.start_us, ts_type),
        "shift_end": pa.array(ctx.end_us, ts_type),
        "kind": pa.array(ctx.kind, pa.string()),
        "duration_us": ctx.end_us - ctx.start_us,
        "on_patch_us": totals[:, 3],
        "off_patch_us": totals[:, 4],
        "in_station_us": totals[:, 1],
        "transit_us": totals[:, 2],
        "no_signal_us": totals[:, 0] + np.where(n_fix == 0, ctx.end_us - ctx.start_us, 0),
        "n_fixes": n_fix,
        "n_unreliable": n_bad,
        "run_id": np.full(len(ctx.shift_id), run_id, np.int32),
        "policy_digest": pa.array([digest] * len(ctx.shift_id), pa.string()),
        "sources_seen": np.full(len(ctx.shift_id), seen[0], np.int32),
        "assignments_seen": np.full(len(ctx.shift_id), seen[1], np.int64),
    })
    con.register("_shift_batch", table)
    con.execute("INSERT INTO shift_results SELECT * FROM _shift_batch")
    con.unregister("_shift_batch")


def _write_presence(con, where: str, params: list) -> None:
    """On-patch time per ward, cell and UTC hour, each fix's interval split at the hour."""
    con.execute(
        f"""
        INSERT INTO presence
        WITH f AS (
            SELECT shift_id, ward_code, cell, own_from, own_to,
                   date_trunc('hour', own_from) + INTERVAL 1 HOUR AS next_hour
            FROM fix_results
            WHERE state = 3 AND shift_id IN (SELECT shift_id FROM shifts s WHERE {where})
        ), parts AS (
            SELECT shift_id, ward_code, cell, next_hour - INTERVAL 1 HOUR AS hour_utc,
                   epoch_us(least(own_to, next_hour)) - epoch_us(own_from) AS us
            FROM f
            UNION ALL
            SELECT shift_id, ward_code, cell, next_hour, epoch_us(own_to) - epoch_us(next_hour)
            FROM f WHERE own_to > next_hour
        )
        SELECT shift_id, ward_code, cell, hour_utc, sum(us)::BIGINT
        FROM parts WHERE us > 0
        GROUP BY shift_id, ward_code, cell, hour_utc
        """,
        params,
    )
