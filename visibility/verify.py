"""Verify a visibility claim against the raw tracks: value, interval, sensitivity, evidence.

A claim names a scope (borough, ward, team, officer or hotspot), a period, a
measure, a claimed value and a comparison. The tracks of every officer-shift in
scope are passed through the kernels once per policy setting tried, in memory;
the store's own results are not changed. Everything is seeded, and the JSON
holds no clock time, so the same command on the same store gives the same bytes.

Three measures: ``visible_share`` (on-patch share of duty time),
``peak_coverage`` (a ward's peak-window time with one of its officers on patch)
and ``hotspot_visits`` ("hotspot Y had a visit of at least M minutes at least
every N minutes": the share of the claimed time during which that promise was
being kept, with the gaps between qualifying visits; see docs/verify.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from . import __version__
from .analyse import Fixes, Scope, locate, open_scope, stream_fixes, track
from .errors import StoreError, VisibilityError
from .kernels.track import NO_SIGNAL, ON_PATCH, thin_mask
from .locate import NO_WARD, StationIndex
from .policy import Policy
from .store import STATES, Store

SCOPES = ("borough", "ward", "team", "officer", "all", "hotspot")
COMPARISONS = ("at_least", "at_most")
MEASURES = ("visible_share", "peak_coverage", "hotspot_visits")
#: A hotspot_visits claim given this as its only window covers the scope officers' duty hours.
DUTY = "duty"
#: Longest visit length or interval a hotspot claim may name, minutes (a year).
MAX_CLAIM_MIN = 366 * 24 * 60
#: Data-quality limits beyond which a claim cannot be judged (inconclusive).
MAX_NO_SIGNAL_SHARE = 0.25
MAX_EMPTY_SHIFT_SHARE = 0.20
#: Fewer resampling units than this (officer-shifts, or peak windows) cannot carry an interval.
MIN_UNITS = 5
#: Policy settings tried for sensitivity: each one varied alone from the base policy.
SENSITIVITY = (
    ("max_gap_s", (60.0, 180.0, 300.0)),
    ("transit_speed_kmh", (15.0, 35.0)),
    ("station_radius_m", (25.0, 100.0)),
    ("accuracy_limit_m", (50.0, 200.0)),
)
#: Coarser fix rates tried, seconds between fixes.
THINNING_S = (30.0, 60.0, 300.0)
#: Tried as well for hotspot_visits claims: no bridging of exits at all, and a generous one.
HOTSPOT_SENSITIVITY = (("visit_bridge_s", (0.0, 180.0)),)


class ClaimError(VisibilityError):
    """Raised when a claim file or claim options are incomplete or invalid."""


@dataclass(frozen=True)
class Claim:
    """What is claimed: "<scope> was <measure> <comparison> <claimed> from <from> to <to>"."""

    scope: str
    scope_id: str | None
    date_from: date
    date_to: date
    claimed: float
    comparison: str = "at_least"
    measure: str = "visible_share"
    text: str = ""
    #: For peak_coverage: local weekly windows such as "Fri-Sat 18:00-23:00" (default: the policy's).
    #: For hotspot_visits: the same, or ("duty",) for duty hours (default: the whole period).
    windows: tuple[str, ...] = ()
    #: For hotspot_visits: the shortest visit that counts, minutes.
    visit_min: float | None = None
    #: For hotspot_visits: the longest claimed stretch between qualifying visits, minutes.
    every_min: float | None = None

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ClaimError(f"claim scope {self.scope!r} must be one of {', '.join(SCOPES)}")
        if self.scope != "all" and not self.scope_id:
            raise ClaimError(f"claim scope {self.scope} needs an id (scope_id)")
        if self.comparison not in COMPARISONS:
            raise ClaimError(f"claim comparison {self.comparison!r} must be one of {', '.join(COMPARISONS)}")
        if self.measure not in MEASURES:
            raise ClaimError(f"claim measure {self.measure!r} must be one of {', '.join(MEASURES)}")
        if self.measure == "peak_coverage" and self.scope != "ward":
            raise ClaimError("a peak_coverage claim is about one ward: give scope = \"ward\"")
        self._check_hotspot()
        for text in self.windows:
            from .peaks import parse_window

            if text == DUTY:
                continue
            try:
                parse_window(text)
            except VisibilityError as exc:
                raise ClaimError(f"claim window {text!r}: {exc}") from None
        if not 0 <= self.claimed <= 1:
            raise ClaimError(f"claimed value {self.claimed!r} must be a share between 0 and 1")
        if self.date_to < self.date_from:
            raise ClaimError(f"claim period ends ({self.date_to}) before it starts ({self.date_from})")

    def _check_hotspot(self) -> None:
        hot = self.measure == "hotspot_visits"
        if hot != (self.scope == "hotspot"):
            raise ClaimError("a hotspot_visits claim is about one hotspot: give scope = \"hotspot\" "
                             "and measure = \"hotspot_visits\" together")
        if not hot:
            if self.visit_min is not None or self.every_min is not None:
                raise ClaimError("visit_min and every_min belong to hotspot_visits claims only")
            if DUTY in self.windows:
                raise ClaimError(f"window {DUTY!r} belongs to hotspot_visits claims only")
            return
        if not str(self.scope_id).strip().isdigit():
            raise ClaimError(f"hotspot id {self.scope_id!r} is not a number "
                             "(see: visibility hotspots list)")
        for name, meaning in (("visit_min", "the shortest visit that counts, in minutes"),
                              ("every_min", "the longest stretch between visits, in minutes")):
            value = getattr(self, name)
            if value is None:
                raise ClaimError(f"a hotspot_visits claim needs {name} ({meaning})")
            if not (isinstance(value, (int, float)) and math.isfinite(value)
                    and 0 < value <= MAX_CLAIM_MIN):
                raise ClaimError(f"claim {name} {value!r} must be a positive number of minutes "
                                 "(at most a year)")
        if DUTY in self.windows and len(self.windows) > 1:
            raise ClaimError(f"window {DUTY!r} stands alone: the duty hours, or weekly windows")

    @property
    def every_time(self) -> bool:
        """A hotspot_visits claim that the promise held throughout (not for a share of the time)."""
        return self.measure == "hotspot_visits" and self.comparison == "at_least" and self.claimed >= 1

    def to_dict(self) -> dict:
        """The claim's fields; those of hotspot claims only are left out of other claims."""
        fields = asdict(self)
        if self.measure != "hotspot_visits":
            del fields["visit_min"], fields["every_min"]
        return fields

    @classmethod
    def load(cls, path: str | Path) -> "Claim":
        """Read a TOML claim file (see docs/verify.md)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ClaimError(f"claim file {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ClaimError(f"claim file {path}: cannot read ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ClaimError(f"claim file {path}: not valid TOML ({exc})") from None
        data = data.get("claim", data)
        known = {"text", "scope", "scope_id", "from", "to", "week", "claimed", "comparison", "measure",
                 "windows", "visit_min", "every_min"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ClaimError(f"claim file {path}: unknown key {unknown[0]!r}")
        if "scope" not in data:
            raise ClaimError(f"claim file {path}: missing key 'scope'")
        hot = data["scope"] == "hotspot"
        if "claimed" not in data and not hot:  # a hotspot claim is by default about every time
            raise ClaimError(f"claim file {path}: missing key 'claimed'")
        first, last = _period(data, path)
        number = {key: _number(data, key, path) for key in ("claimed", "visit_min", "every_min")}
        return cls(scope=str(data["scope"]), scope_id=_opt_str(data.get("scope_id")),
                   date_from=first, date_to=last,
                   claimed=1.0 if number["claimed"] is None else number["claimed"],
                   comparison=str(data.get("comparison", "at_least")),
                   measure=str(data.get("measure", "hotspot_visits" if hot else "visible_share")),
                   text=str(data.get("text", "")), windows=_windows(data.get("windows", ()), path),
                   visit_min=number["visit_min"], every_min=number["every_min"])

    def sentence(self) -> str:
        who = "all officers" if self.scope == "all" else f"{self.scope} {self.scope_id}"
        words = "at least" if self.comparison == "at_least" else "at most"
        if self.measure == "hotspot_visits":
            when = ("while its ward's officers were on duty" if self.windows == (DUTY,)
                    else "; ".join(self.windows) or "round the clock")
            share = "" if self.every_time else f", for {words} {self.claimed:.0%} of that time"
            return (f"{who} had a visit of at least {minutes_text(self.visit_min)} by an officer of "
                    f"its ward at least every {minutes_text(self.every_min)} ({when}){share}, "
                    f"{self.date_from} to {self.date_to}")
        if self.measure == "peak_coverage":
            when = "; ".join(self.windows) or "the policy's peak windows"
            return (f"{who} had an officer of its own visibly on patch for {words} "
                    f"{self.claimed:.0%} of peak-window time ({when}), {self.date_from} to {self.date_to}")
        return (f"{who} visibly on patch {words} {self.claimed:.0%} of duty time, "
                f"{self.date_from} to {self.date_to}")


def _windows(value, path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ClaimError(f"claim file {path}: windows must be a list of texts like \"Fri-Sat 18:00-23:00\"")
    return tuple(value)


def _opt_str(value) -> str | None:
    return None if value is None else str(value)


def _number(data: dict, key: str, path) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ClaimError(f"claim file {path}: {key} {value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise ClaimError(f"claim file {path}: {key} {value!r} is not a number") from None


def minutes_text(minutes: float) -> str:
    """``15 min``, ``2 h``, ``1 h 30 min``, ``7.5 min``."""
    hours, rest = divmod(round(minutes, 3), 60)
    rest = f"{rest:g} min" if rest else ""
    if not hours:
        return rest or "0 min"
    return f"{hours:.0f} h" + (f" {rest}" if rest else "")


def _period(data: dict, path) -> tuple[date, date]:
    if "week" in data:
        text = str(data["week"])
        try:
            year, week = text.upper().split("-W")
            monday = date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            raise ClaimError(f"claim file {path}: week {text!r} is not like 2026-W47") from None
        return monday, monday + timedelta(days=6)
    try:
        return _as_date(data["from"]), _as_date(data["to"])
    except KeyError as exc:
        raise ClaimError(f"claim file {path}: missing key {exc.args[0]!r} (or give week)") from None
    except ValueError as exc:
        raise ClaimError(f"claim file {path}: {exc}") from None


def _as_date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2026-11-16") from None


# -- the scope's officers ------------------------------------------------------------
def scope_officers(store: Store, claim: Claim) -> list[str]:
    con = store.con
    queries = {
        "borough": ("SELECT DISTINCT ow.officer_id FROM officer_wards ow JOIN wards w USING (ward_code) "
                    "WHERE w.borough_code = ?"),
        "ward": "SELECT DISTINCT officer_id FROM officer_wards WHERE ward_code = ?",
        "team": "SELECT officer_id FROM officers WHERE team = ?",
        "officer": "SELECT officer_id FROM officers WHERE officer_id = ?",
        "all": "SELECT officer_id FROM officers",
        "hotspot": ("SELECT DISTINCT ow.officer_id FROM officer_wards ow JOIN hotspots h "
                    "USING (ward_code) WHERE h.hotspot_id = ?"),
    }
    params = [] if claim.scope == "all" else [claim.scope_id]
    if claim.scope == "hotspot":
        params = [int(claim.scope_id)]
    officers = sorted(r[0] for r in con.execute(queries[claim.scope], params).fetchall())
    if not officers and claim.scope == "hotspot":
        raise ClaimError(f"no officer has the ward of hotspot {claim.scope_id} as a home ward")
    if not officers:
        raise ClaimError(f"no officers in {claim.scope} {claim.scope_id!r}")
    return officers


# -- one pass of the measure -----------------------------------------------------------
@dataclass
class _Pass:
    on_patch_us: np.ndarray   # per shift in scope
    duration_us: np.ndarray
    totals_us: np.ndarray     # shifts x 5
    # peak_coverage: per window, time with someone on patch, and the window's time;
    # hotspot_visits: per local day, claimed time with the promise kept, and the claimed time.
    covered_us: np.ndarray | None = None
    window_us: np.ndarray | None = None
    hotspot: dict | None = None  # hotspot_visits: what hotspot_compliance found

    @property
    def units(self) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per resampling unit: officer-shifts, peak windows or days."""
        if self.covered_us is not None:
            return self.covered_us, self.window_us
        return self.on_patch_us, self.duration_us

    @property
    def value(self) -> float:
        num, den = self.units
        return float(num.sum() / den.sum()) if den.sum() else 0.0


