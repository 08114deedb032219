"""A pattern made concrete for one week: officers, their shifts and the visits they make.

Officers are numbered per team (``NORTH-01``, ``NORTH-02`` ...). Each officer of
a rota group works every shift the group names, on that shift's days; the shift
starts at its local wall-clock time on its day and lasts its hours (so a night
shift crosses midnight, and Sunday's ends on the next Monday). Of each team's
shifts, ``abstraction_rate`` (rounded) are drawn at random to be abstracted,
with a reason like the sample roster's.

Visits are scheduled per officer-shift, for neighbourhood shifts only: each
``[[visit]]`` of the officer's team whose ``shifts`` and ``days`` match gives
``per_shift`` visits of ``minutes``, inside its windows (local time) and inside
the patrol part of the shift (after briefing plus ``TRAVEL_ALLOWANCE_MIN``,
before the debrief less the same). Randomised visits start at uniformly random
moments; the others are spread evenly. Visits of one shift are then put in time
order and pushed apart to leave ``GAP_MIN`` between them; one that no longer
fits is dropped and counted in :attr:`Rota.dropped`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..synth.roster import ABSTRACTION_REASONS, NIGHT_ABSTRACTION_REASONS
from .pattern import Pattern, ShiftTemplate, Team, Visit

TRAVEL_ALLOWANCE_MIN = 10.0
GAP_MIN = 5.0


@dataclass(frozen=True)
class PlannedShift:
    officer_id: str
    team: str
    template: str
    start: datetime  # tz-aware, UTC
    end: datetime
    kind: str  # neighbourhood | abstracted
    reason: str


@dataclass(frozen=True)
class PlannedVisit:
    shift: int  # index into Rota.shifts
    visit: int  # index into Pattern.visits
    start_s: float  # seconds after the shift start
    length_s: float


@dataclass
class Rota:
    officers: pd.DataFrame  # officer_id, team, ward_code (';'-joined), role
    shifts: list[PlannedShift]
    visits: list[PlannedVisit]
    dropped: int = 0
    notes: list[str] = field(default_factory=list)
    planned: int = 0

    def shifts_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "officer_id": [s.officer_id for s in self.shifts],
            "start": [s.start.isoformat() for s in self.shifts],
            "end": [s.end.isoformat() for s in self.shifts],
            "kind": [s.kind for s in self.shifts],
            "reason": [s.reason for s in self.shifts],
        })


def team_slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "", name).upper()[:10] or "TEAM"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}{k}", k + 1
    taken.add(slug)
    return slug


def expand(pattern: Pattern, monday: date, seed: int) -> Rota:
    """Officers, shifts and visits of ``pattern`` for the week starting on local day ``monday``."""
    if monday.weekday() != 0:
        raise ValueError("the week must start on a Monday")
    rng = np.random.default_rng([seed, 7])
    zone = ZoneInfo(pattern.timezone)
    rows, shifts = [], []
    taken: set[str] = set()
    for team in pattern.teams:
        slug = team_slug(team.name, taken)
        first = len(shifts)
        number = 0
        for group in team.rota:
            wards = ";".join(group.wards or team.wards)
            for _ in range(group.officers):
                number += 1
                oid = f"{slug}-{number:02d}"
                rows.append((oid, team.name, wards, "PC"))
                for name in group.shifts:
                    tpl = pattern.shift(name)
                    for d in tpl.days:
                        start, end = _instant(monday, d, tpl, zone)
                        shifts.append(PlannedShift(oid, team.name, name, start, end, "neighbourhood", ""))
        _abstract(shifts, first, team, pattern, rng)
    order = sorted(range(len(shifts)), key=lambda i: (shifts[i].officer_id, shifts[i].start))
    shifts = [shifts[i] for i in order]
    officers = pd.DataFrame(rows, columns=["officer_id", "team", "ward_code", "role"])
    rota = Rota(officers, shifts, [])
    _schedule(rota, pattern, rng, zone)
    return rota


def _instant(monday: date, day: int, tpl: ShiftTemplate, zone: ZoneInfo) -> tuple[datetime, datetime]:
    local = datetime.combine(monday + timedelta(days=day), time(tpl.start_min // 60, tpl.start_min % 60),
                             zone)
    start = local.astimezone(UTC)
    return start, start + timedelta(minutes=tpl.minutes)


def _abstract(shifts: list[PlannedShift], first: int, team: Team, pattern: Pattern,
              rng: np.random.Generator) -> None:
    n = len(shifts) - first
    k = int(round(team.abstraction_rate * n))
    if k == 0:
        return
    for i in sorted(rng.choice(n, k, replace=False).tolist()):
        s = shifts[first + i]
        tpl = pattern.shift(s.template)
        night = tpl.start_min + tpl.minutes > 24 * 60 or tpl.start_min >= 20 * 60
        pool = NIGHT_ABSTRACTION_REASONS if night else ABSTRACTION_REASONS
        reason = str(pool[int(rng.integers(len(pool)))])
        shifts[first + i] = PlannedShift(s.officer_id, s.team, s.template, s.start, s.end,
                                         "abstracted", reason)


def _schedule(rota: Rota, pattern: Pattern, rng: np.random.Generator, zone: ZoneInfo) -> None:
    planned: dict[int, int] = {}
    dropped: dict[int, list[str]] = {}
    by_team: dict[str, list[int]] = {}
    for k, v in enumerate(pattern.visits):
        by_team.setdefault(v.team, []).append(k)
    for i, s in enumerate(rota.shifts):
        if s.kind != "neighbourhood" or s.team not in by_team:
            continue
        team = pattern.team(s.team)
        tpl = pattern.shift(s.template)
        local = s.start.astimezone(zone)
        day = local.weekday()
        dur_min = (s.end - s.start).total_seconds() / 60.0
        lo = team.briefing_min + TRAVEL_ALLOWANCE_MIN
        hi = dur_min - team.debrief_min - TRAVEL_ALLOWANCE_MIN
        wanted: list[tuple[float, float, int]] = []
        for k in by_team[s.team]:
            v = pattern.visits[k]
            if (v.shifts and tpl.name not in v.shifts) or day not in v.days or v.per_shift == 0:
                continue
            spans = _allowed(v, local.hour * 60 + local.minute, lo, hi)
            starts = _starts(v, spans, rng)
            planned[k] = planned.get(k, 0) + v.per_shift
            for _ in range(v.per_shift - len(starts)):
                dropped.setdefault(k, []).append(tpl.name)
            wanted += [(a, v.minutes, k) for a in starts]
        wanted.sort()
        free_from = -np.inf
        for a, length, k in wanted:
            a = max(a, free_from)
            if a + length > hi:
                dropped.setdefault(k, []).append(tpl.name)
                continue
            rota.visits.append(PlannedVisit(i, k, a * 60.0, length * 60.0))
            free_from = a + length + GAP_MIN
    rota.planned = sum(planned.values())
    rota.dropped = sum(len(d) for d in dropped.values())
    for k, where in sorted(dropped.items()):
        shifts = ", ".join(repr(s) for s in dict.fromkeys(where))
        rota.notes.append(f"visit {pattern.visits[k].name!r}: {len(where)} of {planned[k]} planned visits did "
                          f"not fit in their windows and patrol time (on {shifts} shifts)")


def _allowed(v: Visit, start_of_shift: int, lo: float, hi: float) -> list[tuple[float, float]]:
    """Shift-relative minute spans in which a visit of ``v`` may lie."""
    if hi - lo < v.minutes:
        return []
    if not v.windows:
        return [(lo, hi)]
    spans = []
    for a, b in v.windows:
        for k in (-1, 0, 1):
            s0 = max(lo, a + 1440 * k - start_of_shift)
            s1 = min(hi, b + 1440 * k - start_of_shift)
            if s1 - s0 >= v.minutes:
                spans.append((s0, s1))
    return sorted(spans)


def _starts(v: Visit, spans: list[tuple[float, float]], rng: np.random.Generator) -> list[float]:
    """``per_shift`` start minutes inside ``spans`` (random or evenly spread)."""
    if not spans:
        return []
    room = np.array([b - a - v.minutes for a, b in spans])
    total = float(room.sum())
    n = v.per_shift
    if v.randomise:
        u = np.sort(rng.uniform(0.0, total, n)) if total > 0 else np.zeros(n)
    else:
        u = (np.arange(n) + 0.5) / n * total
    edges = np.concatenate([[0.0], np.cumsum(room)])
    out = []
    for x in u:
        j = min(int(np.searchsorted(edges, x, side="right")) - 1, len(spans) - 1)
        out.append(spans[j][0] + (x - edges[j]))
    return out
