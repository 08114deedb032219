"""Presence coverage: was anyone of the ward's team on patch there during the peak windows?

For each ward, the on-patch intervals of its track (``track_runs`` rows with
state on_patch and that ward: the officer was in one of their own wards, so of
the ward's team) are joined into their union -- two officers on patch at once
count once -- and intersected with the ward's peak windows:

    coverage = |union of on-patch intervals within peak windows| / |peak windows|

exactly, in microseconds, without sampling minutes. Per window the longest
uncovered stretch is kept too, and per local hour of the week (a 7 x 24
matrix) the time in the range, the peak time and the covered time, so a
commander sees which evenings were empty. A team's coverage counts only its
own officers, over the wards it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .kernels import clip_to_windows, group_ptr, merge_intervals, slot_totals, window_gaps
from .peaks import WardWindows, local_labels

HOUR_US = 3_600_000_000
TS = pa.timestamp("us", tz="UTC")


@dataclass
class Span:
    """A measured range: local days ``first..last`` and the UTC instants bounding them."""

    first: object  # date
    last: object   # date
    lo: object     # datetime (UTC)
    hi: object
    lo_us: int
    hi_us: int
    tz: str


def insert_columns(con, table: str, run_id: int, columns: dict) -> None:
    """Append rows given as columns (arrays or lists) to a result table, by column name."""
    n = len(next(iter(columns.values()))) if columns else 0
    data = {"run_id": pa.array(np.full(n, run_id, np.int32))}
    for name, values in columns.items():
        data[name] = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    con.register("_result_rows", pa.table(data))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _result_rows")
    finally:
        con.unregister("_result_rows")


def us_to_ts(us) -> pa.Array:
    return pa.array(np.asarray(us, np.int64), TS)


def subset_windows(ww: WardWindows, ward_idx: np.ndarray):
    """Windows of the wards ``ward_idx`` (one group each, in that order): ptr and indexes into ww."""
    counts = np.diff(ww.ptr)[ward_idx]
    ptr = np.zeros(len(ward_idx) + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    offsets = np.repeat(ww.ptr[ward_idx] - ptr[:-1], counts)
    return ptr, offsets + np.arange(ptr[-1], dtype=np.int64)


def on_patch_intervals(con, span: Span, wards: list[str]) -> dict:
    """On-patch intervals clipped to the span: ``ward`` (index into ``wards``), ``team`` (index
    into the returned ``teams``), ``start_us``, ``end_us``; in no particular order."""
    teams = [r[0] for r in con.execute("SELECT DISTINCT team FROM officers ORDER BY 1").fetchall()]
    con.register("_cov_wards", pa.table({"ward_code": pa.array(wards, pa.string()),
                                         "w": pa.array(np.arange(len(wards), dtype=np.int32))}))
    con.register("_cov_teams", pa.table({"team": pa.array(teams, pa.string()),
                                         "t": pa.array(np.arange(len(teams), dtype=np.int32))}))
    try:
        table = con.sql(
            """SELECT w.w, t.t, epoch_us(greatest(f.own_from, $lo)) AS s,
                      epoch_us(least(f.own_to, $hi)) AS e
               FROM track_runs f JOIN _cov_wards w USING (ward_code)
               JOIN shifts USING (shift_id) JOIN officers o USING (officer_id)
               JOIN _cov_teams t USING (team)
               WHERE f.state = 3 AND f.own_to > $lo AND f.own_from < $hi""",
            params={"lo": span.lo, "hi": span.hi}).to_arrow_table()
    finally:
        con.unregister("_cov_wards")
        con.unregister("_cov_teams")
    return {"ward": table["w"].to_numpy().astype(np.int64),
            "team": table["t"].to_numpy().astype(np.int64),
            "start_us": table["s"].to_numpy(), "end_us": table["e"].to_numpy(), "teams": teams}


def group_order(group: np.ndarray, start_us: np.ndarray, n_groups: int, lo_us: int,
                hi_us: int) -> np.ndarray:
    """The order sorting intervals by group, then start (one int64 key when it fits)."""
    group_bits = max(int(n_groups - 1).bit_length(), 1)
    time_bits = max(int(hi_us - lo_us).bit_length(), 1)
    if group_bits + time_bits <= 62:
        return np.argsort((group << time_bits) | (start_us - lo_us))
    return np.lexsort((start_us, group))


def sorted_union(group, start_us, end_us, n_groups: int, span: Span) -> dict:
    """The union of each group's intervals (see :func:`~visibility.kernels.merge_intervals`)."""
    order = group_order(group, start_us, n_groups, span.lo_us, span.hi_us)
    return merge_intervals(group[order], start_us[order], end_us[order], 0)