@dataclass
class _Windows:
    """A ward's peak windows in the period, and the ward of every fix."""

    ward_of_fix: np.ndarray
    ward: int
    start_us: np.ndarray
    end_us: np.ndarray


def _coverage(out: dict, ward_of_fix: np.ndarray, w: _Windows) -> np.ndarray:
    """Per window: the time at least one scope officer was on patch in the ward (counted once)."""
    from .kernels import clip_to_windows, merge_intervals

    sel = (out["state"] == ON_PATCH) & (ward_of_fix == w.ward)
    start, end = out["own_from_us"][sel], out["own_to_us"][sel]
    order = np.argsort(start, kind="stable")
    merged = merge_intervals(np.zeros(len(order), np.int64), start[order], end[order], 0)
    pieces = clip_to_windows(np.zeros(len(merged["start_us"]), np.int64), merged["start_us"],
                             merged["end_us"], np.array([0, len(w.start_us)]), w.start_us, w.end_us)
    return np.bincount(pieces["window"], weights=pieces["end_us"] - pieces["start_us"],
                       minlength=len(w.start_us)).astype(np.int64)


def _run(fixes: Fixes, scope: Scope, policy: Policy, in_station, on_patch, keep_mask=None,
         counted=None, windows: _Windows | None = None,
         hotspot: "_Hotspot | None" = None) -> tuple[_Pass, dict, np.ndarray]:
    ctx = scope.ctx
    ward_of_fix = None if windows is None else windows.ward_of_fix
    if keep_mask is not None:
        fixes, in_station, on_patch = fixes.take(keep_mask), in_station[keep_mask], on_patch[keep_mask]
        ward_of_fix = None if windows is None else ward_of_fix[keep_mask]
        hotspot = None if hotspot is None else hotspot.take(keep_mask)
    totals = np.zeros((scope.n_shifts, 5), np.int64)
    out, seg, pos = track(fixes, scope, policy, in_station, on_patch)
    totals[pos] = out["totals_us"]
    duration = ctx.end_us - ctx.start_us
    empty = np.ones(scope.n_shifts, bool)
    empty[pos] = False
    totals[empty, NO_SIGNAL] = duration[empty]
    if counted is not None:
        totals, duration = totals[counted], duration[counted]
    run = _Pass(totals[:, ON_PATCH], duration, totals)
    if windows is not None:
        run.covered_us = _coverage(out, ward_of_fix, windows)
        run.window_us = windows.end_us - windows.start_us
    if hotspot is not None:
        run.hotspot = hotspot.measure(out, policy)
        run.covered_us, run.window_us = run.hotspot["kept_day_us"], run.hotspot["claim_day_us"]
    return run, out, seg


