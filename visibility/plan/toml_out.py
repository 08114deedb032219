"""Write a :class:`~visibility.plan.pattern.Pattern` back out as a pattern file (TOML).

The output reads back with :func:`~visibility.plan.pattern.parse_pattern` to
an equal pattern (apart from its source and digest); the tests check that.
"""

from __future__ import annotations

import json

from ..synth.gps import RADIO
from .pattern import DAYS, Pattern


def _s(v) -> str:
    """A TOML value: text, number, bool or a (nested) list of them."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return "[" + ", ".join(_s(x) for x in v) + "]"


def _clock(m: int) -> str:
    m %= 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def _window(w: tuple[int, int]) -> str:
    end = w[1]
    return f"{_clock(w[0])}-{'24:00' if end == 1440 else _clock(end)}"


def _days(days) -> list[str]:
    return [DAYS[d] for d in days]


def pattern_to_toml(p: Pattern, header: str = "") -> str:
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    out += [f"name = {_s(p.name)}", f"description = {_s(p.description)}", f"timezone = {_s(p.timezone)}", ""]
    for s in p.shifts:
        out += ["[[shift]]", f"name = {_s(s.name)}", f"start = {_s(_clock(s.start_min))}",
                f"hours = {_s(s.hours)}", f"days = {_s(_days(s.days))}", ""]
    for t in p.teams:
        out += ["[[team]]", f"name = {_s(t.name)}", f"wards = {_s(t.wards)}", f"style = {_s(t.style.name)}",
                f"speed_kmh = {_s(t.style.speed_kmh)}", f"briefing_min = {_s(t.briefing_min)}",
                f"debrief_min = {_s(t.debrief_min)}", f"break_min = {_s(t.break_min)}",
                f"abstraction_rate = {_s(t.abstraction_rate)}"]
        if t.station is not None:
            out.append(f"station = {_s(t.station)}")
        out += [f"beats = {_s(t.beats)}", f"beat_weights = {_s([round(w, 4) for w in t.beat_weights])}", ""]
        for g in t.rota:
            out += ["  [[team.rota]]", f"  shifts = {_s(g.shifts)}", f"  officers = {g.officers}"]
            if g.wards:
                out.append(f"  wards = {_s(g.wards)}")
            out.append("")
    for b in p.beats:
        out += ["[[beat]]", f"name = {_s(b.name)}"]
        out.append(f"ward = {_s(b.ward)}" if b.kind == "ward" else f"{b.kind} = {_s(b.coords)}")
        out.append("")
    for v in p.visits:
        out += ["[[visit]]", f"name = {_s(v.name)}", f"team = {_s(v.team)}"]
        if v.kind == "cell":
            out.append(f"cell = {_s(v.cell)}")
        elif v.kind == "point":
            out += [f"point = {_s(v.point)}", f"radius_m = {_s(v.radius_m)}"]
        else:
            out.append(f"polygon = {_s(v.polygon)}")
        out += [f"per_shift = {v.per_shift}", f"minutes = {_s(v.minutes)}",
                f"windows = {_s([_window(w) for w in v.windows])}"]
        if v.shifts:
            out.append(f"shifts = {_s(v.shifts)}")
        out += [f"days = {_s(_days(v.days))}", f"randomise = {_s(v.randomise)}", ""]
    for pk in p.peaks:
        out += ["[[peak]]", f"name = {_s(pk.name)}", f"days = {_s(_days(pk.days))}",
                f"hours = {_s(_window(pk.window))}", f"weight = {_s(pk.weight)}"]
        if pk.wards:
            out.append(f"wards = {_s(pk.wards)}")
        out.append("")
    changed = {k: v for k, v in p.gps.to_dict().items() if v != RADIO.to_dict()[k]}
    if changed:
        out.append("[gps]")
        out += [f"{k} = {_s(v)}" for k, v in changed.items()]
        out.append("")
    return "\n".join(out)
