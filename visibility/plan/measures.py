"""The measures a plan is judged on, computed from an analysed store (scenario or real).

All of them come from the analysis results (``shift_results`` and
``track_runs``, from which each fix's owned interval follows), so a simulated week and a
real one are measured the same way:

- **visible share**: on-patch time / rostered duty time of the shifts that
  start in the week (abstracted shifts included, as in the summary);
- **officer-hours**: rostered duty hours (and how many were abstracted);
- **peak coverage**, per peak window: the share of the window's time, over
  the wards in scope, in which at least one officer was on patch in that ward
  (the union of the on-patch fixes' owned intervals, per ward); a peak that
  names its wards is measured on those only;
- **hotspot visits**: a visit is a spell of continuous visible presence at a
  hotspot (fixes inside it, on foot or cycle and outside stations: on or off
  the officer's own patch), the union over officers, of at least
  ``VISIT_MIN`` minutes (shorter is passing by); an *effective* visit lasts
  at least ``EFFECTIVE_VISIT_MIN`` minutes (the Koper curve: 10-15 minutes
  deters longest), and *dosage* is the time with someone there;
- **longest unvisited gap**: per hotspot, the longest time in the week
  between visits; the worst hotspot is reported.

:func:`peak_coverage` is the hook for ``visibility.coverage``: when that module
offers a presence-coverage function for given windows, use it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from ..analyse import run_fixes_sql
from ..store import Store
from .pattern import Peak

EFFECTIVE_VISIT_MIN = 10.0
#: Shorter spells at a hotspot are passing by, not visits.
VISIT_MIN = 2.0
KOPER_MAX_MIN = 15.0
US = 1_000_000
ON_PATCH, OFF_PATCH = 3, 4


def week_bounds(monday: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(monday, time(0), zone).astimezone(UTC)
    hi = datetime.combine(monday + timedelta(days=7), time(0), zone).astimezone(UTC)
    return lo, hi


def peak_intervals(peak: Peak, monday: date, tz: str) -> np.ndarray:
    """The peak's UTC intervals in the week, as (n, 2) epoch microseconds."""
    zone = ZoneInfo(tz)
    out = []
    for d in peak.days:
        day = monday + timedelta(days=d)
        # wall-clock times on the local calendar, so a clock change is honoured
        a = _local(day, peak.window[0], zone)
        b = _local(day, peak.window[1], zone)
        out.append((int(a.timestamp() * US), int(b.timestamp() * US)))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    d = day + timedelta(days=minutes // 1440)
    m = minutes % 1440
    return datetime.combine(d, time(m // 60, m % 60), zone)


def merge(intervals: np.ndarray) -> np.ndarray:
    """The union of (n, 2) intervals as sorted, disjoint (m, 2) intervals (touching ones join)."""
    if len(intervals) == 0:
        return np.empty((0, 2), dtype=np.int64)
    iv = intervals[np.argsort(intervals[:, 0], kind="stable")]
    ends = np.maximum.accumulate(iv[:, 1])
    new = np.concatenate([[True], iv[1:, 0] > ends[:-1]])
    starts = iv[new, 0]
    idx = np.flatnonzero(new)
    stops = ends[np.concatenate([idx[1:] - 1, [len(iv) - 1]])]
    return np.column_stack([starts, stops])


def overlap(a: np.ndarray, b: np.ndarray) -> int:
    """Total length of the intersection of two disjoint, sorted interval sets."""
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        lo = max(a[i, 0], b[j, 0])
        hi = min(a[i, 1], b[j, 1])
        if hi > lo:
            total += int(hi - lo)
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return total


@dataclass
class WeekData:
    """What the measures need from a store, read once."""

    lo_us: int
    hi_us: int
    shift_rows: list[tuple]  # shift_id, officer_id, kind, duration_us, on_patch_us, off, station, transit, none
    officer_wards: dict[str, list[str]]
    patch_ward: np.ndarray  # ward code of each on-patch run
    patch_iv: np.ndarray  # (n, 2) owned intervals of on-patch runs
    vis_lonlat: np.ndarray  # (m, 2) lon, lat of visible fixes (on or off patch)
    vis_iv: np.ndarray  # (m, 2) their owned intervals


def read_week(store: Store, monday: date, tz: str) -> WeekData:
    """Results of the shifts that start in the week (they must have been analysed)."""
    from ..errors import StoreError

    lo, hi = week_bounds(monday, tz)
    con = store.con
    shifts = con.execute(
        """SELECT r.shift_id, r.officer_id, r.kind, r.duration_us, r.on_patch_us, r.off_patch_us,
                  r.in_station_us, r.transit_us, r.no_signal_us
           FROM shift_results r WHERE r.shift_start >= ? AND r.shift_start < ?
           ORDER BY r.shift_id""", [lo, hi]).fetchall()
    if not shifts:
        raise StoreError(f"{store.path} holds no analysed shifts in the week of {monday}; "
                         "run: visibility analyse --week ...")
    ow: dict[str, list[str]] = {}
    for o, w in con.execute("SELECT officer_id, ward_code FROM officer_wards ORDER BY 1, 2").fetchall():
        ow.setdefault(o, []).append(w)
    patch = con.sql(
        """SELECT f.ward_code, epoch_us(f.own_from) AS a, epoch_us(f.own_to) AS b
           FROM track_runs f JOIN shift_results r USING (shift_id)
           WHERE f.state = $on AND r.shift_start >= $lo AND r.shift_start < $hi""",
        params={"on": ON_PATCH, "lo": lo, "hi": hi}).to_arrow_table()
    visible = con.sql(
        f"""SELECT lon, lat, own_from_us AS a, own_to_us AS b
            FROM ({run_fixes_sql(con, VISIBLE_RUNS)})""",
        params={"on": ON_PATCH, "off": OFF_PATCH, "lo": lo, "hi": hi}).to_arrow_table()
    return WeekData(
        lo_us=int(lo.timestamp() * US), hi_us=int(hi.timestamp() * US), shift_rows=shifts,
        officer_wards=ow,
        patch_ward=np.asarray(patch["ward_code"].to_pylist(), dtype=object),
        patch_iv=np.column_stack([patch["a"].to_numpy(), patch["b"].to_numpy()]).astype(np.int64),
        vis_lonlat=np.column_stack([visible["lon"].to_numpy(), visible["lat"].to_numpy()]),
        vis_iv=np.column_stack([visible["a"].to_numpy(), visible["b"].to_numpy()]).astype(np.int64),
    )


# Runs of visible fixes (on or off patch) of the shifts that start in the week.
VISIBLE_RUNS = """
    SELECT f.* FROM track_runs f JOIN shift_results r USING (shift_id)
    WHERE f.state IN ($on, $off) AND r.shift_start >= $lo AND r.shift_start < $hi"""


def shift_totals(data: WeekData, wards: list[str] | None = None) -> dict:
    """Visible share, breakdown and hours of the week's shifts (of officers of ``wards``)."""
    rows = data.shift_rows
    if wards is not None:
        keep = set(wards)
        rows = [r for r in rows if keep & set(data.officer_wards.get(r[1], ()))]
    a = np.array([r[3:9] for r in rows], dtype=np.float64).reshape(-1, 6)
    dur = a[:, 0].sum()
    share = (lambda k: float(a[:, k].sum() / dur) if dur else None)
    return {
        "shifts": len(rows),
        "officers": len({r[1] for r in rows}),
        "officer_hours": dur / US / 3600.0,
        "abstracted_hours": float(sum(r[3] for r in rows if r[2] == "abstracted")) / US / 3600.0,
        "visible_hours": a[:, 1].sum() / US / 3600.0,
        "visible_share": share(1),
        "off_patch_share": share(2),
        "in_station_share": share(3),
        "transit_share": share(4),
        "no_signal_share": share(5),
    }


def peak_coverage(data: WeekData, wards: list[str], peaks: list[Peak], monday: date,
                  tz: str) -> dict[str, dict]:
    """Per peak: overall coverage over ``wards`` and per ward (see the module docstring).

    Hook: ``visibility.coverage`` (being built alongside) may offer the same
    measure; when it does, this is the one place to call it from.
    """
    union = {w: merge(data.patch_iv[data.patch_ward == w]) for w in wards}
    out = {}
    for peak in peaks:
        win = merge(peak_intervals(peak, monday, tz))
        length = int((win[:, 1] - win[:, 0]).sum())
        scope = [w for w in wards if not peak.wards or w in peak.wards]
        per_ward = {w: (overlap(union[w], win) / length if length and w in scope else None)
                    for w in wards}
        vals = [v for v in per_ward.values() if v is not None]
        out[peak.name] = {"coverage": float(np.mean(vals)) if vals else None, "wards": per_ward,
                          "hours": length / US / 3600.0}
    return out


def hotspot_measures(data: WeekData, hotspots, peaks: list[Peak], monday: date, tz: str) -> dict:
    """Visits, effective visits, dosage and the longest gap, per hotspot and in total."""
    import shapely

    peak_win = merge(np.concatenate([peak_intervals(p, monday, tz) for p in peaks])) if peaks \
        else np.empty((0, 2), np.int64)
    per = {}
    for h in hotspots:
        geom = h.geom
        shapely.prepare(geom)
        minx, miny, maxx, maxy = geom.bounds
        ll = data.vis_lonlat
        box = (ll[:, 0] >= minx) & (ll[:, 0] <= maxx) & (ll[:, 1] >= miny) & (ll[:, 1] <= maxy)
        idx = np.flatnonzero(box)
        inside = idx[shapely.contains_xy(geom, ll[idx, 0], ll[idx, 1])]
        visits = merge(data.vis_iv[inside])
        visits = visits[(visits[:, 1] > data.lo_us) & (visits[:, 0] < data.hi_us)
                        & (visits[:, 1] - visits[:, 0] >= VISIT_MIN * 60 * US)]
        lengths = (visits[:, 1] - visits[:, 0]) / US / 60.0
        v = np.clip(visits, data.lo_us, data.hi_us)
        gaps = np.concatenate([v[:, 0], [data.hi_us]]) - np.concatenate([[data.lo_us], v[:, 1]])
        per[h.name] = {
            "visits": int(len(visits)),
            "effective_visits": int((lengths >= EFFECTIVE_VISIT_MIN).sum()),
            "koper_visits": int(((lengths >= EFFECTIVE_VISIT_MIN) & (lengths <= KOPER_MAX_MIN)).sum()),
            "dosage_hours": float(lengths.sum() / 60.0),
            "peak_dosage_hours": overlap(visits, peak_win) / US / 3600.0,
            "longest_gap_hours": float(gaps.max() / US / 3600.0),
            "median_visit_min": float(np.median(lengths)) if len(lengths) else None,
        }
    total = {
        "visits": sum(v["visits"] for v in per.values()),
        "effective_visits": sum(v["effective_visits"] for v in per.values()),
        "koper_visits": sum(v["koper_visits"] for v in per.values()),
        "dosage_hours": sum(v["dosage_hours"] for v in per.values()),
        "peak_dosage_hours": sum(v["peak_dosage_hours"] for v in per.values()),
        "longest_gap_hours": max((v["longest_gap_hours"] for v in per.values()), default=None),
    }
    return {"total": total, "hotspots": per}


def measure(store: Store, monday: date, wards: list[str], peaks: list[Peak], hotspots,
            tz: str = "Europe/London") -> dict:
    """Every measure of one analysed week, overall and per ward."""
    data = read_week(store, monday, tz)
    cov = peak_coverage(data, wards, peaks, monday, tz)
    spots = hotspot_measures(data, hotspots, peaks, monday, tz)
    per_ward = {}
    for w in wards:
        t = shift_totals(data, [w])
        per_ward[w] = {"visible_share": t["visible_share"], "officer_hours": t["officer_hours"],
                       "officers": t["officers"],
                       "coverage": {p: cov[p]["wards"][w] for p in cov}}
    return {
        **shift_totals(data),
        "coverage": {p: v["coverage"] for p, v in cov.items()},
        **{k: v for k, v in spots["total"].items()},
        "hotspots": spots["hotspots"],
        "wards": per_ward,
    }