def verify(store: Store, claim: Claim, policy: Policy | None = None, seed: int = 0,
           samples: int = 20, boot: int = 2000, command: str | None = None,
           key: bytes | None = None) -> dict:
    """Measure the claim's value with its evidence; return a JSON-ready dict."""
    from .pseudonym import pseudonym

    policy = policy or Policy()
    key = key if key is not None else b""
    hot_row = _hotspot_row(store, claim) if claim.measure == "hotspot_visits" else None
    officers = scope_officers(store, claim)
    scope = open_scope(store, policy, claim.date_from, claim.date_to, officers)
    ctx = scope.ctx
    counted = np.array([policy.include_abstracted or k == "neighbourhood" for k in ctx.kind])
    if not counted.any():
        raise StoreError("no neighbourhood shifts in scope (abstracted shifts are excluded by the policy)")
    fixes = Fixes.concat(list(stream_fixes(store, scope)))
    cells, ward, on_patch = locate(fixes, scope)
    hotspot = None if hot_row is None else _Hotspot.build(store, claim, scope, fixes, cells, counted,
                                                          policy, hot_row)
    del cells
    stations = {}

    def in_station_for(p: Policy, every_radius: float | None = None):
        k = (p.station_radius_m, p.station_margin_m, every_radius)
        if k not in stations:
            index = StationIndex.from_store(store, p.station_radius_m, p.station_margin_m)
            if every_radius is not None:  # the sensitivity run: every point station this size
                index = replace(index, point_radius_m=np.full_like(index.point_radius_m, every_radius))
            stations[k] = index.contains(fixes.lat, fixes.lon)
        return stations[k]

    windows = _claim_windows(claim, scope, ward, policy) if claim.measure == "peak_coverage" else None
    base, out, seg = _run(fixes, scope, policy, in_station_for(policy), on_patch, counted=counted,
                          windows=windows, hotspot=hotspot)
    value = base.value
    low, high = _bootstrap(base, seed, boot)
    quality = _data_quality(store, scope, fixes, seg, base, policy, officers)
    units = len(base.units[1])
    if units < MIN_UNITS and not claim.every_time:  # a claim about every time needs no interval
        kind = ("peak windows" if windows is not None else "days" if hotspot is not None
                else "officer-shifts")
        quality["problems"].append(f"only {units} {kind}: too few to judge the uncertainty "
                                   f"(at least {MIN_UNITS})")
    figures = None if hotspot is None else hotspot.figures(base, out, policy,
                                                           lambda o: pseudonym(o, key))
    if hotspot is not None and figures["short_stretches"] == figures["stretches"]:
        every_text = minutes_text(claim.every_min)
        verdict, reason = "inconclusive", (
            f"the claim cannot fail: no stretch of its claimed time is longer than {every_text}, "
            f"and the first visit is only due {every_text} after a stretch begins (claim a shorter "
            "every_min, or longer windows)")
    elif hotspot is not None and claim.every_time:
        verdict, reason = _every_time_verdict(claim, figures, quality)
    else:
        verdict, reason = _verdict(claim, value, low, high, quality)
        if hotspot is not None and not quality["problems"]:
            reason += " of the claimed time with the promise kept"

    variants = []
    grid = SENSITIVITY + (HOTSPOT_SENSITIVITY if hotspot is not None else ())
    raw = [value]
    for name, values in grid:
        for v in values:
            p = policy.replace(**{name: v})
            radius = v if name == "station_radius_m" else None
            run, _, _ = _run(fixes, scope, p, in_station_for(p, radius), on_patch, counted=counted,
                             windows=windows, hotspot=hotspot)
            raw.append(run.value)
            variants.append({"setting": name, "value": v, "measured": round(run.value, 6)})
    all_seg, _ = fixes.segments(ctx)
    thinned = []
    for interval in THINNING_S:
        mask = thin_mask(all_seg, fixes.t, interval)
        run, _, _ = _run(fixes, scope, policy, in_station_for(policy), on_patch, keep_mask=mask,
                         counted=counted, windows=windows, hotspot=hotspot)
        # The same thinned track with the max gap widened to twice the new cadence.
        wide = policy.replace(max_gap_s=min(3600.0, max(policy.max_gap_s, 2 * interval)))
        adapted, _, _ = _run(fixes, scope, wide, in_station_for(policy), on_patch, keep_mask=mask,
                             counted=counted, windows=windows, hotspot=hotspot)
        raw.append(adapted.value)
        thinned.append({"interval_s": interval, "fixes": int(mask.sum()),
                        "measured": round(run.value, 6),
                        "max_gap_s_widened": wide.max_gap_s,
                        "measured_widened_gap": round(adapted.value, 6)})
    # The range covers the policy variants and the thinned tracks with a gap to match their
    # cadence; thinned tracks under the base gap are reported but are mostly missing signal.
    # (Judged on the unrounded values: a claim about every time turns on the smallest overdue.)
    side = _side(claim, value)
    holds = all(_side(claim, v) == side for v in raw)

    sample = _reality_sample(store, scope, fixes, seg, out, ward, samples, seed, policy,
                             lambda o: pseudonym(o, key))
    breakdown = {name + "_share": round(float(base.totals_us[:, i].sum() / base.duration_us.sum()), 6)
                 for i, name in enumerate(STATES)}
    audit = _audit(store, scope, officers, claim, policy, seed, command, hot_row)
    return {
        "claim": {**{k: (v.isoformat() if isinstance(v, date) else v) for k, v in claim.to_dict().items()},
                  "sentence": claim.sentence()},
        "measured": {
            "value": round(value, 6), "interval_95": [round(low, 6), round(high, 6)],
            "bootstrap": {"resamples": boot, "seed": seed},
            "officer_shifts": int(counted.sum()), "officers": int(len(np.unique(ctx.officer_idx[counted]))),
            "duty_hours": round(float(base.duration_us.sum()) / 3.6e9, 2),
            "breakdown": breakdown,
            **(figures if figures is not None else _window_figures(windows, base)),
        },
        "verdict": verdict,
        "verdict_reason": reason,
        "sensitivity": {
            "settings": variants, "thinning": thinned,
            "range": [round(min(raw), 6), round(max(raw), 6)],
            "verdict_holds": holds,
        },
        "data_quality": quality,
        "sample": sample,
        "audit": audit,
    }


