"""Ingest: every row accounted for, bad rows kept with reasons, and clear errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import TWO_WARDS, write_wards
from visibility.boundaries import load_wards
from visibility.errors import ColumnError, CoordinateError, InputFileError
from visibility.ingest import IngestOptions, ingest_file
from visibility.store import Store

HEADER = "officer_id,timestamp,lat,lon,accuracy_m\n"


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "t.duckdb") as s:
        yield s


def write(tmp_path, text, name="fixes.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reconciles(store, report):
    row = store.con.execute(
        "SELECT rows_read, rows_accepted, rows_rejected, rows_duplicate FROM sources "
        "WHERE source_id = ?", [report.source_id]).fetchall()[0]
    read, accepted, rejected, duplicate = row
    pings = store.con.execute("SELECT count(*) FROM pings WHERE source_id = ?",
                              [report.source_id]).fetchall()[0][0]
    rejects = store.con.execute("SELECT count(*) FROM rejects WHERE source_id = ?",
                                [report.source_id]).fetchall()[0][0]
    return read == accepted + rejected + duplicate and pings == accepted and rejects == rejected


def test_good_rows_land_and_bad_rows_are_kept_with_line_and_reason(store, tmp_path):
    path = write(tmp_path, HEADER + "\n".join([
        "O1,2026-11-16T08:00:00Z,51.5,-0.1,5",
        "O1,not a time,51.5,-0.1,5",
        "O1,2026-11-16T08:00:30Z,95,-0.1,5",
        "O1,2026-11-16T08:00:45Z,0,0,5",
        ",2026-11-16T08:01:00Z,51.5,-0.1,5",
        "O1,2026-11-16T08:01:15Z,51.5,east,5",
        "O1,2026-11-16T08:01:30Z,51.5,-0.1,-3",
        "O1,2026-11-16T08:01:45Z,51.5,-0.1,",
    ]) + "\n")
    report = ingest_file(store, path)
    assert (report.rows_read, report.accepted, report.rejected, report.duplicate) == (8, 2, 6, 0)
    rejects = store.con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()
    assert rejects == [(3, "bad_time"), (4, "out_of_range"), (5, "null_island"),
                       (6, "missing_officer"), (7, "bad_coordinate"), (8, "bad_accuracy")]
    raw = json.loads(store.con.execute("SELECT raw FROM rejects WHERE line = 3").fetchall()[0][0])
    assert raw["time"] == "not a time"
    assert reconciles(store, report)


def test_duplicates_are_counted_and_conflicts_rejected(store, tmp_path):
    path = write(tmp_path, HEADER + "\n".join([
        "O1,2026-11-16T08:00:00Z,51.5,-0.1,5",
        "O1,2026-11-16T08:00:00Z,51.5,-0.1,5",
        "O1,2026-11-16T08:00:00+00:00,51.6,-0.1,5",
        "O2,2026-11-16T08:00:00Z,51.5,-0.1,5",
    ]) + "\n")
    report = ingest_file(store, path)
    assert (report.accepted, report.duplicate, report.rejected) == (2, 1, 1)
    assert report.reasons == {"conflicting_duplicate": 1}
    # The same fixes in another file: duplicates of what the store holds.
    again = write(tmp_path, HEADER + "O1,2026-11-16T08:00:00Z,51.5,-0.1,5\n"
                  "O2,2026-11-16T08:00:00Z,51.7,-0.1,5\n", "more.csv")
    report = ingest_file(store, again)
    assert (report.accepted, report.duplicate, report.rejected) == (0, 1, 1)
    assert store.con.execute("SELECT count(*) FROM pings").fetchall()[0][0] == 2
    assert reconciles(store, report)


def test_reingesting_the_same_content_changes_nothing(store, tmp_path):
    path = write(tmp_path, HEADER + "O1,2026-11-16T08:00:00Z,51.5,-0.1,5\n")
    first = ingest_file(store, path)
    copy = write(tmp_path, path.read_text(), "copy.csv")
    second = ingest_file(store, copy)
    assert second.already and second.source_id == first.source_id
    assert "already ingested" in second.notes[0]
    assert store.count("sources") == 1 and store.count("pings") == 1


def test_naive_times_are_read_in_the_given_zone_and_reported(store, tmp_path):
    path = write(tmp_path, "officer,time,latitude,longitude\n"
                 "O1,2026-07-01 09:00:00,51.5,-0.1\n"
                 "O1,01/07/2026 09:00:15,51.5,-0.1\n"
                 "O1,2026-07-01T08:00:30Z,51.5,-0.1\n")
    report = ingest_file(store, path)
    assert report.accepted == 3
    assert any("2 timestamps had no UTC offset" in n and "Europe/London" in n for n in report.notes)
    hours = store.con.execute(
        "SELECT strftime(ts, '%H:%M:%S') FROM pings ORDER BY ts").fetchall()
    assert hours == [("08:00:00",), ("08:00:15",), ("08:00:30",)]  # BST is UTC+1


def test_epoch_seconds_and_milliseconds(store, tmp_path):
    path = write(tmp_path, HEADER + "O1,1795334400,51.5,-0.1,5\nO1,1795334415000,51.5,-0.1,5\n")
    report = ingest_file(store, path)
    assert report.accepted == 2
    first = store.con.execute("SELECT min(ts)::VARCHAR FROM pings").fetchall()[0][0]
    assert first.startswith("2026-11-22 08:00:00")


def test_column_options_override_detection(store, tmp_path):
    path = write(tmp_path, "who,when,a,b\nO1,2026-11-16T08:00:00Z,51.5,-0.1\n")
    with pytest.raises(ColumnError, match="no column for officer"):
        ingest_file(store, path)
    report = ingest_file(store, path, IngestOptions(officer_col="who", time_col="when",
                                                    lat_col="a", lon_col="b"))
    assert report.accepted == 1


def test_malformed_lines_are_rejected_with_their_line(store, tmp_path):
    path = write(tmp_path, HEADER + "O1,2026-11-16T08:00:00Z,51.5,-0.1,5\n"
                 "O1,2026-11-16T08:00:15Z,51.5\n"
                 "O1,2026-11-16T08:00:30Z,51.5,-0.1,5\n"
                 "O1,2026-11-16T08:00:45Z,51.5,-0.1,5,extra,fields\n"
                 "O1,2026-11-16T08:01:00Z,bad,-0.1,5\n")
    report = ingest_file(store, path)
    assert (report.rows_read, report.accepted, report.rejected) == (5, 2, 3)
    rejects = store.con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()
    assert rejects == [(3, "malformed_row"), (5, "malformed_row"), (6, "bad_coordinate")]
    assert reconciles(store, report)


def test_parquet_with_typed_columns(store, tmp_path):
    import datetime as dt

    table = pa.table({
        "officer_id": ["O1", "O1", None],
        "timestamp": pa.array([dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.timezone.utc),
                               dt.datetime(2026, 11, 16, 8, 0, 15, tzinfo=dt.timezone.utc),
                               dt.datetime(2026, 11, 16, 8, 0, 30, tzinfo=dt.timezone.utc)],
                              pa.timestamp("us", tz="UTC")),
        "lat": [51.5, 51.5, 51.5], "lon": [-0.1, -0.1, -0.1],
    })
    path = tmp_path / "fixes.parquet"
    pq.write_table(table, path)
    report = ingest_file(store, path)
    assert (report.rows_read, report.accepted, report.rejected) == (3, 2, 1)
    assert store.con.execute("SELECT line FROM rejects").fetchall() == [(3,)]


@pytest.mark.parametrize("text, error, message", [
    ("", InputFileError, "the file is empty"),
    (HEADER, InputFileError, "header but no rows"),
    ("a,b,c\n1,2,3\n", ColumnError, "no column for officer"),
    (HEADER + "O1,2026-11-16T08:00:00Z,530000,180000,5\nO1,2026-11-16T08:00:15Z,530010,180010,5\n",
     CoordinateError, "projected metres"),
    (HEADER + "O1,Nov 16 2026 8am,51.5,-0.1,5\nO1,Nov 16 2026 9am,51.5,-0.1,5\n",
     InputFileError, "2 of 2 times in column 'timestamp' cannot be read \\(e.g. 'Nov 16 2026 8am'\\)"),
])
def test_unusable_files_are_one_clear_error_and_change_nothing(store, tmp_path, text, error, message):
    path = write(tmp_path, text)
    with pytest.raises(error, match=message):
        ingest_file(store, path)
    assert store.count("sources") == 0 and store.count("pings") == 0 and store.count("rejects") == 0


def test_missing_file(store, tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        ingest_file(store, tmp_path / "nope.csv")


def test_swapped_latitude_and_longitude_are_detected_against_the_wards(store, tmp_path):
    load_wards(store, [write_wards(tmp_path / "w.geojson", TWO_WARDS)], "code", "name",
               borough_code="B1", borough_name="B")
    path = write(tmp_path, HEADER + "O1,2026-11-16T08:00:00Z,-0.095,51.505,5\n"
                 "O1,2026-11-16T08:00:15Z,-0.095,51.505,5\n")
    with pytest.raises(CoordinateError, match="look swapped"):
        ingest_file(store, path)
    assert store.count("pings") == 0


# -- property: whatever the mess, rows read = accepted + rejected + duplicate ----------
cell = st.one_of(
    st.sampled_from(["O1", "O2", "", "  O3 "]),
    st.sampled_from(["2026-11-16T08:00:00Z", "2026-11-16 08:00:15", "16/11/2026 08:00:30",
                     "yesterday", "", "1795334400", "2026-13-45T99:00:00Z"]),
    st.sampled_from(["51.5", "-0.1", "0", "95", "abc", "", "NaN", "1e400"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(
    st.sampled_from(["O1", "O2", "", "O'; DROP TABLE pings; --", "<b>x</b>"]),
    st.sampled_from(["2026-11-16T08:00:00Z", "2026-11-16 08:00:15", "16/11/2026 08:00:30",
                     "yesterday", "", "1795334400", "2026-13-45T99:00:00Z"]),
    st.sampled_from(["51.5", "-0.1", "0", "95", "abc", "", "NaN", "1e400", "51.50001"]),
    st.sampled_from(["-0.1", "0", "181", "x", "", "-0.10001"]),
    st.sampled_from(["5", "", "-1", "150", "x"]),
    st.integers(0, 2)), min_size=1, max_size=30))
def test_reconciliation_identity_holds_for_messy_files(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("messy")
    lines = []
    for officer, time, lat, lon, acc, shape in rows:
        fields = [officer, time, lat, lon, acc]
        if shape == 1:
            fields = fields[:3]  # a short line
        lines.append(",".join(f'"{f}"' if "," in f else f for f in fields))
    path = tmp / "messy.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    with Store.create(tmp / "s.duckdb") as store:
        try:
            report = ingest_file(store, path)
        except (CoordinateError, InputFileError) as exc:
            # Whole-file refusals: mostly projected or unreadable values. Nothing lands.
            assert "cannot be read" in str(exc) or isinstance(exc, CoordinateError)
            assert store.count("pings") == 0 and store.count("rejects") == 0
            return
        assert report.rows_read == len(rows)
        assert reconciles(store, report)
        dupes = store.con.execute(
            "SELECT count(*) FROM (SELECT officer_id, ts FROM pings GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()[0][0]
        assert dupes == 0
