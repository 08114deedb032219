"""Simulating a pattern: the tracks obey it, and go through the real analysis into their own store."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import LineString, Point

from visibility.boundaries import load_stations, load_wards, stored_wards
from visibility.errors import StoreError
from visibility.plan.measures import measure
from visibility.plan.pattern import PatternError, parse_pattern
from visibility.plan.simulate import scenario_tag, simulate, target_of
from visibility.store import Store
from visibility.summary import summarise
from visibility.synth._frame import LocalFrame

ROOT = Path(__file__).resolve().parents[1]
MONDAY = date(2026, 11, 23)  # 2026-W48; the UK is on GMT, so local time is UTC

# A square loop of about 280 m by 290 m round the middle of Ashcombe (X05000001).
LOOP = [[-0.0660, 51.5849], [-0.0620, 51.5849], [-0.0620, 51.5875], [-0.0660, 51.5875]]
HOTSPOT = [-0.065160, 51.581963]

OBEY = f"""
name = "loop and visits"

[[shift]]
name = "early"
start = "07:00"
hours = 8
days = ["mon", "tue", "wed"]

[[shift]]
name = "night"
start = "22:00"
hours = 9
days = ["sat"]

[[team]]
name = "Ash"
wards = ["X05000001"]
style = "foot"
briefing_min = 20
debrief_min = 15
beats = ["square"]

  [[team.rota]]
  shifts = ["early"]
  officers = 1

  [[team.rota]]
  shifts = ["night"]
  officers = 1

[[beat]]
name = "square"
loop = {LOOP}

[[visit]]
name = "Parade"
team = "Ash"
point = {HOTSPOT}
radius_m = 40
per_shift = 2
minutes = 12
windows = ["10:00-14:00"]
shifts = ["early"]
"""

FOOT_PERFECT = """
name = "perfect foot"

[[shift]]
name = "day"
start = "08:00"
hours = 8
days = ["mon", "tue"]

[[team]]
name = "Gorse"
wards = ["X05000007"]
station = "STN1"
style = "foot"
briefing_min = 30
debrief_min = 30
headcount = 2
shifts = ["day"]

[gps]
preset = "perfect"
"""

IN_STATION = """
name = "all in"

[[shift]]
name = "day"
start = "08:00"
hours = 8
days = ["mon", "tue"]

[[team]]
name = "Gorse"
wards = ["X05000007"]
station = "STN1"
briefing_min = 240
debrief_min = 240
headcount = 3
shifts = ["day"]
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A real store with the sample borough's wards and stations, and nothing else."""
    db = tmp_path_factory.mktemp("base") / "base.duckdb"
    with Store.create(db) as store:
        load_wards(store, [ROOT / "boundaries" / "sample_wards.geojson"], "ward_code", "ward_name",
                   borough_code_field="borough_code", borough_name_field="borough_name")
        load_stations(store, ROOT / "boundaries" / "sample_stations.geojson")
    return db


@pytest.fixture(scope="module")
def obey(base, tmp_path_factory):
    p = parse_pattern(OBEY, source="obey.toml")
    out = tmp_path_factory.mktemp("obey") / "plan.duckdb"
    return p, simulate(p, base, out, MONDAY, seed=5)


def _frame():
    return LocalFrame(lat0=51.58, lon0=-0.06)


def test_the_scenario_store_is_tagged_and_the_real_one_untouched(base, obey):
    p, sc = obey
    with Store.open(sc.store, read_only=True) as store:
        tag = scenario_tag(store)
        assert tag["pattern"] == "loop and visits" and tag["seed"] == 5 and tag["week"] == "2026-W48"
        assert tag["digest"] == p.digest
        assert store.count("wards") == 16 and store.count("stations") == 3
        assert store.count("pings") == sc.fixes > 0
        assert store.count("shift_results") == sc.shifts == 4
    with Store.open(base, read_only=True) as store:
        assert scenario_tag(store) is None
        assert store.count("pings") == 0 and store.count("shifts") == 0
    for name in ("officers.csv", "shifts.csv", "fixes.parquet", "visits.csv"):
        assert (sc.files / name).exists()