def _claim_windows(claim: Claim, scope: Scope, ward_of_fix: np.ndarray, policy: Policy) -> _Windows:
    """The claimed ward's peak windows in the claim's period, as UTC instants."""
    from .peaks import configured, parse_window, window_instances

    codes = list(scope.wards.codes)
    if claim.scope_id not in codes:
        raise ClaimError(f"ward {claim.scope_id!r} is not loaded")
    weekly = [parse_window(t) for t in claim.windows] if claim.windows else configured(policy)
    lo = int(scope.lo.timestamp() * 1_000_000)
    hi = int(scope.hi.timestamp() * 1_000_000)
    start, end = window_instances(weekly, claim.date_from, claim.date_to, policy.timezone, lo, hi)
    if not len(start):
        raise ClaimError("the claim's windows do not occur in its period")
    return _Windows(ward_of_fix, codes.index(claim.scope_id), start, end)


def _window_figures(windows: _Windows | None, run: _Pass) -> dict:
    if windows is None:
        return {"unit": "officer-shift"}
    covered = run.covered_us
    return {"unit": "peak window", "windows": int(len(covered)),
            "window_hours": round(float(run.window_us.sum()) / 3.6e9, 2),
            "windows_with_nobody": int((covered == 0).sum()),
            "windows_fully_covered": int((covered == run.window_us).sum())}


