"""Patrol patterns: a TOML file saying who patrols where, when and how.

A pattern names shift templates (start, length, days), ward teams (wards,
headcount and which shifts they work, station time, abstraction, patrol style
and beats), beats (a ward, a polygon or a loop of waypoints), scheduled hotspot
visits and the peak windows the plan is judged on. docs/planning.md has a
complete example and every key.

:func:`load_pattern` reads and checks a file on its own (types, ranges, unknown
keys, shift overlaps, names that refer to nothing); :meth:`Pattern.check_store`
then checks the names that only a store can confirm (wards, stations). Every
problem is a :class:`PatternError` of one line naming the file and the key,
such as ``north.toml: team.wards: ward 'X05000099' is not in the store (team 'North')``.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import VisibilityError
from ..synth.gps import PRESETS, GpsModel

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"all": tuple(range(7)), "weekdays": tuple(range(5)), "weekend": (5, 6)}
WEEK_MIN = 7 * 24 * 60


class PatternError(VisibilityError):
    """Raised when a pattern file is unreadable, or a key in it is unknown, missing or out of range."""


@dataclass(frozen=True)
class Style:
    """How a team moves on patrol."""

    name: str
    speed_kmh: tuple[float, float]  # range of an officer's moving speed
    stop_p: float  # chance of a stop at a waypoint
    stop_min: tuple[float, float]  # length of a stop (minutes)


#: Patrol styles and their defaults (``speed_kmh`` may be overridden per team).
STYLES = {
    "foot": Style("foot", (4.0, 5.8), 0.35, (1.0, 10.0)),
    "cycle": Style("cycle", (10.0, 16.0), 0.3, (1.0, 8.0)),
    "vehicle": Style("vehicle", (18.0, 40.0), 0.3, (3.0, 15.0)),
}


@dataclass(frozen=True)
class ShiftTemplate:
    name: str
    start_min: int  # local wall-clock minutes after midnight
    hours: float
    days: tuple[int, ...]  # 0 = Monday

    @property
    def minutes(self) -> float:
        return self.hours * 60.0

    def label(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d} for {self.hours:g} h"


@dataclass(frozen=True)
class RotaGroup:
    """Officers who all work the same shifts."""

    shifts: tuple[str, ...]
    officers: int
    wards: tuple[str, ...] | None = None  # dedicated to these of the team's wards


@dataclass(frozen=True)
class Team:
    name: str
    wards: tuple[str, ...]
    rota: tuple[RotaGroup, ...]
    style: Style
    briefing_min: float = 20.0
    debrief_min: float = 15.0
    break_min: float = 0.0
    abstraction_rate: float = 0.0
    station: str | None = None
    beats: tuple[str, ...] = ()
    beat_weights: tuple[float, ...] = ()

    @property
    def headcount(self) -> int:
        return sum(g.officers for g in self.rota)

    @property
    def shift_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for g in self.rota for s in g.shifts))


@dataclass(frozen=True)
class Beat:
    name: str
    kind: str  # ward | polygon | loop
    ward: str | None = None
    coords: tuple[tuple[float, float], ...] = ()  # lon, lat


@dataclass(frozen=True)
class Visit:
    name: str
    team: str
    kind: str  # cell | point | polygon
    cell: str | None = None
    point: tuple[float, float] | None = None  # lon, lat
    radius_m: float = 40.0
    polygon: tuple[tuple[float, float], ...] = ()
    per_shift: int = 1
    minutes: float = 15.0
    windows: tuple[tuple[int, int], ...] = ()  # local minutes after midnight; end may pass 1440
    shifts: tuple[str, ...] = ()
    days: tuple[int, ...] = tuple(range(7))
    randomise: bool = True

    def target_key(self) -> tuple:
        """What identifies the hotspot itself (two visits to one place share it)."""
        return (self.kind, self.cell, self.point, self.radius_m if self.kind == "point" else None,
                self.polygon)


@dataclass(frozen=True)
class Peak:
    name: str
    days: tuple[int, ...]
    window: tuple[int, int]
    weight: float = 1.0
    wards: tuple[str, ...] = ()  # the wards it applies to; all when empty


#: Peak windows used when no pattern names any.
DEFAULT_PEAKS = (
    Peak("evening", tuple(range(7)), (18 * 60, 22 * 60)),
    Peak("weekend night", (4, 5), (22 * 60, 26 * 60)),
)


@dataclass(frozen=True)
class Pattern:
    name: str
    source: str
    digest: str
    shifts: tuple[ShiftTemplate, ...]
    teams: tuple[Team, ...]
    beats: tuple[Beat, ...] = ()
    visits: tuple[Visit, ...] = ()
    peaks: tuple[Peak, ...] = ()
    gps: GpsModel = field(default_factory=GpsModel)
    description: str = ""
    timezone: str = "Europe/London"

    def shift(self, name: str) -> ShiftTemplate:
        return next(s for s in self.shifts if s.name == name)

    def beat(self, name: str) -> Beat | None:
        return next((b for b in self.beats if b.name == name), None)

    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    @property
    def wards(self) -> tuple[str, ...]:
        return tuple(sorted({w for t in self.teams for w in t.wards}))

    @property
    def headcount(self) -> int:
        return sum(t.headcount for t in self.teams)

    def peak_windows(self) -> tuple[Peak, ...]:
        return self.peaks or DEFAULT_PEAKS

    def check_store(self, ward_codes, station_ids) -> None:
        """Check the names only a store can confirm: every ward and station must be loaded."""
        ward_codes, station_ids = set(ward_codes), set(station_ids)
        for t in self.teams:
            for w in t.wards:
                if w not in ward_codes:
                    raise self.error("team.wards", f"ward {w!r} is not in the store (team {t.name!r})")
            if t.station is not None and t.station not in station_ids:
                known = ", ".join(sorted(station_ids)) or "none"
                raise self.error("team.station", f"station {t.station!r} is not in the store "
                                 f"(team {t.name!r}; stations: {known})")
        for b in self.beats:
            if b.kind == "ward" and b.ward not in ward_codes:
                raise self.error("beat.ward", f"ward {b.ward!r} is not in the store (beat {b.name!r})")
        for pk in self.peaks:
            for w in pk.wards:
                if w not in ward_codes:
                    raise self.error("peak.wards", f"ward {w!r} is not in the store (peak {pk.name!r})")

    def error(self, key: str, problem: str) -> PatternError:
        return PatternError(f"{self.source}: {key}: {problem}")


# ---------------------------------------------------------------------------
# Reading


def load_pattern(path: str | Path) -> Pattern:
    """Read and check a pattern file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PatternError(f"{path}: no such pattern file") from None
    except UnicodeDecodeError:
        raise PatternError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PatternError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_pattern(text, source=path.name, default_name=path.stem)


