"""Peak windows: when the public most needs officers on patch.

A peak window is a weekly local-time window such as ``Fri-Sat 20:00-03:00``:
it starts on each named day at the first time and ends at the second, on the
next day when the end is not after the start (so it crosses midnight). The
policy lists them (``peak_windows``); an entry may start with a ward or
borough code and a colon (``E05000026: Mon-Fri 15:00-18:00``) to apply there
only, the most specific entries winning: a ward's own, else its borough's,
else the unprefixed ones.

With ``peak_source = "demand"`` the windows of an area (borough, or ward) are
derived from demand that has a time of day: the hours of the week that
together hold ``peak_demand_share`` of it, busiest first. An area with too
little timed demand keeps the configured windows, and the plan says so.

For a date range the weekly windows become UTC intervals, computed with the
time zone's rules: across the October clock change a ``Sat 20:00-03:00``
window lasts eight real hours. A window starts at the first occurrence of its
local start time and ends at the last occurrence of its end time; a time that
does not exist (in the hour skipped in March) moves forward to the first that
does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from .errors import PolicyError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_WORDS = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_DAY_WORDS.update({full: i for i, full in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})
_WINDOW = re.compile(
    r"^\s*(?:(?P<area>[A-Za-z0-9_.]+)\s*:\s*)?(?P<days>[A-Za-z][A-Za-z ,\-]*?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
US_PER_MIN = 60_000_000


@dataclass(frozen=True)
class WeeklyWindow:
    """A weekly local-time window; ``end_min <= start_min`` means it ends the next day."""

    days: tuple[int, ...]  # 0 = Monday
    start_min: int
    end_min: int
    area: str | None = None
    text: str = ""

    @property
    def minutes(self) -> int:
        """Length of one occurrence in wall-clock minutes."""
        return self.end_min - self.start_min + (1440 if self.end_min <= self.start_min else 0)


def _clock(text: str, whole: str, end: bool) -> int:
    hh, mm = (int(x) for x in text.split(":"))
    if mm > 59 or hh > 24 or (hh == 24 and (mm or not end)):
        raise PolicyError(f"peak window {whole!r}: {text} is not a time of day (00:00-23:59"
                          f"{', or 24:00 as an end' if end else ''})")
    return hh * 60 + mm


def _days(text: str, whole: str) -> tuple[int, ...]:
    spec = text.strip().lower()
    if spec in ("daily", "every day", "all"):
        return tuple(range(7))
    days: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        ends = [e.strip() for e in part.split("-")]
        if len(ends) > 2 or not all(e in _DAY_WORDS for e in ends):
            raise PolicyError(f"peak window {whole!r}: {part!r} is not a day or range of days "
                              "(Mon, Fri-Sat, Mon,Wed,Fri, daily)")
        first, last = _DAY_WORDS[ends[0]], _DAY_WORDS[ends[-1]]
        days += [(first + k) % 7 for k in range((last - first) % 7 + 1)]
    return tuple(sorted(set(days)))


def parse_window(text: str) -> WeeklyWindow:
    """Read ``[AREA:] DAYS HH:MM-HH:MM``; raises :class:`PolicyError` saying what is wrong."""
    m = _WINDOW.match(text or "")
    if not m:
        raise PolicyError(f"peak window {text!r}: write it like 'Fri-Sat 20:00-03:00' "
                          "(optionally 'E05000026: Mon-Fri 15:00-18:00')")
    start = _clock(m["start"], text, end=False)
    end = _clock(m["end"], text, end=True)
    if start == end:
        raise PolicyError(f"peak window {text!r}: starts and ends at the same time; "
                          "write 00:00-24:00 for a whole day")
    return WeeklyWindow(_days(m["days"], text), start, end, m["area"], text.strip())


def hour_window(dow: int, hour: int) -> WeeklyWindow:
    """One hour of the week as a window (``dow`` 0 = Monday)."""
    return WeeklyWindow((dow,), hour * 60, (hour + 1) * 60, None,
                        f"{DAY_NAMES[dow]} {hour:02d}:00-{hour + 1:02d}:00")


# -- which windows apply where ----------------------------------------------------------------
@dataclass
class PeakPlan:
    """The weekly windows of each ward, where they came from, and notes for the reader."""

    wards: list[str]
    windows: dict[str, tuple[WeeklyWindow, ...]]
    source: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [{"ward_code": w, "source": self.source[w],
                 "windows": "; ".join(_describe(self.windows[w]))} for w in self.wards]


def _describe(windows) -> list[str]:
    """Readable weekly windows, joining an area's consecutive demand hours into runs."""
    if not windows:
        return ["none"]
    if not all(w.minutes == 60 and w.start_min % 60 == 0 and w.area is None and
               len(w.days) == 1 for w in windows):
        return [w.text for w in windows]
    hours = sorted(w.days[0] * 24 + w.start_min // 60 for w in windows)
    runs: list[list[int]] = []
    for h in hours:
        if runs and h == runs[-1][1]:
            runs[-1][1] = h + 1
        else:
            runs.append([h, h + 1])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == 168:
        runs[0][0] = runs.pop()[0] - 168
    out = []
    for a, b in runs:
        day, end_day = DAY_NAMES[(a // 24) % 7], DAY_NAMES[((b - 1) // 24) % 7]
        end = f"{(b - 1) % 24 + 1:02d}:00" if b - a <= 24 else f"{end_day} {(b - 1) % 24 + 1:02d}:00"
        out.append(f"{day} {a % 24:02d}:00-{end}")
    return out


def configured(policy) -> list[WeeklyWindow]:
    return [parse_window(t) for t in policy.peak_windows]


def plan_peaks(con, policy) -> PeakPlan:
    """The weekly windows of every loaded ward under ``policy`` (configured, or from demand)."""
    wards = con.execute("SELECT ward_code, borough_code FROM wards ORDER BY ward_code").fetchall()
    entries = configured(policy)
    plan = PeakPlan([w for w, _ in wards], {}, {})
    known = {w for w, _ in wards} | {b for _, b in wards}
    for area in sorted({e.area for e in entries if e.area} - known):
        plan.notes.append(f"peak windows for {area} name no loaded ward or borough")
    for ward, borough in wards:
        for area, label in ((ward, f"policy ({ward})"), (borough, f"policy ({borough})"),
                            (None, "policy")):
            chosen = tuple(e for e in entries if e.area == area)
            if chosen or area is None:
                plan.windows[ward] = chosen
                plan.source[ward] = label
                break
    if policy.peak_source == "demand":
        _apply_demand(con, policy, plan, dict(wards))
    return plan


def _apply_demand(con, policy, plan: PeakPlan, borough_of: dict[str, str]) -> None:
    if not _has_table(con, "demand") or not con.execute("SELECT count(*) FROM demand").fetchall()[0][0]:
        plan.notes.append("peak_source is demand but no demand is loaded (visibility demand load); "
                          "peak windows come from the policy")
        return
    scope = "borough_code" if policy.peak_demand_scope == "borough" else "ward_code"
    rows = con.execute(
        f"""SELECT w.{scope} AS area, isodow(timezone($tz, d.ts)) - 1 AS dow,
                   hour(timezone($tz, d.ts)) AS hour, count(*) AS n
            FROM demand d JOIN wards w USING (ward_code)
            WHERE d.precision = 'time' GROUP BY ALL""", {"tz": policy.timezone}).fetchall()
    if not rows:
        plan.notes.append("the loaded demand has no time of day (data.police.uk crime data gives "
                          "the month only): peak windows come from the policy")
        return
    counts: dict[str, np.ndarray] = {}
    for area, dow, hour, n in rows:
        counts.setdefault(area, np.zeros(168, np.int64))[dow * 24 + hour] = n
    derived: dict[str, tuple[tuple[WeeklyWindow, ...], str]] = {}
    for area, c in counts.items():
        total = int(c.sum())
        if total < policy.peak_demand_min:
            continue
        order = np.lexsort((np.arange(168), -c))  # busiest first, then earliest in the week
        before = np.concatenate([[0], np.cumsum(c[order])[:-1]])
        chosen = np.sort(order[(before < policy.peak_demand_share * total) & (c[order] > 0)])
        share = c[chosen].sum() / total
        windows = tuple(hour_window(int(h) // 24, int(h) % 24) for h in chosen)
        derived[area] = (windows, f"demand ({area}: {len(chosen)} hours of the week hold "
                                  f"{share:.0%} of {total} timed incidents)")
    thin = sorted(set(counts) - set(derived))
    if thin:
        plan.notes.append(f"{len(thin)} area(s) have fewer than {policy.peak_demand_min} timed "
                          f"incidents (e.g. {thin[0]}): their peak windows come from the policy")
    for ward in plan.wards:
        area = borough_of[ward] if scope == "borough_code" else ward
        if area in derived:
            plan.windows[ward], plan.source[ward] = derived[area]


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                            [name]).fetchall()[0][0])


# -- weekly windows to UTC intervals ------------------------------------------------------------
def window_instances(windows, first: date, last: date, tz: str, lo_us: int, hi_us: int):
    """UTC ``(start_us, end_us)`` of every occurrence of ``windows`` in local days
    ``first..last``, clipped to ``[lo_us, hi_us)``, sorted and merged where they overlap."""
    import pandas as pd

    from .kernels import merge_intervals

    days = pd.date_range(first - timedelta(days=1), last, freq="D")
    starts, ends = [], []
    for w in windows:
        on = days[np.isin(days.day_of_week, w.days)]
        starts.append(on + pd.to_timedelta(w.start_min, unit="min"))
        ends.append(on + pd.to_timedelta(w.start_min + w.minutes, unit="min"))
    if not starts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    s = pd.DatetimeIndex(np.concatenate([x.values for x in starts]))
    e = pd.DatetimeIndex(np.concatenate([x.values for x in ends]))
    s_us = _utc_us(s.tz_localize(tz, ambiguous=np.ones(len(s), bool), nonexistent="shift_forward"))
    e_us = _utc_us(e.tz_localize(tz, ambiguous=np.zeros(len(e), bool), nonexistent="shift_forward"))
    s_us, e_us = np.maximum(s_us, lo_us), np.minimum(e_us, hi_us)
    keep = e_us > s_us
    s_us, e_us = s_us[keep], e_us[keep]
    order = np.argsort(s_us, kind="stable")
    merged = merge_intervals(np.zeros(len(order), np.int64), s_us[order], e_us[order], 0)
    return merged["start_us"], merged["end_us"]


def _utc_us(index) -> np.ndarray:
    return index.tz_convert("UTC").tz_localize(None).values.astype("datetime64[us]").astype(np.int64)


@dataclass
class WardWindows:
    """Window occurrences of every ward in CSR form: ward ``i`` has ``ptr[i]:ptr[i+1]``."""

    wards: list[str]
    ptr: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray

    @property
    def ward_of(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.wards)), np.diff(self.ptr))


def ward_windows(plan: PeakPlan, first: date, last: date, tz: str, lo_us: int,
                 hi_us: int) -> WardWindows:
    """Every ward's window occurrences in the range (computed once per distinct set)."""
    cache: dict = {}
    starts, ends, counts = [], [], []
    for ward in plan.wards:
        key = plan.windows[ward]
        if key not in cache:
            cache[key] = window_instances(key, first, last, tz, lo_us, hi_us)
        s, e = cache[key]
        starts.append(s)
        ends.append(e)
        counts.append(len(s))
    ptr = np.zeros(len(plan.wards) + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return WardWindows(list(plan.wards), ptr, _cat(starts), _cat(ends))


def _cat(arrays) -> np.ndarray:
    return np.concatenate(arrays).astype(np.int64) if arrays else np.empty(0, np.int64)


def local_labels(start_us: np.ndarray, end_us: np.ndarray, tz: str) -> list[str]:
    """``Fri 20 Nov 20:00-03:00``: each interval in local time (with the end's day when it
    lasts more than a day)."""
    import pandas as pd

    s = pd.to_datetime(start_us, unit="us", utc=True).tz_convert(tz)
    e = pd.to_datetime(end_us, unit="us", utc=True).tz_convert(tz)
    long = (np.asarray(end_us) - np.asarray(start_us)) > 24 * 3600 * 1_000_000
    return [f"{a}-{c if x else b}" for a, b, c, x in zip(
        s.strftime("%a %d %b %H:%M"), e.strftime("%H:%M"), e.strftime("%a %d %b %H:%M"), long)]