# -- hotspot visits ------------------------------------------------------------------------
def hotspot_compliance(officer, start_us, end_us, claim_start_us, claim_end_us, day_start_us,
                       day_end_us, visit_min_us: int, every_us: int, bridge_us: int) -> dict:
    """Visits to one hotspot, and how well "a visit of ``visit_min`` at least every ``every``" held.

    ``officer``, ``start_us``, ``end_us``: the intervals of presence in the hotspot, in any
    order. One officer's intervals at most ``bridge_us`` apart join into one visit; a visit
    *qualifies* when it lasts ``visit_min_us`` or more. The claimed time is the sorted,
    disjoint stretches ``claim_*``. A *gap* is a stretch of claimed time with no qualifying
    visit in progress, counted from the stretch's start (so the first visit is due ``every``
    after it); the part of a gap beyond ``every_us`` is *overdue*, and the rest of the
    claimed time is *kept*. Returns the visits, the claimed and the kept time of each day
    (``day_*``: sorted, disjoint windows), the longest gap, and every gap longer than
    ``every_us`` (a *breach*).
    """
    from .kernels import clip_to_windows, merge_intervals, window_gaps

    officer = np.asarray(officer, np.int64)
    start_us, end_us = np.asarray(start_us, np.int64), np.asarray(end_us, np.int64)
    claim_start_us = np.asarray(claim_start_us, np.int64)
    claim_end_us = np.asarray(claim_end_us, np.int64)
    order = np.lexsort((start_us, officer))
    visits = merge_intervals(officer[order], start_us[order], end_us[order], int(bridge_us))
    qualifies = visits["end_us"] - visits["start_us"] >= visit_min_us
    union = _union(visits["start_us"][qualifies], visits["end_us"][qualifies])
    # Kept: in a qualifying visit, or less than `every` after one ended or the stretch began.
    kept = _union(np.concatenate([union[0], claim_start_us]),
                  np.concatenate([union[1], claim_start_us]) + np.int64(every_us))
    one = np.array([0, len(claim_start_us)], np.int64)
    kept = clip_to_windows(np.zeros(len(kept[0]), np.int64), kept[0], kept[1], one,
                           claim_start_us, claim_end_us)
    gaps = window_gaps(one, claim_start_us, claim_end_us, np.array([0, len(union[0])], np.int64),
                       union[0], union[1])
    # Each stretch opens with a kept piece. Whatever follows a piece, up to the next piece or
    # the stretch's end, is overdue: the tail of a gap that began `every` before it.
    w, ps, pe = kept["window"], kept["start_us"], kept["end_us"]
    same = w[1:] == w[:-1]
    last = np.ones(len(w), bool)
    last[:-1] = ~same
    over_start = np.concatenate([pe[:-1][same], pe[last]])
    over_end = np.concatenate([ps[1:][same], claim_end_us[w[last]]])
    order = np.argsort(over_start, kind="stable")
    over_start, over_end = over_start[order], over_end[order]
    real = over_end > over_start
    at = int(np.argmax(gaps["longest_us"])) if len(claim_start_us) else 0
    return {
        "visit_officer": visits["group"], "visit_start_us": visits["start_us"],
        "visit_end_us": visits["end_us"], "visit_present_us": visits["present_us"],
        "qualifies": qualifies,
        "claim_day_us": _per_window(claim_start_us, claim_end_us, day_start_us, day_end_us),
        "kept_day_us": _per_window(ps, pe, day_start_us, day_end_us),
        "longest_gap_us": int(gaps["longest_us"][at]) if len(claim_start_us) else 0,
        "longest_gap_start_us": int(gaps["gap_start_us"][at]) if len(claim_start_us) else 0,
        "breach_start_us": over_start[real] - np.int64(every_us), "breach_end_us": over_end[real],
    }


def _union(start_us, end_us) -> tuple[np.ndarray, np.ndarray]:
    """The union of intervals given in any order, as sorted disjoint (start, end)."""
    from .kernels import merge_intervals

    start_us, end_us = np.asarray(start_us, np.int64), np.asarray(end_us, np.int64)
    order = np.argsort(start_us, kind="stable")
    merged = merge_intervals(np.zeros(len(order), np.int64), start_us[order], end_us[order], 0)
    return merged["start_us"], merged["end_us"]


def _per_window(start_us, end_us, w_start_us, w_end_us) -> np.ndarray:
    """Time of the intervals (any order, may overlap: times add) in each sorted, disjoint window."""
    from .kernels import clip_to_windows

    start_us = np.asarray(start_us, np.int64)
    pieces = clip_to_windows(np.zeros(len(start_us), np.int64), start_us, end_us,
                             np.array([0, len(w_start_us)], np.int64), w_start_us, w_end_us)
    total = np.zeros(len(w_start_us), np.int64)
    np.add.at(total, pieces["window"], pieces["end_us"] - pieces["start_us"])
    return total


def _hotspot_row(store: Store, claim: Claim) -> dict:
    """The claimed hotspot, with a hash of its definition for the audit trail."""
    from .demand import require_tables

    require_tables(store)
    row = store.con.execute(
        "SELECT hotspot_id, label, ward_code, kind, cell, geometry, radius_m FROM hotspots "
        "WHERE hotspot_id = ?", [int(claim.scope_id)]).fetchall()
    if not row:
        raise ClaimError(f"hotspot {claim.scope_id} is not loaded (see: visibility hotspots list)")
    hid, label, ward, kind, cell, wkb, radius = row[0]
    definition = [hid, ward, kind, None if cell is None else f"{cell:x}",
                  None if wkb is None else bytes(wkb).hex(), radius]
    return {"hotspot_id": hid, "label": label, "ward_code": ward, "kind": kind,
            "sha256": hashlib.sha256(json.dumps(definition).encode()).hexdigest()}


