"""Suggest when to make the hotspot visits and which beats to weight, keeping headcount and shifts.

The method is greedy over hour-of-week demand, and every step can be said in a
sentence:

1. **Demand.** Each peak window adds its ``weight`` to every hour of the week
   it covers (pro rata for part hours), in its wards (all wards when it names
   none); every hour also carries a small base demand ``BASE_DEMAND``, so
   that off-peak time is worth a little rather than nothing.
2. **Visit times.** For each ``[[visit]]`` and each shift its team works, the
   window of the shift's patrol time (after briefing, before debrief) with the
   most demand over the shift's days is chosen, sliding in 30-minute steps; it
   is long enough for the visits with room to spare (twice their time, at
   least an hour). Visits last 10-15 minutes, the Koper curve's band (a
   longer visit becomes more, shorter ones), and come at random times in the
   window, so they are not predictable. A shift with no peak hours keeps the
   windows it had.
3. **Beat weights.** For each team, weight units are handed out one at a time
   (``WEIGHT_UNITS`` of them) to the beat whose extra share of patrol time
   adds most to the demand-weighted chance that each of the team's wards has
   at least one officer on it, hour by hour, given how many of the team's
   officers are on patrol in that hour (headcount, shifts and abstraction).
   The new weights are kept only when they beat the old ones by more than 1%.

The suggested pattern is written out as a pattern file; simulating both with
the same seeds (``visibility plan suggest``) shows the predicted gain with its
spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .pattern import DAYS, Pattern, Peak, Team, Visit
from .rota import TRAVEL_ALLOWANCE_MIN
from .toml_out import pattern_to_toml

BASE_DEMAND = 0.05
WEIGHT_UNITS = 20
KOPER_MIN = (10.0, 15.0)
HOURS = 7 * 24


@dataclass
class Proposal:
    source: Pattern
    pattern: Pattern
    toml: str
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    GAIN_KEYS = (("visible_share", "visible share", "pct"),
                 ("effective_visits", "effective hotspot visits", "num"),
                 ("dosage_hours", "hotspot presence (h)", "num"),
                 ("peak_dosage_hours", "hotspot presence in peak windows (h)", "num"),
                 ("longest_gap_hours", "longest unvisited gap (h)", "num"))

    def gain(self, cmp) -> dict:
        """Suggested minus input, per measure, and whether it is beyond the spread over seeds."""
        a, b = cmp.labels[0], cmp.labels[1]
        keys = [(k, None) for k, _, _ in self.GAIN_KEYS[:1]] + [("coverage", p.name) for p in cmp.peaks] \
            + [(k, None) for k, _, _ in self.GAIN_KEYS[1:]]
        out = {}
        for key, sub in keys:
            sa, sb = cmp.stat(a, key, sub), cmp.stat(b, key, sub)
            if sa is None or sb is None:
                continue
            clear = sb["min"] > sa["max"] or sb["max"] < sa["min"]
            out[key if sub is None else f"coverage.{sub}"] = {
                "input": sa["mean"], "suggested": sb["mean"], "gain": sb["mean"] - sa["mean"],
                "beyond_seed_spread": bool(clear)}
        return out

    def gain_lines(self, gain: dict) -> list[str]:
        lines = []
        fmt = {k: f for k, _, f in self.GAIN_KEYS}
        labels = {k: lab for k, lab, _ in self.GAIN_KEYS}
        for key, g in gain.items():
            kind = "pct" if key.startswith("coverage") else fmt.get(key, "num")
            label = labels.get(key) or key.replace("coverage.", "peak coverage: ")
            if kind == "pct":
                text = f"{g['input']:.1%} -> {g['suggested']:.1%} ({100 * g['gain']:+.1f} points)"
            else:
                text = f"{g['input']:.1f} -> {g['suggested']:.1f} ({g['gain']:+.1f})"
            note = "" if g["beyond_seed_spread"] else "  (within the spread over seeds)"
            lines.append(f"{label}: {text}{note}")
        return lines


def hour_demand(peaks: list[Peak], wards) -> dict[str, np.ndarray]:
    """Demand per ward and hour of the week (Monday 00:00-01:00 local is hour 0)."""
    out = {w: np.full(HOURS, BASE_DEMAND) for w in wards}
    for pk in peaks:
        minutes = np.zeros(HOURS * 60 + 2 * 1440)
        for d in pk.days:
            a, b = d * 1440 + pk.window[0], d * 1440 + pk.window[1]
            minutes[a:b] = 1.0
        minutes[: 2 * 1440] += minutes[HOURS * 60:]  # a Sunday-night window wraps to Monday
        share = minutes[: HOURS * 60].reshape(HOURS, 60).mean(axis=1)
        for w in wards:
            if not pk.wards or w in pk.wards:
                out[w] = out[w] + pk.weight * share
    return out


def suggest(pattern: Pattern, world=None) -> Proposal:
    """A suggested pattern with the same headcount and shifts (see the module docstring)."""
    demand = hour_demand(list(pattern.peak_windows()), pattern.wards)
    changes: list[str] = []
    visits: list[Visit] = []
    for v in pattern.visits:
        visits += _place_visit(pattern, v, _visit_demand(pattern, v, demand, world), changes)
    teams = [_weigh_beats(pattern, t, demand, world, changes) for t in pattern.teams]
    notes = _uncovered_peaks(pattern)
    if not changes:
        changes.append("no change: the visits already sit in the hours of most demand and the beat "
                       "weights already spread the officers as well as this method can")
    new = replace(pattern, name=f"{pattern.name} (suggested)", teams=tuple(teams), visits=tuple(visits),
                  peaks=pattern.peaks or pattern.peak_windows(),
                  description=f"Suggested by visibility plan suggest from {pattern.source}.")
    header = (f"Suggested from {pattern.source} by `visibility plan suggest`: the same headcount\n"
              "and shifts, hotspot visits moved to the hours of most demand, beat weights\n"
              "spread for peak coverage. Changes:\n" + "\n".join(f"- {c}" for c in changes))
    return Proposal(pattern, new, pattern_to_toml(new, header), changes, notes)


def _uncovered_peaks(pattern: Pattern) -> list[str]:
    """Peak windows that no team's patrol time reaches: only other shifts could help."""
    notes = []
    for pk in pattern.peak_windows():
        hours = np.zeros(HOURS)
        hours[hour_demand([pk], ["_"])["_"] > BASE_DEMAND + 1e-9] = 1
        reach = sum(float((on_patrol(pattern, t) * hours).sum()) for t in pattern.teams
                    if not pk.wards or set(pk.wards) & set(t.wards))
        if reach <= 0:
            notes.append(f"no shift puts anyone on patrol in peak {pk.name!r}; this method keeps the "
                         "shifts, so only a change of shifts can cover it")
    return notes


