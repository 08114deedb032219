"""Hotspot dosage and visits.

An officer is *in* a hotspot while on patch with a fix inside it: the fix's H3
cell lies in a cell hotspot, or the fix's position lies in a circle or polygon
hotspot (tested exactly; the cells only pre-select the fixes to test). The
time each such fix owns is the officer's presence there.

- **Dosage**: officer time in the hotspot during its ward's peak windows; two
  officers there together give twice the dosage (officer-minutes). Summed over
  the cells of a cell hotspot it equals the analysis's ``presence`` for those
  cells and hours.
- **Visits**: one officer's continuous presence, exits (or silences) of up to
  ``visit_bridge_s`` bridged. A visit lasts from its first to its last moment
  in the hotspot; its ``present_s`` leaves the bridged exits out. By length:
  pass-by (under ``visit_short_min``), short, effective (``visit_effective_min``
  to ``visit_effective_max_min``: the Koper curve's 10-15 minutes) or long.
- **Revisits**: in each peak window, the longest stretch with no visit other
  than a pass-by, officers together; a window whose longest stretch exceeds
  ``hotspot_revisit_min`` is missed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .analyse import run_fixes_sql
from .coverage import Span, group_order, insert_columns, subset_windows, us_to_ts
from .errors import StoreError
from .hotspots import hotspot_cells, inside_hotspot
from .kernels import clip_to_windows, group_ptr, merge_intervals, window_gaps
from .peaks import WardWindows

CLASSES = ("pass_by", "short", "effective", "long")


def hotspot_presence(store, span: Span):
    """Each on-patch interval inside a hotspot: hotspot index, officer, start, end (sorted).

    Runs in a cell that lies wholly inside its hotspot count whole; a run in a cell the
    hotspot's edge crosses is taken fix by fix, each fix's position tested exactly."""
    hotspots, cells, owner, certain = hotspot_cells(store)
    con = store.con
    officers = np.array([r[0] for r in con.execute(
        "SELECT DISTINCT officer_id FROM track_runs JOIN shifts USING (shift_id) ORDER BY 1"
    ).fetchall()], dtype=object)
    con.register("_hot_cells", pa.table({"cell": cells, "h": owner, "certain": certain}))
    con.register("_hot_officers", pa.table({"officer_id": pa.array(officers, pa.string()),
                                            "o": np.arange(len(officers), dtype=np.int64)}))
    runs = """SELECT f.*, h.h, h.certain FROM track_runs f JOIN _hot_cells h USING (cell)
              WHERE f.state = 3 AND f.own_to > $lo AND f.own_from < $hi"""
    try:
        whole = con.sql(
            f"""SELECT r.h, o.o, epoch_us(greatest(r.own_from, $lo)) AS s,
                       epoch_us(least(r.own_to, $hi)) AS e
                FROM ({runs}) r JOIN shifts USING (shift_id) JOIN _hot_officers o USING (officer_id)
                WHERE r.certain""",
            params={"lo": span.lo, "hi": span.hi}).to_arrow_table()
        edge = con.sql(
            f"""SELECT x.h, o.o, x.lat, x.lon, greatest(x.own_from_us, epoch_us($lo)) AS s,
                       least(x.own_to_us, epoch_us($hi)) AS e
                FROM ({run_fixes_sql(con, runs + " AND NOT h.certain", ("h",))}) x
                JOIN _hot_officers o USING (officer_id)
                WHERE x.own_to_us > epoch_us($lo) AND x.own_from_us < epoch_us($hi)""",
            params={"lo": span.lo, "hi": span.hi}).to_arrow_table()
    finally:
        con.unregister("_hot_cells")
        con.unregister("_hot_officers")
    keep = np.zeros(edge.num_rows, bool)
    h_edge = edge["h"].to_numpy()
    lat, lon = edge["lat"].to_numpy(), edge["lon"].to_numpy()
    for k in np.unique(h_edge):
        sel = h_edge == k
        keep[sel] = inside_hotspot(hotspots[k], lat[sel], lon[sel])
    edge = edge.filter(pa.array(keep))
    h, officer, s, e = (np.concatenate([whole[c].to_numpy(), edge[c].to_numpy()]).astype(np.int64)
                        for c in ("h", "o", "s", "e"))
    order = group_order(h * max(len(officers), 1) + officer, s,
                        len(hotspots) * max(len(officers), 1), span.lo_us, span.hi_us)
    return hotspots, officers, h[order], officer[order], s[order], e[order]


def classify(duration_us: np.ndarray, policy) -> np.ndarray:
    """Index into :data:`CLASSES` of each visit length."""
    minutes = duration_us / 60e6
    return np.select([minutes < policy.visit_short_min, minutes < policy.visit_effective_min,
                      minutes <= policy.visit_effective_max_min], [0, 1, 2], 3)


def measure_dosage(store, span: Span, ww: WardWindows, policy, run_id: int) -> dict:
    """Write hotspot_dosage, hotspot_visits and hotspot_windows; return totals."""
    con = store.con
    hotspots, officers, h, officer, s, e = hotspot_presence(store, span)
    n_h, n_o = len(hotspots), max(len(officers), 1)
    if not n_h:
        return {"hotspots": 0}
    pos = {w: i for i, w in enumerate(ww.wards)}
    lost = [row for row in hotspots if row[1] not in pos]
    if lost:
        raise StoreError(f"hotspot {lost[0][0]} belongs to ward {lost[0][1]}, which is no longer "
                         "loaded; load or derive the hotspots again")
    hot_ward = np.array([pos[row[1]] for row in hotspots], np.int64)
    w_ptr, w_idx = subset_windows(ww, hot_ward)
    ws, we = ww.start_us[w_idx], ww.end_us[w_idx]
    hot_of_win = np.repeat(np.arange(n_h), np.diff(w_ptr))

    # dosage: each officer's time in the hotspot within its peak windows
    pieces = clip_to_windows(h, s, e, w_ptr, ws, we)
    piece_us = pieces["end_us"] - pieces["start_us"]
    dose_win = np.bincount(pieces["window"], piece_us, len(ws))
    dose = np.bincount(hot_of_win, dose_win, n_h)
    officer_s = np.bincount(h, e - s, n_h) / 1e6

    # visits: per hotspot and officer, short exits bridged
    v = merge_intervals(h * n_o + officer, s, e, int(round(policy.visit_bridge_s * 1e6)))
    v_hot, v_off = v["group"] // n_o, v["group"] % n_o
    v_len = v["end_us"] - v["start_us"]
    v_class = classify(v_len, policy)
    vp = clip_to_windows(v_hot, v["start_us"], v["end_us"], w_ptr, ws, we)
    v_peak = np.bincount(vp["item"], vp["end_us"] - vp["start_us"], len(v_len))
    insert_columns(con, "hotspot_visits", run_id, {
        "hotspot_id": pa.array([hotspots[k][0] for k in v_hot], pa.int32()),
        "officer_id": pa.array(officers[v_off], pa.string()),
        "start_ts": us_to_ts(v["start_us"]), "end_ts": us_to_ts(v["end_us"]),
        "duration_s": v_len / 1e6, "present_s": v["present_us"] / 1e6,
        "visit_class": pa.array(np.array(CLASSES, dtype=object)[v_class], pa.string()),
        "peak_s": v_peak / 1e6,
    })

    # revisits: the longest stretch of each window with no visit (pass-bys do not count)
    real = v_class > 0
    order = group_order(v_hot[real], v["start_us"][real], n_h, span.lo_us, span.hi_us)
    any_visit = merge_intervals(v_hot[real][order], v["start_us"][real][order],
                                v["end_us"][real][order], 0)
    gaps = window_gaps(w_ptr, ws, we, group_ptr(any_visit["group"], n_h),
                       any_visit["start_us"], any_visit["end_us"])
    visits_win = np.bincount(vp["window"][real[vp["item"]]], minlength=len(ws))
    missed = gaps["longest_us"] > policy.hotspot_revisit_min * 60e6
    insert_columns(con, "hotspot_windows", run_id, {
        "hotspot_id": pa.array([hotspots[k][0] for k in hot_of_win], pa.int32()),
        "window_start": us_to_ts(ws), "window_end": us_to_ts(we),
        "dosage_s": dose_win / 1e6, "visits": pa.array(visits_win.astype(np.int32)),
        "longest_gap_s": gaps["longest_us"] / 1e6, "gap_start": us_to_ts(gaps["gap_start_us"]),
        "revisit_met": pa.array(~missed),
    })

    in_peak = v_peak > 0
    counts = np.zeros((n_h, len(CLASSES)), np.int64)
    np.add.at(counts, (v_hot[in_peak], v_class[in_peak]), 1)
    longest = np.zeros(n_h)
    np.maximum.at(longest, hot_of_win, gaps["longest_us"] / 1e6)
    insert_columns(con, "hotspot_dosage", run_id, {
        "hotspot_id": pa.array([row[0] for row in hotspots], pa.int32()),
        "ward_code": pa.array([row[1] for row in hotspots], pa.string()),
        "peak_s": np.bincount(hot_of_win, we - ws, n_h) / 1e6,
        "dosage_s": dose / 1e6, "officer_s": officer_s,
        "visits": pa.array(counts.sum(axis=1).astype(np.int32)),
        "pass_bys": pa.array(counts[:, 0].astype(np.int32)),
        "short_visits": pa.array(counts[:, 1].astype(np.int32)),
        "effective_visits": pa.array(counts[:, 2].astype(np.int32)),
        "long_visits": pa.array(counts[:, 3].astype(np.int32)),
        "windows": pa.array(np.diff(w_ptr).astype(np.int32)),
        "windows_missed": pa.array(np.bincount(hot_of_win, missed, n_h).astype(np.int32)),
        "longest_gap_s": longest,
    })
    return {"hotspots": n_h, "visits": len(v_len), "dosage_s": float(dose.sum()) / 1e6}