@dataclass
class _Hotspot:
    """A hotspot_visits claim ready to measure: which fixes lie in the hotspot, and the claimed
    time cut into local days."""

    claim: Claim
    row: dict
    in_hotspot: np.ndarray      # per fix: its position lies in the hotspot
    officer_of_fix: np.ndarray
    counted_fix: np.ndarray     # per fix: its shift counts under the policy
    claim_start_us: np.ndarray  # the claimed time: sorted, disjoint stretches
    claim_end_us: np.ndarray
    day_start_us: np.ndarray    # the local days holding claimed time
    day_end_us: np.ndarray
    days: list[str]
    duty_start_us: np.ndarray   # the counted shifts in scope
    duty_end_us: np.ndarray
    officer_ids: np.ndarray
    timezone: str

    @classmethod
    def build(cls, store: Store, claim: Claim, scope: Scope, fixes: Fixes, cells: np.ndarray,
              counted: np.ndarray, policy: Policy, row: dict) -> "_Hotspot":
        from .hotspots import hotspot_cells, inside_hotspot
        from .peaks import parse_window, window_instances

        ctx = scope.ctx
        seg, pos = fixes.segments(ctx)
        officer_of_fix = np.repeat(ctx.officer_idx[pos], np.diff(seg))
        counted_fix = np.repeat(counted[pos], np.diff(seg))
        # In the hotspot as `visibility coverage` has it: by cell, then exactly for shapes.
        hotspots, hot_cells, owner, certain = hotspot_cells(store)
        k = [h[0] for h in hotspots].index(row["hotspot_id"])
        inside = np.isin(cells, hot_cells[(owner == k) & certain])
        test = np.isin(cells, hot_cells[(owner == k) & ~certain]) & ~inside
        if test.any():
            inside[test] = inside_hotspot(hotspots[k], fixes.lat[test], fixes.lon[test])

        duty_start, duty_end = ctx.start_us[counted], ctx.end_us[counted]
        lo, hi = (int(round(t.timestamp() * 1e6)) for t in (scope.lo, scope.hi))
        if claim.windows == (DUTY,):
            start, end = _union(duty_start, duty_end)
        elif claim.windows:
            start, end = window_instances([parse_window(t) for t in claim.windows], claim.date_from,
                                          claim.date_to, policy.timezone, lo, hi)
        else:
            start, end = np.array([lo], np.int64), np.array([hi], np.int64)
        if not len(start):
            raise ClaimError("the claim's windows do not occur in its period")
        zone = ZoneInfo(policy.timezone)
        first = _local(int(start[0]), zone).date()
        n_days = (_local(int(end[-1]) - 1, zone).date() - first).days + 1
        edges = np.array([round(datetime.combine(first + timedelta(days=i), time(0), zone)
                                .timestamp() * 1e6) for i in range(n_days + 1)], np.int64)
        held = _per_window(start, end, edges[:-1], edges[1:]) > 0
        return cls(claim, row, inside, officer_of_fix, counted_fix, start, end, edges[:-1][held],
                   edges[1:][held], [(first + timedelta(days=int(i))).isoformat()
                                     for i in np.flatnonzero(held)],
                   duty_start, duty_end, ctx.officer_ids, policy.timezone)

    def take(self, mask: np.ndarray) -> "_Hotspot":
        return replace(self, in_hotspot=self.in_hotspot[mask],
                       officer_of_fix=self.officer_of_fix[mask], counted_fix=self.counted_fix[mask])

    def measure(self, out: dict, policy: Policy) -> dict:
        """Presence is on-patch time owned by a fix in the hotspot, in counted shifts."""
        sel = self.counted_fix & self.in_hotspot & (out["state"] == ON_PATCH)
        return hotspot_compliance(
            self.officer_of_fix[sel], out["own_from_us"][sel], out["own_to_us"][sel],
            self.claim_start_us, self.claim_end_us, self.day_start_us, self.day_end_us,
            round(self.claim.visit_min * 60e6), round(self.claim.every_min * 60e6),
            round(policy.visit_bridge_s * 1e6))

    def figures(self, run: _Pass, out: dict, policy: Policy, label) -> dict:
        """The evidence of the base run: visits, gaps, days, and who was on duty in the gaps."""
        from .dosage import classify
        from .peaks import local_labels

        r = run.hotspot
        v_start, v_end = r["visit_start_us"], r["visit_end_us"]
        # The visits touching the claimed time, pass-bys left out unless they qualify.
        j = np.searchsorted(self.claim_end_us, v_start, side="right")
        inner = j < len(self.claim_end_us)
        inner[inner] = self.claim_start_us[j[inner]] < v_end[inner]
        listed = inner & (r["qualifies"] | (classify(v_end - v_start, policy) > 0))
        first_in = np.maximum(v_start, self.claim_start_us[np.minimum(j, len(self.claim_start_us) - 1)])
        day = np.searchsorted(self.day_start_us, first_in, side="right") - 1
        qualifying = np.bincount(day[listed & r["qualifies"]], minlength=len(self.days))
        shorter = np.bincount(day[listed & ~r["qualifies"]], minlength=len(self.days))
        claim_day, kept_day = r["claim_day_us"], r["kept_day_us"]

        # Officer time on duty in each long gap, and how much of it had no signal.
        signal = self.counted_fix & (out["state"] != NO_SIGNAL)
        gap_start = np.append(r["breach_start_us"], r["longest_gap_start_us"])
        gap_end = np.append(r["breach_end_us"], r["longest_gap_start_us"] + r["longest_gap_us"])

        def duty_in(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            on = _per_window(self.duty_start_us, self.duty_end_us, gap_start[k], gap_end[k])
            heard = _per_window(out["own_from_us"][signal], out["own_to_us"][signal], gap_start[k],
                                gap_end[k])
            return on, on - heard

        n = len(r["breach_start_us"])
        on, silent = duty_in(np.arange(n))
        l_on, l_silent = duty_in(np.array([n]))
        labels = local_labels(gap_start, gap_end, self.timezone)

        def gap(i, on_us, silent_us) -> dict:
            return {"when": labels[i], "minutes": round(float(gap_end[i] - gap_start[i]) / 60e6, 2),
                    "officer_hours_on_duty": round(float(on_us) / 3.6e9, 3),
                    "officer_hours_without_signal": round(float(silent_us) / 3.6e9, 3)}

        duty = _union(self.duty_start_us, self.duty_end_us)
        on_duty_us = int(_per_window(duty[0], duty[1], self.claim_start_us, self.claim_end_us).sum())
        claim_us = int(claim_day.sum())
        v_labels = local_labels(v_start[listed], v_end[listed], self.timezone)
        visit_list = [
            {"officer": label(str(self.officer_ids[o])), "when": w,
             "minutes": round(float(e - s) / 60e6, 2), "present_minutes": round(float(p) / 60e6, 2),
             "qualifies": bool(q)}
            for _, o, s, e, p, q, w in sorted(zip(
                v_start[listed].tolist(), r["visit_officer"][listed], v_start[listed],
                v_end[listed], r["visit_present_us"][listed], r["qualifies"][listed], v_labels),
                key=lambda row: (row[0], row[1]))]  # in time order, as a log
        c = self.claim
        return {
            "unit": "day",
            "hotspot": {k: v for k, v in self.row.items() if k != "sha256"},
            "visit_min": c.visit_min, "every_min": c.every_min,
            "claimed_time": ("duty hours" if c.windows == (DUTY,) else list(c.windows)
                             or "round the clock"),
            "days": len(self.days),
            "stretches": len(self.claim_start_us),
            "short_stretches": int((self.claim_end_us - self.claim_start_us
                                    <= round(c.every_min * 60e6)).sum()),
            "claim_hours": round(claim_us / 3.6e9, 2),
            "claim_hours_off_duty": round((claim_us - on_duty_us) / 3.6e9, 2),
            "qualifying_visits": int(qualifying.sum()), "shorter_visits": int(shorter.sum()),
            "longest_gap": gap(n, l_on[0], l_silent[0]),
            "gaps_over": n,
            "overdue_hours": round(float((claim_day - kept_day).sum()) / 3.6e9, 3),
            "by_day": [{"date": d, "claim_hours": round(float(cu) / 3.6e9, 2),
                        "qualifying_visits": int(q), "shorter_visits": int(sh),
                        "overdue_min": round(float(cu - ku) / 60e6, 2),
                        "kept_share": round(float(ku / cu), 6)}
                       for d, cu, ku, q, sh in zip(self.days, claim_day, kept_day, qualifying, shorter)],
            "gaps": [gap(i, on[i], silent[i]) for i in range(n)],
            "visit_list": visit_list,
        }


def _local(t_us: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(t_us / 1e6, timezone.utc).astimezone(zone)


def _every_time_verdict(claim: Claim, fig: dict, quality: dict) -> tuple[str, str]:
    """A claim that the promise held every time: one gap too long is enough to refute it."""
    if quality["problems"]:
        return "inconclusive", "data quality: " + "; ".join(quality["problems"])
    every, g = minutes_text(claim.every_min), fig["longest_gap"]
    longest = f"{minutes_text(round(g['minutes'], 1))} ({g['when']})"
    if not fig["gaps_over"]:
        return "supported", (f"no gap between qualifying visits was longer than {every}: the "
                             f"longest was {longest}")
    n = fig["gaps_over"]
    reason = (f"{n} gap{'s' if n > 1 else ''} longer than {every} between qualifying visits "
              f"({fig['overdue_hours']:.1f} h overdue in all); the longest, {longest}, ")
    if g["officer_hours_on_duty"] == 0:
        return "not supported", reason + "when nobody of the ward's team was on duty"
    return "not supported", (reason + f"with {g['officer_hours_on_duty']:.1f} officer-hours of "
                             f"the ward's team on duty in it, {g['officer_hours_without_signal']:.1f} "
                             "of them without signal")


def _bootstrap(run: _Pass, seed: int, boot: int) -> tuple[float, float]:
    """95% percentile interval of the weighted share, resampling its units (officer-shifts,
    or peak windows for a coverage claim)."""
    num, den = run.units
    n = len(den)
    rng = np.random.default_rng(seed)
    on = num.astype(np.float64)
    dur = den.astype(np.float64)
    values = np.empty(boot)
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, boot, chunk):
        k = min(chunk, boot - start)
        idx = rng.integers(0, n, (k, n))
        values[start:start + k] = on[idx].sum(axis=1) / dur[idx].sum(axis=1)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _side(claim: Claim, value: float) -> bool:
    return value >= claim.claimed if claim.comparison == "at_least" else value <= claim.claimed


def _verdict(claim: Claim, value, low, high, quality) -> tuple[str, str]:
    if quality["problems"]:
        return "inconclusive", "data quality: " + "; ".join(quality["problems"])
    bound, other = (low, high) if claim.comparison == "at_least" else (high, low)
    if _side(claim, bound):
        return "supported", (f"the whole 95% interval [{low:.1%}, {high:.1%}] is "
                             f"{'at or above' if claim.comparison == 'at_least' else 'at or below'} "
                             f"the claimed {claim.claimed:.0%}")
    if not _side(claim, other):
        return "not supported", (f"the whole 95% interval [{low:.1%}, {high:.1%}] is "
                                 f"{'below' if claim.comparison == 'at_least' else 'above'} "
                                 f"the claimed {claim.claimed:.0%}")
    return "inconclusive", (f"the 95% interval [{low:.1%}, {high:.1%}] straddles the claimed "
                            f"{claim.claimed:.0%}")


def _data_quality(store, scope, fixes, seg, run: _Pass, policy, officers) -> dict:
    con = store.con
    duty_h = float(run.duration_us.sum()) / 3.6e9
    no_signal = float(run.totals_us[:, NO_SIGNAL].sum() / run.duration_us.sum())
    n_fix_per_shift = np.zeros(scope.n_shifts, np.int64)
    _, pos = fixes.segments(scope.ctx)
    n_fix_per_shift[pos] = np.diff(seg)
    empty = int((n_fix_per_shift == 0).sum())
    gaps = np.diff(fixes.t)[np.diff(fixes.shift_id) == 0] / 1e6 if len(fixes) > 1 else np.empty(0)
    cadence = float(np.median(gaps)) if len(gaps) else None
    sources = _scope_sources(con, scope, officers)
    rejected = con.execute(
        "SELECT count(*) FROM rejects WHERE list_contains(?, source_id)", [sources]
    ).fetchall()[0][0] if sources else 0
    unassigned = con.execute(
        """SELECT count(*) FROM device_pings d WHERE ts >= ? AND ts < ? AND NOT EXISTS (
               SELECT 1 FROM device_assignments a WHERE a.device_id = d.device_id
               AND d.ts >= a.from_ts AND d.ts < a.to_ts)""",
        [scope.lo, scope.hi + timedelta(days=1)]).fetchall()[0][0]
    problems = []
    if no_signal > MAX_NO_SIGNAL_SHARE:
        problems.append(f"{no_signal:.0%} of duty time has no signal (limit {MAX_NO_SIGNAL_SHARE:.0%})")
    if empty > MAX_EMPTY_SHIFT_SHARE * scope.n_shifts:
        problems.append(f"{empty} of {scope.n_shifts} shifts have no fixes at all")
    if cadence is not None and cadence > policy.max_gap_s:
        problems.append(f"the median time between fixes ({cadence:.0f} s) is longer than the "
                        f"max gap ({policy.max_gap_s:.0f} s): the tracks cannot show continuous presence")
    return {
        "fixes": int(len(fixes)),
        "fixes_per_duty_hour": round(len(fixes) / duty_h, 2) if duty_h else 0.0,
        "median_fix_interval_s": None if cadence is None else round(cadence, 3),
        "no_signal_share": round(no_signal, 6),
        "shifts_without_fixes": empty,
        "rejected_rows_in_sources": int(rejected),
        "unassigned_device_fixes": int(unassigned),
        "cadence_supports_claim": cadence is not None and cadence <= policy.max_gap_s,
        "problems": problems,
    }


def _scope_sources(con, scope: Scope, officers) -> list[int]:
    rows = con.execute(
        f"""SELECT DISTINCT p.source_id FROM pings p JOIN (SELECT * FROM shifts s WHERE {scope.where}) s
            ON p.officer_id = s.officer_id AND p.ts >= s.start_ts AND p.ts < s.end_ts
            UNION
            SELECT DISTINCT d.source_id FROM device_pings d JOIN device_assignments a
              ON d.device_id = a.device_id AND d.ts >= a.from_ts AND d.ts < a.to_ts
            JOIN (SELECT * FROM shifts s WHERE {scope.where}) s
              ON a.officer_id = s.officer_id AND d.ts >= s.start_ts AND d.ts < s.end_ts
            ORDER BY 1""", scope.params + scope.params).fetchall()
    return [r[0] for r in rows]


def _reality_sample(store, scope: Scope, fixes: Fixes, seg, out, ward, n, seed, policy,
                    label) -> list[dict]:
    """N random moments of duty: who, when, where the tracks put them, and the state."""
    ctx = scope.ctx
    if n <= 0:
        return []
    rng = np.random.default_rng(seed + 1)
    duration = (ctx.end_us - ctx.start_us).astype(np.float64)
    shift = rng.choice(scope.n_shifts, size=n, p=duration / duration.sum())
    moment = ctx.start_us[shift] + (rng.random(n) * duration[shift]).astype(np.int64)
    _, pos = fixes.segments(ctx)
    seg_of_shift = np.full(scope.n_shifts, -1)
    seg_of_shift[pos] = np.arange(len(pos))
    codes = scope.wards.codes
    names = dict(store.con.execute("SELECT ward_code, ward_name FROM wards").fetchall())
    zone = ZoneInfo(policy.timezone)
    rows = []
    for k in np.argsort(moment, kind="stable"):
        s, t = int(shift[k]), int(moment[k])
        row = {"officer": label(str(ctx.officer_ids[ctx.officer_idx[s]])),
               "time_local": datetime.fromtimestamp(t / 1e6, timezone.utc).astimezone(zone)
               .strftime("%Y-%m-%d %H:%M:%S %Z"),
               "lat": None, "lon": None, "ward_code": None, "ward_name": None, "state": "no_signal",
               "fix_time_local": None}
        j = seg_of_shift[s]
        if j >= 0:
            lo, hi = seg[j], seg[j + 1]
            i = lo + int(np.searchsorted(out["own_from_us"][lo:hi], t, side="right")) - 1
            if i >= lo and out["own_from_us"][i] <= t < out["own_to_us"][i]:
                w = int(ward[i])
                row.update(
                    lat=round(float(fixes.lat[i]), 5), lon=round(float(fixes.lon[i]), 5),
                    ward_code=None if w == NO_WARD else str(codes[w]),
                    ward_name=None if w == NO_WARD else names.get(str(codes[w])),
                    state=STATES[int(out["state"][i])],
                    fix_time_local=datetime.fromtimestamp(int(fixes.t[i]) / 1e6, timezone.utc)
                    .astimezone(zone).strftime("%H:%M:%S"))
        rows.append(row)
    return rows


def _audit(store, scope, officers, claim: Claim, policy: Policy, seed, command,
           hotspot: dict | None = None) -> dict:
    sources = _scope_sources(store.con, scope, officers)
    rows = store.con.execute(
        "SELECT source_id, path, sha256, rows_read FROM sources WHERE list_contains(?, source_id) "
        "ORDER BY source_id", [sources]).fetchall() if sources else []
    listed = [{"source_id": r[0], "path": r[1], "sha256": r[2], "rows_read": r[3]} for r in rows]
    roster = store.con.execute(
        f"""SELECT sha256(string_agg(officer_id || '|' || start_ts::VARCHAR || '|' || end_ts::VARCHAR
                              || '|' || kind, ';' ORDER BY shift_id))
            FROM shifts s WHERE {scope.where}""", scope.params).fetchall()[0][0]
    body = {"sources": [s["sha256"] for s in listed], "roster": roster, "policy": policy.to_dict(),
            "version": __version__, "claim": claim.to_dict(), "seed": seed}
    extra = {}
    if hotspot is not None:  # the hotspot's definition: a moved hotspot is a different claim
        extra["hotspot_sha256"] = body["hotspot"] = hotspot["sha256"]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "sources": listed,
        "roster_sha256": roster,
        **extra,
        "policy": policy.to_dict(),
        "policy_digest": policy.digest,
        "version": __version__,
        "seed": seed,
        "command": command,
        "digest": digest,
    }


def to_json(evidence: dict) -> str:
    return json.dumps(evidence, indent=2, sort_keys=False) + "\n"