# ---------------------------------------------------------------------------
# Visits


def _visit_demand(pattern: Pattern, v: Visit, demand: dict, world) -> np.ndarray:
    """Hour-of-week demand at a visit's hotspot: its ward's, or the team's wards' mean."""
    team = pattern.team(v.team)
    if world is not None:
        from shapely.geometry import Point

        from .simulate import target_of

        c = Point(*target_of(v).centre)
        for w in team.wards:
            if world.ward_geom(w).covers(c):
                return demand[w]
    return np.mean([demand[w] for w in team.wards], axis=0)


def _place_visit(pattern: Pattern, v: Visit, demand: np.ndarray, changes: list[str]) -> list[Visit]:
    team = pattern.team(v.team)
    minutes = float(min(max(v.minutes, KOPER_MIN[0]), KOPER_MIN[1]))
    per = max(1, round(v.per_shift * v.minutes / minutes)) if v.per_shift else 0
    out = []
    for name in (v.shifts or team.shift_names):
        s = pattern.shift(name)
        days = [d for d in s.days if d in v.days]
        lo = s.start_min + team.briefing_min + TRAVEL_ALLOWANCE_MIN
        hi = s.start_min + s.minutes - team.debrief_min - TRAVEL_ALLOWANCE_MIN
        if not days or hi - lo < minutes or per == 0:
            out.append(replace(v, shifts=(name,)))
            continue
        fits = int((hi - lo) // (minutes + 5.0))
        n = min(per, max(fits, 1))
        need = min(hi - lo, max(60.0, 30.0 * math.ceil(2 * n * (minutes + 5.0) / 30.0)))
        slots = np.arange(lo, hi - 1e-9, 30.0)
        score = np.array([_window_score(demand, days, a, min(a + 30.0, hi)) for a in slots])
        base = BASE_DEMAND * len(days) * 0.5
        if score.max() <= base * 1.01:  # no peak hours in this shift: keep its windows
            new = replace(v, shifts=(name,), minutes=minutes, per_shift=n)
            if (minutes, n) != (v.minutes, v.per_shift):
                changes.append(f"visit {v.name!r} on {name!r} shifts: {n} x {minutes:g} min instead of "
                               f"{v.per_shift} x {v.minutes:g} min (the Koper curve: 10-15 minutes deters "
                               f"longest); the shift has no peak hours, so its windows stay")
            out.append(new)
            continue
        # the peak part of the shift: the best half-hour, grown while the next slot holds at
        # least half its demand (or while the window is still too short for the visits)
        i = j = int(np.argmax(score))
        while True:
            left = score[i - 1] if i > 0 else -1.0
            right = score[j + 1] if j + 1 < len(slots) else -1.0
            if max(left, right) < 0:
                break
            if (j - i + 1) * 30.0 >= need and max(left, right) < 0.5 * score.max():
                break
            if right >= left:
                j += 1
            else:
                i -= 1
        a, b = float(slots[i]), float(min(slots[j] + 30.0, hi))
        best, width = (int(round(a)), int(round(b))), b - a
        window = (best[0] % 1440, best[0] % 1440 + (best[1] - best[0]))
        new = replace(v, shifts=(name,), minutes=minutes, per_shift=n, windows=(window,), randomise=True)
        old_when = ", ".join(_fmt_window(w) for w in v.windows) or "any time"
        changes.append(
            f"visit {v.name!r} on {name!r} shifts: {n} x {minutes:g} min at random times in "
            f"{_fmt_window(window)} (the part of the shift with most peak demand), instead of "
            f"{v.per_shift} x {v.minutes:g} min {'at random times' if v.randomise else 'at fixed times'} in {old_when}")
        out.append(new)
    return out


def _window_score(demand: np.ndarray, days, a: float, b: float) -> float:
    """Demand summed over ``days`` for shift-day minutes a..b (may run past midnight)."""
    total = 0.0
    for d in days:
        for m in range(int(a), int(b), 10):
            h = (d * 24 + m // 60) % HOURS
            total += demand[h] * 10.0 / 60.0
    return total


def _fmt_window(w) -> str:
    a, b = w
    return f"{a // 60 % 24:02d}:{a % 60:02d}-{b // 60 % 24:02d}:{b % 60:02d}"


# ---------------------------------------------------------------------------
# Beats


def on_patrol(pattern: Pattern, team: Team) -> np.ndarray:
    """Expected officers of ``team`` on patrol in each hour of the week."""
    n = np.zeros(HOURS)
    keep = 1.0 - team.abstraction_rate
    for g in team.rota:
        for name in g.shifts:
            s = pattern.shift(name)
            a = s.start_min + team.briefing_min + TRAVEL_ALLOWANCE_MIN
            b = s.start_min + s.minutes - team.debrief_min - TRAVEL_ALLOWANCE_MIN - team.break_min
            for d in s.days:
                for m in range(int(a), int(b), 10):
                    n[(d * 24 + m // 60) % HOURS] += g.officers * keep * 10.0 / 60.0
    return n


def _beat_shares(pattern: Pattern, team: Team, world) -> np.ndarray | None:
    """(beats, wards) share of each beat in each of the team's wards, or None if unknown."""
    f = np.zeros((len(team.beats), len(team.wards)))
    for i, name in enumerate(team.beats):
        b = pattern.beat(name)
        ward = name if b is None else (b.ward if b.kind == "ward" else None)
        if ward is not None:
            if ward in team.wards:
                f[i, team.wards.index(ward)] = 1.0
            continue
        if world is None:
            return None
        for w, share in world.beat_wards(pattern, name, team.wards).items():
            f[i, team.wards.index(w)] = share
    return f


def _objective(q: np.ndarray, f: np.ndarray, d: np.ndarray, n: np.ndarray) -> float:
    """Demand-weighted expected number of wards with at least one officer, summed over hours."""
    q = q / q.sum() if q.sum() > 0 else q
    p = np.clip(q @ f, 0.0, 1.0)  # share of patrol time in each ward
    covered = 1.0 - (1.0 - p)[None, :] ** n[:, None]  # hours x wards
    return float((d * covered).sum())


def _weigh_beats(pattern: Pattern, team: Team, demand: dict, world, changes: list[str]) -> Team:
    if len(team.beats) < 2:
        return team
    f = _beat_shares(pattern, team, world)
    if f is None:
        changes.append(f"team {team.name!r}: beat weights unchanged (polygon and loop beats need the "
                       "store's wards to be weighed; give --db)")
        return team
    n = on_patrol(pattern, team)
    d = np.column_stack([demand[w] for w in team.wards])  # hours x wards
    units = np.zeros(len(team.beats))
    for _ in range(WEIGHT_UNITS):
        gains = []
        for i in range(len(units)):
            trial = units.copy()
            trial[i] += 1
            gains.append(_objective(trial, f, d, n))
        units[int(np.argmax(gains))] += 1
    old = _objective(np.asarray(team.beat_weights), f, d, n)
    new = _objective(units, f, d, n)
    if new <= old * 1.01:
        return team
    weights = tuple(float(u / WEIGHT_UNITS) for u in units)
    total = d.sum(axis=0)
    share = ", ".join(f"{w} {s:.0%}" for w, s in zip(team.wards, total / total.sum()))
    moves = ", ".join(f"{b} {ow:g}->{nw:g}" for b, ow, nw in zip(team.beats, team.beat_weights, weights))
    changes.append(f"team {team.name!r} beat weights: {moves} (demand by ward: {share}; expected "
                   f"ward-hours covered {old:.0f} -> {new:.0f}, demand-weighted)")
    return replace(team, beat_weights=weights)


def describe_days(days) -> str:
    return ", ".join(DAYS[d] for d in days)
