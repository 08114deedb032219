"""Verify a visibility claim against the raw tracks: value, interval, sensitivity, evidence.

A claim names a scope (borough, ward, team or officer), a period, a measure,
a claimed value and a comparison. The tracks of every officer-shift in scope
are passed through the kernels once per policy setting tried, in memory; the
store's own results are not changed. Everything is seeded, and the JSON holds
no clock time, so the same command on the same store gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone
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

SCOPES = ("borough", "ward", "team", "officer", "all")
COMPARISONS = ("at_least", "at_most")
MEASURES = ("visible_share", "peak_coverage")
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
    windows: tuple[str, ...] = ()

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
        for text in self.windows:
            from .peaks import parse_window

            try:
                parse_window(text)
            except VisibilityError as exc:
                raise ClaimError(f"claim window {text!r}: {exc}") from None
        if not 0 <= self.claimed <= 1:
            raise ClaimError(f"claimed value {self.claimed!r} must be a share between 0 and 1")
        if self.date_to < self.date_from:
            raise ClaimError(f"claim period ends ({self.date_to}) before it starts ({self.date_from})")

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
                 "windows"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ClaimError(f"claim file {path}: unknown key {unknown[0]!r}")
        for key in ("scope", "claimed"):
            if key not in data:
                raise ClaimError(f"claim file {path}: missing key {key!r}")
        first, last = _period(data, path)
        try:
            claimed = float(data["claimed"])
        except (TypeError, ValueError):
            raise ClaimError(f"claim file {path}: claimed {data['claimed']!r} is not a number") from None
        return cls(scope=str(data["scope"]), scope_id=_opt_str(data.get("scope_id")),
                   date_from=first, date_to=last, claimed=claimed,
                   comparison=str(data.get("comparison", "at_least")),
                   measure=str(data.get("measure", "visible_share")),
                   text=str(data.get("text", "")), windows=_windows(data.get("windows", ()), path))

    def sentence(self) -> str:
        who = "all officers" if self.scope == "all" else f"{self.scope} {self.scope_id}"
        words = "at least" if self.comparison == "at_least" else "at most"
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
    }
    params = [] if claim.scope == "all" else [claim.scope_id]
    officers = sorted(r[0] for r in con.execute(queries[claim.scope], params).fetchall())
    if not officers:
        raise ClaimError(f"no officers in {claim.scope} {claim.scope_id!r}")
    return officers


# -- one pass of the measure -----------------------------------------------------------
@dataclass
class _Pass:
    on_patch_us: np.ndarray   # per shift in scope
    duration_us: np.ndarray
    totals_us: np.ndarray     # shifts x 5
    covered_us: np.ndarray | None = None  # peak_coverage: per window, time with someone on patch
    window_us: np.ndarray | None = None

    @property
    def units(self) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per resampling unit: officer-shifts, or peak windows."""
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
         counted=None, windows: _Windows | None = None) -> tuple[_Pass, dict, np.ndarray]:
    ctx = scope.ctx
    ward_of_fix = None if windows is None else windows.ward_of_fix
    if keep_mask is not None:
        fixes, in_station, on_patch = fixes.take(keep_mask), in_station[keep_mask], on_patch[keep_mask]
        ward_of_fix = None if windows is None else ward_of_fix[keep_mask]
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
    return run, out, seg


