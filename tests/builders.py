"""Builders that keep tests short: tracks, shifts, stores."""

from __future__ import annotations

import math

import numpy as np

S = 1_000_000  # microseconds per second
M_PER_DEG_LAT = 111_195.0  # metres per degree of latitude on the mean sphere (approx.)


def offset(lat, lon, north_m=0.0, east_m=0.0):
    """A point ``north_m``/``east_m`` metres from (lat, lon), small-distance approximation."""
    return (lat + north_m / M_PER_DEG_LAT,
            lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))))


def make_track(times_s, lat=51.5, lon=-0.1, east_m_per_s=0.0, acc=None, in_station=None,
               on_patch=None):
    """Fixes at the given seconds moving east at a constant speed (0 = standing)."""
    times = np.asarray(times_s, float)
    lats = np.full(len(times), lat)
    lons = np.array([offset(lat, lon, 0, east_m_per_s * t)[1] for t in times])
    return {
        "t_us": (times * S).astype(np.int64),
        "lat": lats,
        "lon": lons,
        "acc": np.full(len(times), np.nan) if acc is None else np.asarray(acc, float),
        "in_station": np.zeros(len(times), bool) if in_station is None else np.asarray(in_station, bool),
        "on_patch": np.ones(len(times), bool) if on_patch is None else np.asarray(on_patch, bool),
    }


def run_one(track, start_s, end_s, **policy):
    """Run the kernel on one shift; return its output dict."""
    from visibility.kernels import track_pass

    settings = dict(max_gap_s=120.0, spike_speed_kmh=200.0, accuracy_limit_m=100.0,
                    transit_speed_kmh=25.0, speed_window=1)
    settings.update(policy)
    n = len(track["t_us"])
    return track_pass(np.array([0, n]), np.array([start_s * S]), np.array([end_s * S]),
                      track["t_us"], track["lat"], track["lon"], track["acc"],
                      track["in_station"], track["on_patch"], **settings)


def square(lon0, lat0, size_deg):
    return [[lon0, lat0], [lon0 + size_deg, lat0], [lon0 + size_deg, lat0 + size_deg],
            [lon0, lat0 + size_deg], [lon0, lat0]]


def write_wards(path, wards):
    """Write a GeoJSON of square wards: ``wards`` is a list of (code, name, lon0, lat0, size)."""
    import json

    features = [
        {"type": "Feature",
         "properties": {"code": code, "name": name, "bcode": "B1", "bname": "Testborough"},
         "geometry": {"type": "Polygon", "coordinates": [square(lon0, lat0, size)]}}
        for code, name, lon0, lat0, size in wards
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


TWO_WARDS = [("W1", "Alpha", -0.10, 51.50, 0.01), ("W2", "Beta", -0.10 + 0.01, 51.50, 0.01)]


def tiny_world(tmp_path):
    """Files for a tiny borough: two wards, a station, one officer, one shift, one hour of fixes.

    Officer O1 (ward W1) walks in W1 for the first 30 minutes of a 08:00-09:00 UTC shift,
    then stands in W2 for 30 minutes. Fixes every 15 s.
    """
    import json

    wards = write_wards(tmp_path / "wards.geojson", TWO_WARDS)
    stations = tmp_path / "stations.geojson"
    stations.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Central", "radius_m": 50},
         "geometry": {"type": "Point", "coordinates": [-0.099, 51.509]}}]}))
    officers = tmp_path / "officers.csv"
    officers.write_text("officer_id,team,ward_code,role\nO1,Alpha team,W1,PC\n")
    shifts = tmp_path / "shifts.csv"
    shifts.write_text("officer_id,start,end,kind,reason\nO1,2026-11-16T08:00:00Z,"
                      "2026-11-16T09:00:00Z,neighbourhood,\n")
    rows = ["officer_id,timestamp,lat,lon,accuracy_m"]
    for k in range(240):
        t = 8 * 3600 + k * 15
        if k < 120:  # walking to and fro along 180 m of W1 at 1.2 m/s
            lat, lon = offset(51.505, -0.097, 0, 180 - abs((k * 15 * 1.2) % 360 - 180))
        else:  # standing in W2, 200 m east of the W1/W2 edge
            lat, lon = offset(51.505, -0.09, 0, 200)
        hh, mm, ss = t // 3600, t // 60 % 60, t % 60
        rows.append(f"O1,2026-11-16T{hh:02d}:{mm:02d}:{ss:02d}Z,{lat:.7f},{lon:.7f},5")
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("\n".join(rows) + "\n")
    return {"wards": wards, "stations": stations, "officers": officers, "shifts": shifts,
            "fixes": fixes}


def run_cli(*args, db=None, catch_exceptions: bool = False):
    """``visibility ARGS [--db DB]`` in-process; exceptions propagate unless asked not to."""
    from click.testing import CliRunner

    from visibility.cli import main

    argv = [str(a) for a in args] + (["--db", str(db)] if db else [])
    return CliRunner().invoke(main, argv, catch_exceptions=catch_exceptions)


def load_world_by_cli(world: dict, db, *analyse_args) -> None:
    """Build a store from a world's files through the commands, then analyse."""
    steps = [
        ("init",),
        ("boundaries", "load", world["wards"], "--code-field", "code", "--name-field", "name",
         "--borough-code-field", "bcode", "--borough-name-field", "bname"),
        ("stations", "load", world["stations"]),
        ("roster", "load", "--officers", world["officers"], "--shifts", world["shifts"]),
        ("ingest", world["fixes"]),
        ("analyse", *analyse_args),
    ]
    for step in steps:
        result = run_cli(*step, db=db)
        assert result.exit_code == 0, (step, result.output)