def hour_of_week(span: Span) -> tuple[int, np.ndarray]:
    """The hour slots of the span and each one's local hour of the week (0 = Monday 00:00)."""
    import pandas as pd

    n_slots = (span.hi_us - span.lo_us) // HOUR_US
    starts = pd.to_datetime(span.lo_us + np.arange(n_slots) * HOUR_US, unit="us", utc=True)
    local = starts.tz_convert(span.tz)
    return n_slots, (local.day_of_week.to_numpy() * 24 + local.hour.to_numpy()).astype(np.int64)


def _by_hour(matrix: np.ndarray, how: np.ndarray) -> np.ndarray:
    out = np.zeros((matrix.shape[0], 168), np.int64)
    np.add.at(out.T, how, matrix.T)
    return out


def measure_coverage(con, span: Span, ww: WardWindows, plan, run_id: int) -> dict:
    """Write coverage_windows, coverage_hours, coverage_wards and coverage_teams; return totals."""
    wards = ww.wards
    n_w = len(wards)
    iv = on_patch_intervals(con, span, wards)
    union = sorted_union(iv["ward"], iv["start_us"], iv["end_us"], n_w, span)
    pieces = clip_to_windows(union["group"], union["start_us"], union["end_us"], ww.ptr,
                             ww.start_us, ww.end_us)
    n_win = len(ww.start_us)
    covered = np.bincount(pieces["window"], pieces["end_us"] - pieces["start_us"], n_win)
    length = ww.end_us - ww.start_us
    gaps = window_gaps(ww.ptr, ww.start_us, ww.end_us, group_ptr(union["group"], n_w),
                       union["start_us"], union["end_us"])
    ward_of = ww.ward_of
    insert_columns(con, "coverage_windows", run_id, {
        "ward_code": pa.array([wards[i] for i in ward_of], pa.string()),
        "window_start": us_to_ts(ww.start_us), "window_end": us_to_ts(ww.end_us),
        "label": pa.array(local_labels(ww.start_us, ww.end_us, span.tz), pa.string()),
        "peak_s": length / 1e6, "covered_s": covered / 1e6,
        "coverage": np.divide(covered, length, out=np.zeros(n_win), where=length > 0),
        "longest_uncovered_s": gaps["longest_us"] / 1e6,
        "uncovered_from": us_to_ts(gaps["gap_start_us"]),
    })

    n_slots, how = hour_of_week(span)
    peak_h = _by_hour(slot_totals(ward_of, ww.start_us, ww.end_us, span.lo_us, HOUR_US, n_slots,
                                  n_w), how)
    cov_h = _by_hour(slot_totals(union["group"], union["start_us"], union["end_us"], span.lo_us,
                                 HOUR_US, n_slots, n_w), how)
    cov_peak_h = _by_hour(slot_totals(union["group"][pieces["item"]], pieces["start_us"],
                                      pieces["end_us"], span.lo_us, HOUR_US, n_slots, n_w), how)
    hours_s = np.bincount(how, minlength=168) * 3600.0
    insert_columns(con, "coverage_hours", run_id, {
        "ward_code": pa.array(np.repeat(np.array(wards, dtype=object), 168), pa.string()),
        "dow": pa.array(np.tile(np.arange(168) // 24 + 1, n_w).astype(np.uint8)),
        "hour": pa.array(np.tile(np.arange(168) % 24, n_w).astype(np.uint8)),
        "hours_s": np.tile(hours_s, n_w), "peak_s": peak_h.ravel() / 1e6,
        "covered_s": cov_h.ravel() / 1e6, "covered_peak_s": cov_peak_h.ravel() / 1e6,
    })

    peak_w = np.bincount(ward_of, length, n_w)
    cov_w = np.bincount(ward_of, covered, n_w)
    empty = (covered == 0) & (length > 0)
    longest = np.zeros(n_w)
    np.maximum.at(longest, ward_of, gaps["longest_us"] / 1e6)
    teams = {w: (t, n) for w, t, n in con.execute(
        """SELECT ow.ward_code, string_agg(DISTINCT o.team, ', ' ORDER BY o.team),
                  count(DISTINCT o.officer_id)
           FROM officer_wards ow JOIN officers o USING (officer_id) GROUP BY 1""").fetchall()}
    insert_columns(con, "coverage_wards", run_id, {
        "ward_code": pa.array(wards, pa.string()),
        "teams": pa.array([teams.get(w, (None, 0))[0] for w in wards], pa.string()),
        "officers": pa.array([teams.get(w, (None, 0))[1] for w in wards], pa.int32()),
        "peak_source": pa.array([plan.source[w] for w in wards], pa.string()),
        "windows": pa.array(np.diff(ww.ptr).astype(np.int32)),
        "empty_windows": pa.array(np.bincount(ward_of, empty, n_w).astype(np.int32)),
        "peak_s": peak_w / 1e6, "covered_s": cov_w / 1e6,
        "coverage": pa.array(np.divide(cov_w, peak_w, out=np.zeros(n_w), where=peak_w > 0),
                             mask=peak_w == 0),
        "longest_uncovered_s": longest,
    })
    _team_coverage(con, span, ww, iv, covered, run_id)
    return {"windows": n_win, "on_patch_intervals": len(iv["start_us"]),
            "peak_s": float(length.sum()) / 1e6, "covered_s": float(covered.sum()) / 1e6}


def _team_coverage(con, span: Span, ww: WardWindows, iv: dict, ward_covered: np.ndarray,
                   run_id: int) -> None:
    """Coverage by each team's own officers over the wards it serves (``ward_covered``: the
    covered time of each ward window, by any team)."""
    pairs = con.execute(
        """SELECT DISTINCT o.team, ow.ward_code FROM officer_wards ow JOIN officers o
           USING (officer_id) ORDER BY 1, 2""").fetchall()
    pos = {w: i for i, w in enumerate(ww.wards)}
    pairs = [(t, w) for t, w in pairs if w in pos]
    if not pairs:
        return
    team_pos = {t: i for i, t in enumerate(iv["teams"])}
    pair_ward = np.array([pos[w] for _, w in pairs], np.int64)
    w_ptr, w_idx = subset_windows(ww, pair_ward)
    ws, we = ww.start_us[w_idx], ww.end_us[w_idx]
    pair_of = np.full((len(iv["teams"]), len(ww.wards)), -1, np.int64)
    pair_of[[team_pos[t] for t, _ in pairs], pair_ward] = np.arange(len(pairs))
    group = pair_of[iv["team"], iv["ward"]]
    if len(np.unique(pair_ward)) == len(pairs) and np.all(group >= 0):
        covered = ward_covered[w_idx]  # one team per ward: its coverage is the ward's
    else:
        mine = group >= 0  # on patch in one of the officer's wards, as rostered now
        union = sorted_union(group[mine], iv["start_us"][mine], iv["end_us"][mine], len(pairs),
                             span)
        pieces = clip_to_windows(union["group"], union["start_us"], union["end_us"], w_ptr, ws, we)
        covered = np.bincount(pieces["window"], pieces["end_us"] - pieces["start_us"], len(ws))
    pair_of_win = np.repeat(np.arange(len(pairs)), np.diff(w_ptr))
    team_names = sorted({t for t, _ in pairs})
    team_of_pair = np.array([team_names.index(t) for t, _ in pairs], np.int64)
    team_of_win = team_of_pair[pair_of_win]
    n_t = len(team_names)
    peak = np.bincount(team_of_win, we - ws, n_t)
    cov = np.bincount(team_of_win, covered, n_t)
    insert_columns(con, "coverage_teams", run_id, {
        "team": pa.array(team_names, pa.string()),
        "wards": pa.array(np.bincount(team_of_pair, minlength=n_t).astype(np.int32)),
        "windows": pa.array(np.bincount(team_of_win, minlength=n_t).astype(np.int32)),
        "empty_windows": pa.array(np.bincount(team_of_win, (covered == 0) & (we > ws),
                                              n_t).astype(np.int32)),
        "peak_s": peak / 1e6, "covered_s": cov / 1e6,
        "coverage": pa.array(np.divide(cov, peak, out=np.zeros(n_t), where=peak > 0),
                             mask=peak == 0),
    })