def test_shift_times_obey_the_pattern(obey):
    _, sc = obey
    with Store.open(sc.store, read_only=True) as store:
        rows = store.con.execute(
            "SELECT officer_id, strftime(start_ts, '%Y-%m-%d %H:%M'), strftime(end_ts, '%Y-%m-%d %H:%M'), kind "
            "FROM shifts ORDER BY officer_id, start_ts").fetchall()
        outside = store.con.execute(
            "SELECT count(*) FROM pings p WHERE NOT EXISTS (SELECT 1 FROM shifts s WHERE "
            "s.officer_id = p.officer_id AND p.ts >= s.start_ts AND p.ts < s.end_ts)").fetchall()[0][0]
    assert rows == [
        ("ASH-01", "2026-11-23 07:00", "2026-11-23 15:00", "neighbourhood"),
        ("ASH-01", "2026-11-24 07:00", "2026-11-24 15:00", "neighbourhood"),
        ("ASH-01", "2026-11-25 07:00", "2026-11-25 15:00", "neighbourhood"),
        ("ASH-02", "2026-11-28 22:00", "2026-11-29 07:00", "neighbourhood"),  # across midnight
    ]
    assert outside == 0


def _seconds(ts) -> np.ndarray:
    return np.array([x.timestamp() for x in ts])


def test_patrol_keeps_to_the_loop_and_the_station_time(obey):
    _, sc = obey
    fixes = pq.read_table(sc.files / "fixes.parquet").to_pandas()
    fixes = fixes[fixes["officer_id"] == "ASH-02"]  # the night shift: no visits, just the beat
    t = _seconds(fixes["timestamp"]) - datetime.fromisoformat("2026-11-28T22:00:00+00:00").timestamp()
    frame = _frame()
    x, y = frame.to_xy(fixes["lon"].to_numpy(), fixes["lat"].to_numpy())
    loop = frame.geom_to_xy(LineString(LOOP + [LOOP[0]]))
    d = shapely.distance(loop, shapely.points(x, y))
    patrol = (t > 20 * 60 + 30 * 60) & (t < 9 * 3600 - 15 * 60 - 30 * 60)
    assert np.median(d[patrol]) < 15 and np.mean(d[patrol] < 40) > 0.9
    with Store.open(sc.store, read_only=True) as store:
        night = store.con.execute(
            "SELECT in_station_us / 1e6, duration_us / 1e6 FROM shift_results WHERE officer_id = 'ASH-02'"
        ).fetchall()[0]
    # 20 + 15 minutes of briefing and debrief, give or take the walk through the geofence and GPS loss
    assert 25 * 60 < night[0] < 45 * 60


def test_visit_counts_and_lengths_obey_the_pattern(obey):
    p, sc = obey
    with open(sc.files / "visits.csv", newline="") as fh:
        planned = list(csv.DictReader(fh))
    assert len(planned) == 6 == sc.visits_planned  # 2 in each of the 3 earlies
    fixes = pq.read_table(sc.files / "fixes.parquet").to_pandas()
    t = _seconds(fixes["timestamp"])
    frame = LocalFrame(lat0=HOTSPOT[1], lon0=HOTSPOT[0])
    x, y = frame.to_xy(fixes["lon"].to_numpy(), fixes["lat"].to_numpy())
    near = np.hypot(x, y) < 40.0
    tn = np.sort(t[near])
    cuts = np.flatnonzero(np.diff(tn) > 120.0) + 1  # spells at the hotspot: fixes under 2 min apart
    spells = [(r[0], r[-1]) for r in np.split(tn, cuts)]
    for v in planned:
        a = datetime.fromisoformat(v["start"]).timestamp()
        b = datetime.fromisoformat(v["end"]).timestamp()
        local = datetime.fromisoformat(v["start"])
        assert 10 <= local.hour and datetime.fromisoformat(v["end"]) <= local.replace(hour=14, minute=0)
        spell = [s for s in spells if s[0] < b and s[1] > a]
        assert len(spell) == 1, (v, spell)
        span = (spell[0][1] - spell[0][0]) / 60.0
        assert 10.5 <= span <= 13.5, (v, span)
        assert abs(spell[0][0] - a) < 12 * 60  # arrives within minutes of the plan
    with Store.open(sc.store, read_only=True) as store:
        m = measure(store, MONDAY, list(p.wards), list(p.peak_windows()), [target_of(v) for v in p.visits])
    spot = m["hotspots"]["Parade"]
    assert spot["effective_visits"] == 6 == spot["koper_visits"]
    assert 11.0 <= spot["median_visit_min"] <= 13.5


