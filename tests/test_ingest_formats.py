"""Ingest of the shapes real exports have: delimiters, BOMs, CRSs, folders, devices."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builders import TWO_WARDS, tiny_world, write_wards
from conftest import shared_path
from visibility.analyse import analyse
from visibility.boundaries import load_wards
from visibility.devices import load_assignments, unassigned_by_device
from visibility.errors import ColumnError, InputFileError, RosterError
from visibility.ingest import IngestOptions, expand_paths, ingest_file, ingest_paths
from visibility.roster import load_roster
from visibility.store import Store
from visibility.summary import summarise


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "f.duckdb") as s:
        yield s


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize("text", [
    "\ufeffOfficer;Fix Time;Latitude;Longitude\nO1;2026-11-16T08:00:00Z;51.5;-0.1\nO1;2026-11-16T08:00:15Z;51.5;-0.1\n",
    "COLLAR\tDATETIME\tLAT\tLNG\nO1\t16/11/2026 08:00:00\t51.5\t-0.1\nO1\t16/11/2026 08:00:15\t51.5\t-0.1\n",
    'callsign|utc|y|x\n"O1"|1795334400|51.5|-0.1\n"O1"|1795334415|51.5|-0.1\n',
])
def test_delimiters_bom_case_and_synonyms(store, tmp_path, text):
    report = ingest_file(store, write(tmp_path / "f.csv", text))
    assert (report.rows_read, report.accepted) == (2, 2)
    assert store.con.execute("SELECT DISTINCT officer_id FROM pings").fetchall() == [("O1",)]


def test_day_first_dates_and_month_first_option(store, tmp_path):
    path = write(tmp_path / "f.csv", "officer,time,lat,lon\nO1,03/04/2026 10:00:00,51.5,-0.1\n"
                 "O1,13/04/2026 10:00:00,51.5,-0.1\n")
    report = ingest_file(store, path)
    assert any("day first" in n for n in report.notes)
    days = store.con.execute("SELECT strftime(ts, '%m-%d') FROM pings ORDER BY ts").fetchall()
    assert days == [("04-03",), ("04-13",)]
    us = write(tmp_path / "us.csv", "officer,time,lat,lon\nO2,04/13/2026 10:00:00,51.5,-0.1\n")
    with pytest.raises(InputFileError, match="only make sense month first; pass --date-order mdy"):
        ingest_file(store, us)
    report = ingest_file(store, us, IngestOptions(date_order="mdy"))
    assert report.accepted == 1


def test_british_national_grid_with_crs(store, tmp_path):
    # Trafalgar Square: E 530000 N 180400 is about 51.5076 N, 0.1282 W.
    path = write(tmp_path / "bng.csv", "officer,time,easting,northing\n"
                 "O1,2026-11-16T08:00:00Z,530000,180400\nO1,2026-11-16T08:00:15Z,530010,180410\n")
    from visibility.errors import CoordinateError

    with pytest.raises(CoordinateError, match="--crs EPSG:27700"):
        ingest_file(store, path)
    report = ingest_file(store, path, IngestOptions(crs="EPSG:27700"))
    assert report.accepted == 2
    lat, lon = store.con.execute("SELECT lat, lon FROM pings ORDER BY ts LIMIT 1").fetchall()[0]
    assert lat == pytest.approx(51.5076, abs=2e-4) and lon == pytest.approx(-0.1282, abs=2e-4)
    with pytest.raises(InputFileError, match="unknown CRS"):
        ingest_file(store, write(tmp_path / "b2.csv", path.read_text() + "O1,2026-11-16T08:00:30Z,1,2\n"),
                    IngestOptions(crs="EPSG:999999"))


def test_hive_partitioned_parquet_folder_is_one_source(store, tmp_path):
    folder = tmp_path / "fixes"
    for day in (16, 17):
        part = folder / f"date=2026-11-{day}"
        part.mkdir(parents=True)
        t0 = dt.datetime(2026, 11, day, 8, tzinfo=dt.timezone.utc)
        pq.write_table(pa.table({
            "officer_id": ["O1", "O1", ""],
            "timestamp": pa.array([t0, t0 + dt.timedelta(seconds=15), t0], pa.timestamp("us", tz="UTC")),
            "lat": [51.5, 51.5, 51.5], "lon": [-0.1, -0.1, -0.1]}), part / "part-0.parquet")
    reports = ingest_paths(store, [folder])
    assert len(reports) == 1
    r = reports[0]
    assert (r.rows_read, r.accepted, r.rejected) == (6, 4, 2)
    raw = store.con.execute("SELECT raw FROM rejects LIMIT 1").fetchall()[0][0]
    assert "part-0.parquet" in raw
    assert ingest_paths(store, [folder])[0].already


def test_folders_and_globs(store, tmp_path):
    for i in range(3):
        write(tmp_path / f"day{i}.csv", f"officer,time,lat,lon\nO{i},2026-11-16T08:00:00Z,51.5,-0.1\n")
    (tmp_path / "notes.md").write_text("not fixes")
    assert [p.name for p in expand_paths([tmp_path])] == ["day0.csv", "day1.csv", "day2.csv"]
    assert [p.name for p in expand_paths([str(tmp_path / "day[12].csv")])] == ["day1.csv", "day2.csv"]
    with pytest.raises(InputFileError, match="no files match"):
        expand_paths([str(tmp_path / "*.parquet")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="folder holds no fix files"):
        expand_paths([empty])
    reports = ingest_paths(store, [tmp_path])
    assert sum(r.accepted for r in reports) == 3


def test_one_officer_file_needs_no_officer_column(store, tmp_path):
    path = write(tmp_path / "f.csv", "time,lat,lon\n2026-11-16T08:00:00Z,51.5,-0.1\n")
    with pytest.raises(ColumnError, match="--officer ID"):
        ingest_file(store, path)
    assert ingest_file(store, path, IngestOptions(officer="PC9")).accepted == 1
    assert store.con.execute("SELECT officer_id FROM pings").fetchall() == [("PC9",)]


# -- devices --------------------------------------------------------------------------
def test_device_fixes_are_kept_unassigned_until_an_assignment_covers_them(tmp_path):
    world = tiny_world(tmp_path)
    text = world["fixes"].read_text().replace("officer_id,", "radio,").replace("\nO1,", "\nR7,")
    fixes = write(tmp_path / "radio.csv", text)
    with Store.create(tmp_path / "d.duckdb") as store:
        load_wards(store, [world["wards"]], "code", "name", borough_code="B", borough_name="B")
        load_roster(store, world["officers"], world["shifts"])
        report = ingest_file(store, fixes)
        assert report.keyed_by == "device"
        assert (report.rows_read, report.accepted, report.unassigned) == (240, 0, 240)
        assert store.con.execute("SELECT rows_read = rows_accepted + rows_rejected + rows_duplicate"
                                 " + rows_unassigned FROM sources").fetchall() == [(True,)]
        assert unassigned_by_device(store)[0][:2] == ("R7", 240)
        analyse(store)
        assert summarise(store, "officer-shift").records()[0]["no_signal_s"] == 3600
        # The radio goes to O1 half way through the shift: only its second half is O1's.
        assign = write(tmp_path / "assign.csv", "device_id,officer_id,from,to\n"
                       "R7,O1,2026-11-16T08:30:00Z,\n")
        result = load_assignments(store, assign)
        assert (result.assignments, result.device_fixes_now_assigned) == (1, 120)
        analyse(store)
        rec = summarise(store, "officer-shift").records()[0]
        # The first assigned fix (08:30:00) owns back 60 s, half the max gap.
        assert rec["no_signal_s"] == 1740
        assert rec["off_patch_s"] + rec["transit_s"] == 1860


def test_device_assignment_errors_name_the_line(tmp_path):
    world = tiny_world(tmp_path)
    with Store.create(tmp_path / "d.duckdb") as store:
        load_wards(store, [world["wards"]], "code", "name", borough_code="B", borough_name="B")
        load_roster(store, world["officers"], world["shifts"])
        bad = write(tmp_path / "a.csv", "device_id,officer_id,from,to\nR1,O1,2026-11-16T08:00Z,"
                    "2026-11-16T12:00Z\nR1,O1,2026-11-16T11:00Z,\n")
        with pytest.raises(RosterError, match="line 3: device R1 is assigned to O1 .* while assigned"):
            load_assignments(store, bad)
        unknown = write(tmp_path / "b.csv", "device_id,officer_id,from,to\nR1,O9,2026-11-16T08:00Z,\n")
        with pytest.raises(RosterError, match="line 2: officer 'O9' is not in the roster"):
            load_assignments(store, unknown)
        assert store.count("device_assignments") == 0


# -- real recordings --------------------------------------------------------------------
def test_real_csv_recordings_ingest_with_the_right_counts(store):
    bus = shared_path("real_tracks", "liverpool_bus_route14.csv")
    report = ingest_file(store, bus)
    assert report.keyed_by == "device" and report.columns["device_id"] == "vehicle_id"
    assert report.rows_read == 1533
    assert report.rows_read == report.accepted + report.rejected + report.duplicate + report.unassigned
    posmo = shared_path("real_tracks", "switzerland_posmo.csv")
    report = ingest_file(store, posmo, IngestOptions(officer="P1"))
    assert report.rows_read == 1327 and report.accepted + report.duplicate == 1327


@pytest.mark.parametrize("name, options, count", [
    ("london_run_2017-07-08.gpx", IngestOptions(officer="RUN"), 5104),
    ("london_ride_2017-07-09.gpx", IngestOptions(officer="RIDE"), 11277),
    ("limerick_bus_304.gpx", IngestOptions(device="BUS304"), 2144),
    ("munich_car.json", IngestOptions(device_col="id"), 1194),
])
def test_real_gpx_and_json_recordings_ingest_with_the_right_counts(store, name, options, count):
    report = ingest_file(store, shared_path("real_tracks", name), options)
    assert report.rows_read == count
    assert report.rows_read == report.accepted + report.rejected + report.duplicate + report.unassigned
    assert report.rejected == 0


def test_geojson_points_and_linestrings_with_coord_times(store, tmp_path):
    import json

    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"officer": "O1", "time": "2026-11-16T08:00:00Z"},
         "geometry": {"type": "Point", "coordinates": [-0.1, 51.5]}},
        {"type": "Feature", "properties": {"officer": "O2",
                                           "coordTimes": ["2026-11-16T08:00:00Z", "2026-11-16T08:00:15Z"]},
         "geometry": {"type": "LineString", "coordinates": [[-0.1, 51.5], [-0.1001, 51.5001]]}},
    ]}
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps(doc))
    report = ingest_file(store, path)
    assert (report.rows_read, report.accepted) == (3, 3)
    assert store.con.execute("SELECT officer_id, count(*) FROM pings GROUP BY 1 ORDER BY 1").fetchall() \
        == [("O1", 1), ("O2", 2)]


def test_geojson_without_times_is_refused(store, tmp_path):
    path = tmp_path / "f.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"officer": "O1"}, "geometry": {"type": "Point", "coordinates": [-0.1, 51.5]}}]}')
    with pytest.raises(ColumnError, match="no column for time"):
        ingest_file(store, path)


def test_gpx_that_is_not_xml_is_one_clear_error(store, tmp_path):
    path = tmp_path / "f.gpx"
    path.write_text("this is not xml")
    with pytest.raises(InputFileError, match="f.gpx: not a readable GPX file"):
        ingest_file(store, path, IngestOptions(officer="O1"))


def test_a_saved_mapping_file_repeats_the_choices(tmp_path):
    from click.testing import CliRunner

    from visibility.cli import main

    db = tmp_path / "m.duckdb"
    first = write(tmp_path / "a.csv", "who;when;a;b\nO1;2026-11-16T08:00:00Z;51.5;-0.1\n")
    second = write(tmp_path / "b.csv", "who;when;a;b\nO1;2026-11-16T08:00:15Z;51.5;-0.1\n")
    mapping = tmp_path / "radio.toml"
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(first), "--officer-col", "who", "--time-col", "when",
                                  "--lat-col", "a", "--lon-col", "b", "--save-mapping", str(mapping),
                                  "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert 'lat_col = "a"' in mapping.read_text()
    result = runner.invoke(main, ["ingest", str(second), "--mapping", str(mapping), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "accepted 1" in result.output
    mapping.write_text('[mapping]\nlatitude = "a"\n')
    result = runner.invoke(main, ["ingest", str(second), "--mapping", str(mapping), "--db", str(db)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: mapping file {mapping}: unknown key 'latitude'")