def parse_pattern(text: str, source: str = "pattern", default_name: str = "pattern") -> Pattern:
    """Parse and check a pattern from TOML text; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PatternError(f"{source}: not valid TOML ({exc})") from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return _Parser(source).pattern(data, digest, default_name)


class _Table:
    """One TOML table being read: tracks keys so that unknown ones can be named."""

    def __init__(self, parser: "_Parser", data, key: str, label: str = ""):
        if not isinstance(data, dict):
            raise parser.err(key, f"must be a table, not {_kind(data)}")
        self.p, self.data, self.key, self.label = parser, data, key, label
        self.used: set[str] = set()

    def where(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def fail(self, name: str, problem: str) -> PatternError:
        suffix = f" ({self.label})" if self.label else ""
        return self.p.err(self.where(name), problem + suffix)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default=None, required=False):
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "is missing")
            return default
        return self.data[name]

    def text(self, name: str, default=None, required=False) -> str | None:
        v = self.raw(name, default, required)
        if v is not default and not isinstance(v, str):
            raise self.fail(name, f"must be text, not {_kind(v)}")
        if isinstance(v, str) and not v.strip() and required:
            raise self.fail(name, "must not be empty")
        return v.strip() if isinstance(v, str) else v

    def number(self, name: str, default=None, required=False, lo=None, hi=None, lo_open=False,
               integer=False):
        v = self.raw(name, default, required)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            raise self.fail(name, f"must be {'a whole number' if integer else 'a number'}, not {v!r}")
        if not math.isfinite(v):
            raise self.fail(name, f"must be a finite number, not {v!r}")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            rule = f"more than {lo:g}" if lo_open else ("0 or more" if lo == 0 else f"at least {lo:g}")
            if lo == 0 and not lo_open and v < 0:
                raise self.fail(name, f"must not be negative, got {v!r}")
            raise self.fail(name, f"must be {rule}, got {v!r}")
        if hi is not None and v > hi:
            raise self.fail(name, f"must be at most {hi:g}, got {v!r}")
        return v

    def boolean(self, name: str, default: bool) -> bool:
        v = self.raw(name, default)
        if not isinstance(v, bool):
            raise self.fail(name, f"must be true or false, not {v!r}")
        return v

    def texts(self, name: str, default=None, required=False) -> tuple[str, ...] | None:
        v = self.raw(name, default, required)
        if v is default:
            return v
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(s, str) and s.strip() for s in v):
            raise self.fail(name, "must be a list of names")
        return tuple(s.strip() for s in v)

    def pair(self, name: str, default=None, lo=0.0) -> tuple[float, float] | None:
        v = self.raw(name, default)
        if v is default:
            return v
        if (not isinstance(v, list) or len(v) != 2
                or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in v)):
            raise self.fail(name, f"must be two numbers [low, high], not {v!r}")
        a, b = float(v[0]), float(v[1])
        if a < lo or b < a:
            raise self.fail(name, f"must be [low, high] with {lo:g} <= low <= high, got {v!r}")
        return a, b

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            known = ", ".join(sorted(self.used))
            raise self.fail(unknown[0], f"unknown key (known keys here: {known})")


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def err(self, key: str, problem: str) -> PatternError:
        return PatternError(f"{self.source}: {key}: {problem}")

    def tables(self, top: _Table, name: str, required=False) -> list:
        v = top.raw(name, [], required)
        if isinstance(v, dict):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
            raise self.err(top.where(name), f"must be tables written [[{top.where(name)}]]")
        if required and not v:
            raise self.err(top.where(name), "is missing")
        return v

    # -- the whole file ---------------------------------------------------------
    def pattern(self, data: dict, digest: str, default_name: str) -> Pattern:
        top = _Table(self, data, "")
        name = top.text("name", default_name) or default_name
        description = top.text("description", "") or ""
        timezone = top.text("timezone", "Europe/London")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(timezone)
        except Exception:
            raise self.err("timezone", f"unknown time zone {timezone!r}") from None
        shifts = self._unique("shift", [self.shift(t) for t in self.tables(top, "shift", True)])
        shift_names = {s.name for s in shifts}
        beats = self._unique("beat", [self.beat(t) for t in self.tables(top, "beat")])
        beat_names = {b.name for b in beats}
        teams = self._unique("team", [self.team(t, {s.name: s for s in shifts}, beat_names)
                                      for t in self.tables(top, "team", True)])
        visits = tuple(self.visit(t, {t.name: t for t in teams})
                       for t in self.tables(top, "visit"))
        peaks = self._unique("peak", [self.peak(t) for t in self.tables(top, "peak")])
        gps = self.gps(top.raw("gps", {}))
        top.done()
        unused = shift_names - {s for t in teams for s in t.shift_names}
        if unused:
            raise self.err("shift.name", f"shift {sorted(unused)[0]!r} is worked by no team")
        return Pattern(name=name, source=self.source, digest=digest, shifts=tuple(shifts),
                       teams=tuple(teams), beats=tuple(beats), visits=visits, peaks=tuple(peaks),
                       gps=gps, description=description, timezone=timezone)

    def _unique(self, kind: str, items: list) -> tuple:
        seen = set()
        for item in items:
            if item.name in seen:
                raise self.err(f"{kind}.name", f"{item.name!r} is used by two [[{kind}]] entries")
            seen.add(item.name)
        return tuple(items)

    # -- pieces -------------------------------------------------------------------
    def shift(self, data) -> ShiftTemplate:
        t = _Table(self, data, "shift")
        name = t.text("name", required=True)
        t.label = f"shift {name!r}"
        start = _clock(t, "start", t.text("start", required=True))
        hours = t.number("hours", required=True, lo=0, lo_open=True, hi=24)
        days = _days(t, "days", t.raw("days", "all"))
        t.done()
        return ShiftTemplate(name, start, float(hours), days)

    def team(self, data, shifts: dict, beat_names: set) -> Team:
        t = _Table(self, data, "team")
        name = t.text("name", required=True)
        t.label = f"team {name!r}"
        wards = t.texts("wards", required=True)
        if not wards:
            raise t.fail("wards", "must name at least one ward")
        style_name = t.text("style", "foot")
        if style_name not in STYLES:
            raise t.fail("style", f"{style_name!r} is not one of {', '.join(STYLES)}")
        style = STYLES[style_name]
        speed = t.pair("speed_kmh", None, lo=0.5)
        if speed is not None:
            if speed[1] > 130:
                raise t.fail("speed_kmh", f"must be at most 130 km/h, got {list(speed)!r}")
            style = Style(style.name, speed, style.stop_p, style.stop_min)
        briefing = float(t.number("briefing_min", 20.0, lo=0))
        debrief = float(t.number("debrief_min", 15.0, lo=0))
        brk = float(t.number("break_min", 0.0, lo=0))
        abstraction = float(t.number("abstraction_rate", 0.0, lo=0, hi=1))
        station = t.text("station", None)
        beats = t.texts("beats", None)
        weights = t.raw("beat_weights", None)
        rota = self.rota(t, shifts, wards)
        t.done()
        for g in rota:
            for s in g.shifts:
                if briefing + debrief + brk > shifts[s].minutes:
                    raise t.fail("briefing_min", f"briefing, debrief and break ({briefing + debrief + brk:g} min) "
                                 f"are longer than shift {s!r} ({shifts[s].minutes:g} min)")
        if beats is None:
            beats = tuple(wards)
        for b in beats:
            if b not in beat_names and b not in wards:
                raise t.fail("beats", f"{b!r} is neither a [[beat]] name nor one of the team's wards")
        if weights is None:
            weights = (1.0,) * len(beats)
        else:
            if (not isinstance(weights, list) or len(weights) != len(beats)
                    or not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights)):
                raise t.fail("beat_weights", f"must be {len(beats)} numbers, one per beat")
            if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
                raise t.fail("beat_weights", "must not be negative, and at least one must be more than 0")
            weights = tuple(float(w) for w in weights)
        return Team(name=name, wards=tuple(wards), rota=rota, style=style, briefing_min=briefing,
                    debrief_min=debrief, break_min=brk, abstraction_rate=abstraction,
                    station=station, beats=tuple(beats), beat_weights=tuple(weights))

    def rota(self, t: _Table, shifts: dict, wards) -> tuple[RotaGroup, ...]:
        groups = []
        if t.has("rota"):
            if t.has("headcount") or t.has("shifts"):
                raise t.fail("rota", "give headcount and shifts, or [[team.rota]] groups, not both")
            for data in self.tables(t, "rota", True):
                g = _Table(self, data, "team.rota", t.label)
                names = g.texts("shifts", required=True)
                officers = g.number("officers", required=True, lo=1, integer=True)
                own = g.texts("wards", None)
                g.done()
                for s in names:
                    if s not in shifts:
                        raise g.fail("shifts", f"no [[shift]] is named {s!r}")
                if own is not None:
                    for w in own:
                        if w not in wards:
                            raise g.fail("wards", f"ward {w!r} is not one of the team's wards")
                _check_overlaps(g, "shifts", [shifts[s] for s in names])
                groups.append(RotaGroup(tuple(names), int(officers), tuple(own) if own else None))
        else:
            headcount = t.number("headcount", required=True, lo=1, integer=True)
            names = t.texts("shifts", required=True)
            if not names:
                raise t.fail("shifts", "must name at least one shift")
            for s in names:
                if s not in shifts:
                    raise t.fail("shifts", f"no [[shift]] is named {s!r}")
            for i, s in enumerate(names):
                n = headcount // len(names) + (1 if i < headcount % len(names) else 0)
                if n:
                    groups.append(RotaGroup((s,), n))
        return tuple(groups)

    def beat(self, data) -> Beat:
        t = _Table(self, data, "beat")
        name = t.text("name", required=True)
        t.label = f"beat {name!r}"
        given = [k for k in ("ward", "polygon", "loop") if t.has(k)]
        if len(given) != 1:
            raise t.fail("ward", "give exactly one of ward, polygon or loop")
        kind = given[0]
        if kind == "ward":
            beat = Beat(name, "ward", ward=t.text("ward", required=True))
        else:
            coords = _coords(t, kind, t.raw(kind), 3 if kind == "polygon" else 2)
            if kind == "polygon":
                _check_polygon(t, kind, coords)
            beat = Beat(name, kind, coords=coords)
        t.done()
        return beat

    def visit(self, data, teams: dict) -> Visit:
        t = _Table(self, data, "visit")
        name = t.text("name", required=True)
        t.label = f"visit {name!r}"
        team_name = t.text("team", required=True)
        if team_name not in teams:
            raise t.fail("team", f"no [[team]] is named {team_name!r}")
        team = teams[team_name]
        given = [k for k in ("cell", "point", "polygon") if t.has(k)]
        if len(given) != 1:
            raise t.fail("point", "give exactly one of cell, point or polygon")
        kind = given[0]
        cell, point, polygon = None, None, ()
        if kind == "cell":
            import h3

            cell = t.text("cell", required=True).lower()
            if not h3.is_valid_cell(cell):
                raise t.fail("cell", f"{cell!r} is not an H3 cell id")
        elif kind == "point":
            point = _coords(t, "point", [t.raw("point")], 1)[0]
        else:
            polygon = _coords(t, "polygon", t.raw("polygon"), 3)
            _check_polygon(t, "polygon", polygon)
        radius = float(t.number("radius_m", 40.0, lo=0, lo_open=True, hi=1000))
        if kind != "point" and t.has("radius_m"):
            raise t.fail("radius_m", "applies to a point visit only")
        per_shift = int(t.number("per_shift", 1, lo=0, integer=True, hi=20))
        minutes = float(t.number("minutes", 15.0, lo=0, lo_open=True, hi=240))
        windows = tuple(_window(t, "windows", w) for w in (t.texts("windows", ()) or ()))
        vshifts = t.texts("shifts", ()) or ()
        for s in vshifts:
            if s not in team.shift_names:
                raise t.fail("shifts", f"team {team_name!r} works no shift named {s!r}")
        days = _days(t, "days", t.raw("days", "all"))
        randomise = t.boolean("randomise", True)
        t.done()
        return Visit(name=name, team=team_name, kind=kind, cell=cell, point=point, radius_m=radius,
                     polygon=polygon, per_shift=per_shift, minutes=minutes, windows=windows,
                     shifts=tuple(vshifts), days=days, randomise=randomise)

    def peak(self, data) -> Peak:
        t = _Table(self, data, "peak")
        name = t.text("name", required=True)
        t.label = f"peak {name!r}"
        days = _days(t, "days", t.raw("days", "all"))
        window = _window(t, "hours", t.text("hours", required=True))
        weight = float(t.number("weight", 1.0, lo=0, lo_open=True))
        wards = t.texts("wards", ()) or ()
        t.done()
        return Peak(name, days, window, weight, tuple(wards))

    def gps(self, data) -> GpsModel:
        t = _Table(self, data, "gps")
        preset = t.text("preset", "radio")
        if preset not in PRESETS:
            raise t.fail("preset", f"{preset!r} is not one of {', '.join(PRESETS)}")
        model = PRESETS[preset]
        changes = {}
        for f in fields(GpsModel):
            if not t.has(f.name):
                continue
            if f.name in ("sigma_m", "dropout_s"):
                changes[f.name] = t.pair(f.name)
            else:
                changes[f.name] = float(t.number(f.name, lo=0))
        t.done()
        try:
            return model.replace(**changes)
        except ValueError as exc:
            raise self.err(f"gps.{str(exc).split(':')[0]}", str(exc).split(": ", 1)[1]) from None


# ---------------------------------------------------------------------------
# Small parsers


def _kind(v) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "true/false"}.get(type(v), type(v).__name__)


def _clock(t: _Table, key: str, text: str, allow_24=False) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text or "")
    if not m or int(m.group(2)) > 59 or int(m.group(1)) > 24 or (int(m.group(1)) == 24 and int(m.group(2))):
        raise t.fail(key, f"{text!r} is not a time like 07:00")
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes == 1440 and not allow_24:
        raise t.fail(key, f"{text!r} is not a time like 07:00")
    return minutes


def _window(t: _Table, key: str, text: str) -> tuple[int, int]:
    """'18:00-22:00' as minutes after midnight; an end at or before the start is the next day."""
    parts = (text or "").split("-")
    if len(parts) != 2:
        raise t.fail(key, f"{text!r} is not a window like 18:00-22:00")
    a = _clock(t, key, parts[0].strip())
    b = _clock(t, key, parts[1].strip(), allow_24=True)
    if b == a:
        raise t.fail(key, f"{text!r} is an empty window")
    if b < a:
        b += 1440
    return a, b


def _days(t: _Table, key: str, value) -> tuple[int, ...]:
    if isinstance(value, str):
        v = value.strip().lower()
        if v in DAY_SETS:
            return DAY_SETS[v]
        value = [v]
    if not isinstance(value, list) or not value:
        raise t.fail(key, "must be a list of days like [\"mon\", \"tue\"], or all, weekdays, weekend")
    out = []
    for d in value:
        d3 = str(d).strip().lower()[:3]
        if not isinstance(d, str) or d3 not in DAYS:
            raise t.fail(key, f"{d!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
        out.append(DAYS.index(d3))
    return tuple(sorted(set(out)))


def _coords(t: _Table, key: str, value, at_least: int) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or len(value) < at_least:
        raise t.fail(key, f"must be a list of at least {at_least} [lon, lat] points")
    out = []
    for p in value:
        if (not isinstance(p, list) or len(p) != 2
                or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in p)):
            raise t.fail(key, f"{p!r} is not a [lon, lat] point")
        lon, lat = float(p[0]), float(p[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise t.fail(key, f"{p!r} is not a [lon, lat] point in degrees")
        out.append((lon, lat))
    return tuple(out)


def _check_polygon(t: _Table, key: str, coords) -> None:
    import shapely
    from shapely.geometry import Polygon

    poly = Polygon(coords)
    if not shapely.is_valid(poly) or poly.area == 0:
        raise t.fail(key, "is not a valid polygon (its edges cross, or it has no area)")


def _check_overlaps(t: _Table, key: str, templates: list[ShiftTemplate]) -> None:
    """Shifts worked by the same officers must not overlap, in the week or across its end."""
    spans = []
    for s in templates:
        for d in s.days:
            a = d * 1440 + s.start_min
            spans.append((a, a + s.minutes, s, d))
    spans.sort(key=lambda x: x[0])
    for i, (a, b, s, d) in enumerate(spans):
        for a2, b2, s2, d2 in spans[i + 1:] + [(x + WEEK_MIN, y + WEEK_MIN, z, w) for x, y, z, w in spans]:
            if (a2, s2.name, d2) == (a, s.name, d) or a2 >= b:
                continue
            first = f"{s.name!r} ({DAYS[d].title()} {s.label()})"
            second = f"{s2.name!r} ({DAYS[d2].title()} {s2.label()})"
            raise t.fail(key, f"{first} overlaps {second} for the same officers")
