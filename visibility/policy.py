"""Policy: every threshold of the measurement method, with the defaults built in.

A policy file is TOML with the same keys as :class:`Policy` (flat, or grouped
in any tables whose names are ignored). Unknown keys and values out of range
are a :class:`~visibility.errors.PolicyError` naming the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import PolicyError


@dataclass(frozen=True)
class Policy:
    """The settings of the measurement method (see docs/policy.md)."""

    #: Local time zone for naive timestamps, days, weeks and hours of the week.
    timezone: str = "Europe/London"
    #: H3 resolution of the ward cells and of presence (10: cells of about 0.015 km²).
    h3_resolution: int = 10
    #: Longest gap a fix may bridge: each side of a fix owns at most half of it.
    max_gap_s: float = 120.0
    #: A fix reached from and left for its neighbours faster than this is a spike.
    spike_speed_kmh: float = 200.0
    #: A fix whose reported accuracy is worse than this is unreliable.
    accuracy_limit_m: float = 100.0
    #: Geofence radius of a station given as a point.
    station_radius_m: float = 50.0
    #: Polygon stations are grown by this much, to absorb GPS error indoors.
    station_margin_m: float = 20.0
    #: Smoothed speed above which a fix counts as transit (in a vehicle).
    transit_speed_kmh: float = 25.0
    #: Reliable neighbours on each side used to smooth the speed of a fix.
    speed_window: int = 1
    #: The pledge line for the visible share.
    pledge_line: float = 0.80
    #: Whether abstracted shifts count in rostered duty time (the denominator).
    include_abstracted: bool = True
    #: Reports: a share below the pledge line by at most this much is amber ("near"), lower is red.
    amber_band: float = 0.05
    #: Team, ward or borough figures from fewer officers than this are marked as small groups
    #: (and blanked in shared exports), so no individual can be singled out.
    min_group_officers: int = 3

    #: Weekly local-time peak windows ("Fri-Sat 20:00-03:00"; "CODE: ..." for one ward or borough).
    peak_windows: tuple[str, ...] = ("Mon-Thu 15:00-23:00", "Fri-Sat 15:00-03:00",
                                     "Sun 15:00-23:00")
    #: Where peak windows come from: "configured" (peak_windows) or "demand" (busiest hours).
    peak_source: str = "configured"
    #: Derived peaks: the busiest hours of the week that together hold this share of demand.
    peak_demand_share: float = 0.5
    #: Derive peak windows per "borough" or per "ward".
    peak_demand_scope: str = "borough"
    #: An area needs at least this many timed incidents for its peaks to be derived.
    peak_demand_min: int = 100
    #: Derived hotspots: the busiest cells of demand per ward (0: no limit).
    hotspot_top_cells: int = 3
    #: Derived hotspots: a cell needs at least this much demand.
    hotspot_min_demand: int = 1
    #: A visit to a hotspot survives exits (or silences) up to this long.
    visit_bridge_s: float = 60.0
    #: Visits shorter than this are pass-bys.
    visit_short_min: float = 2.0
    #: Visits from this long up to visit_effective_max_min are effective (the Koper curve).
    visit_effective_min: float = 10.0
    #: Visits longer than this are long.
    visit_effective_max_min: float = 15.0
    #: A hotspot should be visited at least this often in its peak windows.
    hotspot_revisit_min: float = 120.0

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PolicyError(f"policy timezone: unknown time zone {self.timezone!r}") from None
        checks = {
            "h3_resolution": 0 <= self.h3_resolution <= 15,
            "max_gap_s": 0 < self.max_gap_s <= 3600,
            "spike_speed_kmh": self.spike_speed_kmh > 0,
            "accuracy_limit_m": self.accuracy_limit_m > 0,
            "station_radius_m": self.station_radius_m >= 0,
            "station_margin_m": self.station_margin_m >= 0,
            "transit_speed_kmh": self.transit_speed_kmh > 0,
            "speed_window": 1 <= self.speed_window <= 10,
            "pledge_line": 0 < self.pledge_line <= 1,
            "amber_band": 0 <= self.amber_band <= 0.5,
            "min_group_officers": 1 <= self.min_group_officers <= 1000,
        }
        limits = {
            "h3_resolution": "an integer 0-15",
            "max_gap_s": "more than 0 and at most 3600",
            "speed_window": "an integer 1-10",
            "pledge_line": "more than 0 and at most 1",
            "amber_band": "0 or more and at most 0.5",
            "min_group_officers": "an integer 1-1000",
        }
        for key, ok in checks.items():
            if not ok:
                rule = limits.get(key, "0 or more" if key.startswith("station_") else "positive")
                raise PolicyError(f"policy {key}: {getattr(self, key)!r} must be {rule}")
        self._check_coverage_settings()

    def _check_coverage_settings(self) -> None:
        """Peak windows, hotspots and visits (docs/peaks.md)."""
        from .peaks import parse_window

        checks = {
            "peak_demand_share": (0 < self.peak_demand_share <= 1, "more than 0 and at most 1"),
            "peak_demand_min": (self.peak_demand_min >= 1, "an integer 1 or more"),
            "hotspot_top_cells": (self.hotspot_top_cells >= 0, "an integer 0 or more"),
            "hotspot_min_demand": (self.hotspot_min_demand >= 1, "an integer 1 or more"),
            "visit_bridge_s": (0 <= self.visit_bridge_s <= 3600, "0 to 3600"),
            "visit_short_min": (self.visit_short_min > 0, "positive"),
            "visit_effective_min": (self.visit_effective_min > self.visit_short_min,
                                    "more than visit_short_min"),
            "visit_effective_max_min": (self.visit_effective_max_min > self.visit_effective_min,
                                        "more than visit_effective_min"),
            "hotspot_revisit_min": (self.hotspot_revisit_min > 0, "positive"),
            "peak_source": (self.peak_source in ("configured", "demand"),
                            "one of configured, demand"),
            "peak_demand_scope": (self.peak_demand_scope in ("borough", "ward"),
                                  "one of borough, ward"),
        }
        for key, (ok, rule) in checks.items():
            if not ok:
                raise PolicyError(f"policy {key}: {getattr(self, key)!r} must be {rule}")
        for text in self.peak_windows:
            try:
                parse_window(text)
            except PolicyError as exc:
                raise PolicyError(f"policy peak_windows: {exc}") from None

    # ------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: dict) -> "Policy":
        """Build a policy from a (possibly nested) mapping, checking keys and types."""
        flat: dict = {}
        for key, value in values.items():
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in flat.items():
            if key not in known:
                raise PolicyError(f"policy: unknown setting {key!r} (known: {', '.join(known)})")
            kwargs[key] = _coerce(key, known[key].type, value)
        return cls(**kwargs)

    @classmethod
    def load(cls, path: str | Path | None) -> "Policy":
        """Read a TOML policy file; ``None`` gives the defaults."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"policy file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise PolicyError(f"policy file {path}: not UTF-8 text") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy file {path}: not valid TOML ({exc})") from None
        return cls.from_mapping(data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def digest(self) -> str:
        """A short hash identifying these settings in results and audit trails."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes) -> "Policy":
        return dataclasses.replace(self, **changes)


def _coerce(key: str, type_name, value):
    type_name = type_name if isinstance(type_name, str) else type_name.__name__
    if type_name == "bool":
        if isinstance(value, bool):
            return value
    elif type_name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif type_name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif type_name == "str":
        if isinstance(value, str):
            return value
    elif type_name.startswith("tuple"):
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise PolicyError(f"policy {key}: {value!r} is not a list of strings")
    raise PolicyError(f"policy {key}: {value!r} is not a {type_name}")