def verify(store: Store, claim: Claim, policy: Policy | None = None, seed: int = 0,
           samples: int = 20, boot: int = 2000, command: str | None = None,
           key: bytes | None = None) -> dict:
    """Measure the claim's value with its evidence; return a JSON-ready dict."""
    from .pseudonym import pseudonym

    policy = policy or Policy()
    officers = scope_officers(store, claim)
    scope = open_scope(store, policy, claim.date_from, claim.date_to, officers)
    ctx = scope.ctx
    counted = np.array([policy.include_abstracted or k == "neighbourhood" for k in ctx.kind])
    if not counted.any():
        raise StoreError("no neighbourhood shifts in scope (abstracted shifts are excluded by the policy)")
    fixes = Fixes.concat(list(stream_fixes(store, scope)))
    cells, ward, on_patch = locate(fixes, scope)
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
                          windows=windows)
    value = base.value
    low, high = _bootstrap(base, seed, boot)
    quality = _data_quality(store, scope, fixes, seg, base, policy, officers)
    units = len(base.units[1])
    if units < MIN_UNITS:
        kind = "peak windows" if windows is not None else "officer-shifts"
        quality["problems"].append(f"only {units} {kind}: too few to judge the uncertainty "
                                   f"(at least {MIN_UNITS})")
    verdict, reason = _verdict(claim, value, low, high, quality)

    variants = []
    for name, values in SENSITIVITY:
        for v in values:
            p = policy.replace(**{name: v})
            radius = v if name == "station_radius_m" else None
            run, _, _ = _run(fixes, scope, p, in_station_for(p, radius), on_patch, counted=counted,
                             windows=windows)
            variants.append({"setting": name, "value": v, "measured": round(run.value, 6)})
    all_seg, _ = fixes.segments(ctx)
    thinned = []
    for interval in THINNING_S:
        mask = thin_mask(all_seg, fixes.t, interval)
        run, _, _ = _run(fixes, scope, policy, in_station_for(policy), on_patch, keep_mask=mask,
                         counted=counted, windows=windows)
        # The same thinned track with the max gap widened to twice the new cadence.
        wide = policy.replace(max_gap_s=min(3600.0, max(policy.max_gap_s, 2 * interval)))
        adapted, _, _ = _run(fixes, scope, wide, in_station_for(policy), on_patch, keep_mask=mask,
                             counted=counted, windows=windows)
        thinned.append({"interval_s": interval, "fixes": int(mask.sum()),
                        "measured": round(run.value, 6),
                        "max_gap_s_widened": wide.max_gap_s,
                        "measured_widened_gap": round(adapted.value, 6)})
    # The range covers the policy variants and the thinned tracks with a gap to match their
    # cadence; thinned tracks under the base gap are reported but are mostly missing signal.
    every = [value] + [v["measured"] for v in variants] + [t["measured_widened_gap"] for t in thinned]
    side = _side(claim, value)
    holds = all(_side(claim, v) == side for v in every)

    key = key if key is not None else b""
    sample = _reality_sample(store, scope, fixes, seg, out, ward, samples, seed, policy,
                             lambda o: pseudonym(o, key))
    breakdown = {name + "_share": round(float(base.totals_us[:, i].sum() / base.duration_us.sum()), 6)
                 for i, name in enumerate(STATES)}
    audit = _audit(store, scope, officers, claim, policy, seed, command)
    return {
        "claim": {**{k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(claim).items()},
                  "sentence": claim.sentence()},
        "measured": {
            "value": round(value, 6), "interval_95": [round(low, 6), round(high, 6)],
            "bootstrap": {"resamples": boot, "seed": seed},
            "officer_shifts": int(counted.sum()), "officers": int(len(np.unique(ctx.officer_idx[counted]))),
            "duty_hours": round(float(base.duration_us.sum()) / 3.6e9, 2),
            "breakdown": breakdown,
            **_window_figures(windows, base),
        },
        "verdict": verdict,
        "verdict_reason": reason,
        "sensitivity": {
            "settings": variants, "thinning": thinned,
            "range": [round(min(every), 6), round(max(every), 6)],
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


def _audit(store, scope, officers, claim: Claim, policy: Policy, seed, command) -> dict:
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
            "version": __version__, "claim": asdict(claim), "seed": seed}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "sources": listed,
        "roster_sha256": roster,
        "policy": policy.to_dict(),
        "policy_digest": policy.digest,
        "version": __version__,
        "seed": seed,
        "command": command,
        "digest": digest,
    }


def to_json(evidence: dict) -> str:
    return json.dumps(evidence, indent=2, sort_keys=False) + "\n"
