"""Builders for the coverage, dosage and workforce tests: small real stores, hand-placed fixes.

The wards are builders.TWO_WARDS (W1 and W2, side by side, borough B1). Officers
stand at named points for stretches of 15 s fixes; a shift running exactly from
an officer's first fix to 15 s after the last makes the on-patch time exactly
the shift.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from builders import TWO_WARDS, offset, write_wards
from visibility.analyse import analyse
from visibility.boundaries import load_wards
from visibility.ingest import ingest_file
from visibility.roster import load_roster
from visibility.store import Store

#: Points: P in W1 (a hotspot cell), Q in W1 200 m east of P (another cell), R in W2.
P = (51.505, -0.095)
Q = offset(*P, 0, 200)
R = (51.505, -0.085)
STEP_S = 15


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stay(officer: str, start: str, seconds: float, point) -> list[tuple]:
    """Fixes every 15 s at ``point`` for ``seconds`` from ``start`` (the last at start+seconds-15)."""
    t0 = at(start)
    return [(officer, t0 + timedelta(seconds=k * STEP_S), point)
            for k in range(int(seconds // STEP_S))]


def path(officer: str, start: str, legs: list[tuple[float, tuple]]) -> list[tuple]:
    """Consecutive stays: ``legs`` is [(seconds, point), ...] starting at ``start``."""
    fixes, t = [], at(start)
    for seconds, point in legs:
        fixes += stay(officer, iso(t), seconds, point)
        t += timedelta(seconds=seconds)
    return fixes


def shift_of(fixes: list[tuple], kind: str = "neighbourhood", reason: str = "") -> tuple:
    """The shift exactly spanning an officer's fixes (first fix to 15 s after the last)."""
    first, last = fixes[0][1], fixes[-1][1] + timedelta(seconds=STEP_S)
    return (fixes[0][0], iso(first), iso(last), kind, reason)


def build(tmp_path, officers, shifts, fixes, name="w.duckdb", analyse_it=True) -> Store:
    """A store with TWO_WARDS, the roster and fixes given, analysed."""
    wards = write_wards(tmp_path / "wards.geojson", TWO_WARDS)
    o = tmp_path / "officers.csv"
    o.write_text("officer_id,team,ward_code\n" + "".join(f"{a},{b},{c}\n" for a, b, c in officers))
    s = tmp_path / "shifts.csv"
    s.write_text("officer_id,start,end,kind,reason\n"
                 + "".join(",".join(row) + "\n" for row in shifts))
    f = tmp_path / "fixes.csv"
    f.write_text("officer_id,timestamp,lat,lon\n" + "".join(
        f"{oid},{iso(t)},{lat:.7f},{lon:.7f}\n" for oid, t, (lat, lon) in fixes))
    store = Store.create(tmp_path / name)
    load_wards(store, [wards], "code", "name", borough_code_field="bcode",
               borough_name_field="bname")
    load_roster(store, o, s)
    if fixes:
        ingest_file(store, f)
    if analyse_it:
        analyse(store)
    return store


def write_geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
