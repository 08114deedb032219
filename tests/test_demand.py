"""Demand: loading incidents and data.police.uk crimes, hotspots from demand, peaks from demand."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date

import pytest

from builders import TWO_WARDS, write_wards
from conftest import shared_path
from coverage_world import P, Q, R, build, shift_of, stay
from visibility.boundaries import load_wards
from visibility.demand import load_demand
from visibility.errors import ColumnError, CoordinateError, InputFileError, StoreError
from visibility.hotspots import derive_hotspots, load_hotspots
from visibility.measures import measure
from visibility.peaks import plan_peaks
from visibility.policy import Policy
from visibility.store import Store

BOROUGHS = {"E09000002": "Barking and Dagenham", "E09000003": "Barnet"}
CRIME = ("met_crime", "2023-01-metropolitan-street-sample.csv")


@pytest.fixture(scope="module")
def london(tmp_path_factory):
    """The real wards of Barking and Dagenham and Barnet, and the real crime sample."""
    files = {code: shared_path("london_wards_2013", f"{code}.geojson") for code in BOROUGHS}
    crime = shared_path(*CRIME)
    store = Store.create(tmp_path_factory.mktemp("london") / "l.duckdb")
    for code, path in files.items():
        load_wards(store, [path], "WD13CD", "WD13NM", borough_code=code,
                   borough_name=BOROUGHS[code])
    report = load_demand(store, crime)
    yield store, report, files, crime
    store.close()


def test_the_police_crime_file_loads_with_the_month_only(london):
    store, report, _, crime = london
    assert report.format == "police"
    assert (report.rows_read, report.accepted, report.rejected) == (4000, 4000, 0)
    assert report.timed == 0 and report.precisions == {"month": 4000}
    assert any("month only" in n for n in report.notes)
    ts = store.con.execute("SELECT DISTINCT ts::VARCHAR FROM demand").fetchall()
    assert ts == [("2023-01-01 00:00:00+00",)]  # local midnight on the 1st (GMT in January)
    # Snapped points land in the borough their LSOA names (a few on a border fall outside).
    with open(crime, newline="", encoding="utf-8") as fh:
        lsoa = {i + 2: r["LSOA name"] for i, r in enumerate(csv.DictReader(fh))}
    located = store.con.execute("SELECT d.line, w.borough_name FROM demand d JOIN wards w "
                                "USING (ward_code)").fetchall()
    agree = sum(lsoa[line].startswith(name) for line, name in located)
    assert len(located) >= 3980 and agree >= len(located) - 5
    again = load_demand(store, crime)
    assert again.already and store.con.execute("SELECT count(*) FROM demand").fetchall()[0][0] == 4000


def test_hotspots_derived_from_real_crime_land_in_the_right_wards(london):
    import h3
    import shapely
    from shapely.geometry import shape

    store, _, files, crime = london
    report = derive_hotspots(store, Policy(hotspot_top_cells=2))
    polygons, borough_of = {}, {}
    for code, path in files.items():
        for f in json.loads(path.read_text())["features"]:
            polygons[f["properties"]["WD13CD"]] = shape(f["geometry"])
            borough_of[f["properties"]["WD13CD"]] = code
    hotspots = store.con.execute("SELECT printf('%x', cell), ward_code, demand FROM hotspots"
                                 ).fetchall()
    assert report.loaded == len(hotspots) and len(hotspots) <= 2 * len(polygons)
    assert {borough_of[w] for _, w, _ in hotspots} == set(BOROUGHS)
    # The busiest cell of the whole sample, counted independently with h3-py.
    with open(crime, newline="", encoding="utf-8") as fh:
        cells = Counter(h3.latlng_to_cell(float(r["Latitude"]), float(r["Longitude"]), 10)
                        for r in csv.DictReader(fh))
    top_cell, top_n = cells.most_common(1)[0]
    assert (top_cell, top_n) in {(c, n) for c, _, n in hotspots}
    for cell, ward, n in hotspots:
        lat, lon = h3.cell_to_latlng(cell)
        # The cell's centre lies in (or within a cell of) its ward's real boundary.
        assert shapely.distance(polygons[ward], shapely.Point(lon, lat)) < 0.002, (cell, ward)
        assert n <= cells[cell]
    top = store.con.execute("SELECT ward_code FROM hotspots ORDER BY demand DESC LIMIT 1"
                            ).fetchall()[0][0]
    assert polygons[top].contains(shapely.Point(*reversed(h3.cell_to_latlng(top_cell))))


def test_peak_source_demand_without_times_falls_back_to_the_policy(london):
    store, _, _, _ = london
    plan = plan_peaks(store.con, Policy(peak_source="demand"))
    assert set(plan.source.values()) == {"policy"}
    assert any("no time of day" in n for n in plan.notes)


# -- incidents with times -------------------------------------------------------------------------
def _bng(lat, lon):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat)
    return round(x, 2), round(y, 2)


@pytest.fixture
def small(tmp_path):
    o1 = stay("O1", "2026-11-20T21:00:00Z", 3600, P)
    store = build(tmp_path, [("O1", "T1", "W1"), ("O2", "T2", "W2")], [shift_of(o1)], o1)
    yield store, tmp_path
    store.close()


def test_incidents_with_eastings_northings_times_and_bad_rows(small):
    store, tmp = small
    e, n = _bng(*P)
    lines = ["ref,created,easting,northing,type,grade",
             f"1,2026-11-20T21:14:00Z,{e},{n},ASB,I",
             f"2,20/11/2026 22:05,{e},{n},Violence,S",
             f"3,2026-11-21,{e},{n},Theft,",
             f"4,2026-11,{e},{n},Theft,",
             f"5,,{e},{n},Theft,",
             "6,2026-11-20T21:00:00Z,,,Theft,",
             f"7,not a time,{e},{n},Theft,",
             f"8,2026-11-20T21:00:00Z,east,{n},Theft,"]
    path = tmp / "calls.csv"
    path.write_text("\n".join(lines) + "\n")
    report = load_demand(store, path)
    assert report.format == "incidents" and report.columns["time"] == "created"
    assert (report.rows_read, report.accepted, report.rejected, report.timed) == (8, 5, 3, 2)
    assert report.precisions == {"day": 1, "month": 1, "none": 1, "time": 2}
    assert report.reasons == {"bad_coordinate": 1, "bad_time": 1, "no_location": 1}
    assert any("EPSG:27700" in n or "British National Grid" in n for n in report.notes)
    got = store.con.execute("SELECT line, ts::VARCHAR, precision, ward_code, category, priority, "
                            "round(lat, 5), round(lon, 5) FROM demand ORDER BY line").fetchall()
    assert got[0] == (2, "2026-11-20 21:14:00+00", "time", "W1", "ASB", "I", 51.505, -0.095)
    assert got[1][1:3] == ("2026-11-20 22:05:00+00", "time")
    assert [r[0] for r in store.con.execute("SELECT line FROM demand_rejects ORDER BY line"
                                            ).fetchall()] == [7, 8, 9]


@pytest.mark.parametrize("text, error, message", [
    ("lat,lon\n530000,180000\n531000,181000\n", CoordinateError, "look like projected metres"),
    ("time,lat,lon\nsoon,51.5,-0.1\nlater,51.5,-0.1\n", InputFileError,
     "2 of 2 times in column 'time' cannot be read"),
    ("place,when\nhere,2026-11-20\n", ColumnError, "no column for latitude"),
    ("", InputFileError, "the file is empty"),
])
def test_bad_demand_files_are_refused_whole(small, text, error, message):
    store, tmp = small
    path = tmp / "bad.csv"
    path.write_text(text)
    with pytest.raises(error, match=message):
        load_demand(store, path)
    assert store.con.execute("SELECT count(*) FROM demand_sources").fetchall()[0][0] == 0


def test_demand_needs_wards(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("lat,lon\n51.5,-0.1\n")
    with Store.create(tmp_path / "e.duckdb") as store:
        with pytest.raises(StoreError, match="no wards are loaded"):
            load_demand(store, path)


def test_peaks_derived_from_timed_demand(small):
    store, tmp = small
    rows = ["time,lat,lon"]
    # W1: 60 incidents on Friday 21:00-22:00 local, 40 spread over Monday mornings.
    rows += [f"2026-11-{13 + 7 * (k % 2)}T21:{k % 60:02d}:00Z,{P[0]},{P[1]}" for k in range(60)]
    rows += [f"2026-11-{9 + 7 * (k % 2)}T0{k % 10}:30:00Z,{Q[0]},{Q[1]}" for k in range(40)]
    rows += [f"2026-11-20T12:00:00Z,{R[0]},{R[1]}"] * 5  # W2: too few to derive from
    (tmp / "calls.csv").write_text("\n".join(rows) + "\n")
    load_demand(store, tmp / "calls.csv")
    policy = Policy(peak_source="demand", peak_demand_scope="ward", peak_demand_share=0.5,
                    peak_demand_min=50, peak_windows=("Sat 10:00-11:00",))
    plan = plan_peaks(store.con, policy)
    assert [w.text for w in plan.windows["W1"]] == ["Fri 21:00-22:00"]
    assert plan.source["W1"].startswith("demand (W1: 1 hours of the week hold 60% of 100")
    assert plan.source["W2"] == "policy"
    assert any("fewer than 50 timed incidents" in n for n in plan.notes)
    measure(store, policy, date(2026, 11, 16), date(2026, 11, 22))
    got = store.con.execute("SELECT ward_code, peak_source, peak_s, covered_s FROM coverage_wards "
                            "ORDER BY 1").fetchall()
    assert got[0][2:] == (3600.0, 3600.0)  # O1 stood in W1 from 21:00 to 22:00 on Friday
    assert got[1][1:] == ("policy", 3600.0, 0.0)


def test_given_hotspots_from_a_geojson_of_points_and_polygons(small):
    from shapely.geometry import box

    store, tmp = small
    path = tmp / "hot.geojson"
    features = [
        {"type": "Feature", "properties": {"name": "market", "radius_m": 60},
         "geometry": {"type": "Point", "coordinates": [P[1], P[0]]}},
        {"type": "Feature", "properties": {"name": "park"},
         "geometry": json.loads(json.dumps(box(R[1] - 0.001, R[0] - 0.001, R[1] + 0.001,
                                               R[0] + 0.001).__geo_interface__))},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = load_hotspots(store, path)
    assert report.by_kind == {"circle": 1, "polygon": 1}
    assert store.con.execute("SELECT label, ward_code, kind FROM hotspots ORDER BY 1").fetchall() \
        == [("market", "W1", "circle"), ("park", "W2", "polygon")]
    outside = tmp / "far.csv"
    outside.write_text("lat,lon,radius_m\n52.5,-1.9,50\n")
    with pytest.raises(InputFileError, match="lies outside every loaded ward"):
        load_hotspots(store, outside)
    fine = tmp / "fine.csv"
    fine.write_text("cell\n8c194ad30d067ff\n")
    with pytest.raises(InputFileError, match="resolution 12, finer than the analysis"):
        load_hotspots(store, fine)


def test_old_stores_are_refused_with_a_clear_message(tmp_path):
    wards = write_wards(tmp_path / "w.geojson", TWO_WARDS)
    with Store.create(tmp_path / "old.duckdb") as store:
        load_wards(store, [wards], "code", "name", borough_code="B", borough_name="B")
        store.con.execute("DROP TABLE demand")
        path = tmp_path / "d.csv"
        path.write_text("lat,lon\n51.505,-0.095\n")
        with pytest.raises(StoreError, match="made before demand and coverage were measured"):
            load_demand(store, path)