def test_everyone_in_the_station_is_not_visible(base, tmp_path):
    p = parse_pattern(IN_STATION, source="in.toml")
    sc = simulate(p, base, tmp_path / "in.duckdb", MONDAY, seed=1)
    with Store.open(sc.store, read_only=True) as store:
        row = summarise(store, "borough").records()[0]
    assert row["visible_share"] < 0.01
    assert row["in_station_s"] / row["duty_s"] > 0.85  # the rest is signal lost indoors


def test_pure_foot_patrol_with_perfect_signal_is_visible_but_for_station_time(base, tmp_path):
    p = parse_pattern(FOOT_PERFECT, source="foot.toml")
    sc = simulate(p, base, tmp_path / "foot.duckdb", MONDAY, seed=2)
    with Store.open(sc.store, read_only=True) as store:
        row = summarise(store, "borough").records()[0]
    station_share = 60.0 / 480.0
    assert row["no_signal_s"] == 0 and row["transit_s"] == 0
    assert abs(row["visible_share"] - (1.0 - station_share)) < 0.03
    assert row["in_station_s"] / row["duty_s"] == pytest.approx(station_share, abs=0.03)


def test_same_seed_same_tracks_and_another_seed_others(base, tmp_path):
    p = parse_pattern(FOOT_PERFECT.replace('preset = "perfect"', 'preset = "radio"'), source="foot.toml")
    tables = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        sc = simulate(p, base, tmp_path / f"{name}.duckdb", MONDAY, seed=seed)
        tables.append(pq.read_table(sc.files / "fixes.parquet"))
    assert tables[0].equals(tables[1])
    assert not tables[0].equals(tables[2])


def test_vehicle_patrol_spends_time_in_transit(base, tmp_path):
    text = FOOT_PERFECT.replace('style = "foot"', 'style = "vehicle"').replace('preset = "perfect"', 'preset = "radio"')
    sc = simulate(parse_pattern(text, source="car.toml"), base, tmp_path / "car.duckdb", MONDAY, seed=3)
    with Store.open(sc.store, read_only=True) as store:
        row = summarise(store, "borough").records()[0]
    # slow urban driving (under the 25 km/h transit line) still counts as on patch, as for real tracks
    assert row["transit_s"] / row["duty_s"] > 0.05
    assert row["visible_share"] < 0.8


def test_scenario_stores_refuse_mistakes(base, obey, tmp_path):
    p, sc = obey
    with pytest.raises(StoreError, match="already exists; choose another --out-db or pass --force"):
        simulate(p, base, sc.store, MONDAY)
    with pytest.raises(StoreError, match="is a scenario store; give the real store with --db"):
        simulate(p, sc.store, tmp_path / "x.duckdb", MONDAY)
    with pytest.raises(StoreError, match="must not be the real store"):
        simulate(p, base, base, MONDAY)
    unknown = parse_pattern(OBEY.replace('wards = ["X05000001"]', 'wards = ["X05000099"]'), source="u.toml")
    with pytest.raises(PatternError) as info:
        simulate(unknown, base, tmp_path / "u.duckdb", MONDAY)
    assert str(info.value) == "u.toml: team.wards: ward 'X05000099' is not in the store (team 'Ash')"
    assert not (tmp_path / "u.duckdb").exists()


def test_the_loop_used_here_lies_inside_its_ward(base):
    with Store.open(base, read_only=True) as store:
        wards = stored_wards(store)
    ash = wards.geometry[wards.ward_code == "X05000001"].iloc[0]
    assert ash.contains(LineString(LOOP + [LOOP[0]])) and ash.contains(Point(HOTSPOT))
    assert (MONDAY + timedelta(days=6)).isoformat() == "2026-11-29"
