"""Roster: officers and shifts, with errors that name the line."""

from __future__ import annotations

import pytest

from builders import TWO_WARDS, write_wards
from visibility.boundaries import load_wards
from visibility.errors import InputFileError, RosterError
from visibility.roster import load_roster
from visibility.store import Store

OFFICERS = "officer_id,team,ward_code,role\nO1,Alpha,W1;W2,PC\nO2,Alpha,W1,PCSO\n"
SHIFTS = ("officer_id,start,end,kind,reason\n"
          "O1,2026-11-16T07:00:00Z,2026-11-16T15:00:00Z,neighbourhood,\n"
          "O1,2026-11-16T22:00:00+00:00,2026-11-17T07:00:00+00:00,abstracted,aid: football\n"
          "O2,2026-11-16 07:00,2026-11-16 15:00,neighbourhood,\n")


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "r.duckdb") as s:
        load_wards(s, [write_wards(tmp_path / "w.geojson", TWO_WARDS)], "code", "name",
                   borough_code="B1", borough_name="B")
        yield s


def files(tmp_path, officers=OFFICERS, shifts=SHIFTS):
    o, s = tmp_path / "officers.csv", tmp_path / "shifts.csv"
    o.write_text(officers)
    s.write_text(shifts)
    return o, s


def test_roster_loads_officers_wards_and_shifts(store, tmp_path):
    report = load_roster(store, *files(tmp_path))
    assert (report.officers, report.shifts) == (2, 3)
    assert store.con.execute("SELECT ward_code FROM officer_wards WHERE officer_id = 'O1' "
                             "ORDER BY ward_code").fetchall() == [("W1",), ("W2",)]
    reason = store.con.execute("SELECT reason FROM shifts WHERE kind = 'abstracted'").fetchall()
    assert reason == [("aid: football",)]


def test_naive_shift_times_are_local(store, tmp_path):
    load_roster(store, *files(tmp_path), tz="Europe/London")
    # 16 November is GMT, so 07:00 local is 07:00 UTC.
    start = store.con.execute("SELECT strftime(start_ts, '%H:%M') FROM shifts "
                              "WHERE officer_id = 'O2'").fetchall()
    assert start == [("07:00",)]


def test_loading_the_same_shifts_again_adds_nothing(store, tmp_path):
    load_roster(store, *files(tmp_path))
    report = load_roster(store, None, files(tmp_path)[1])
    assert (report.shifts, report.shifts_unchanged) == (0, 3)
    assert store.count("shifts") == 3


@pytest.mark.parametrize("officers, shifts, message", [
    ("officer_id,team,ward_code\nO1,Alpha,W9\n", SHIFTS, r"officers.csv line 2: ward 'W9' of officer O1 is not loaded"),
    ("officer_id,team,ward_code\nO1,Alpha,W1\nO1,Beta,W2\n", SHIFTS, "line 3: officer O1 already listed on line 2"),
    ("officer_id,team\nO1,Alpha\n", SHIFTS, "missing column 'ward_code'"),
    (OFFICERS, "officer_id,start,end,kind\nO1,2026-11-16T15:00Z,2026-11-16T07:00Z,neighbourhood\n",
     "line 2: shift of O1 ends .* before it starts"),
    (OFFICERS, "officer_id,start,end,kind\nO1,2026-11-16T07:00Z,2026-11-16T15:00Z,neighbourhood\n"
               "O1,2026-11-16T14:00Z,2026-11-16T22:00Z,neighbourhood\n",
     "line 3: shift of O1 .* overlaps another shift \\(line 2"),
    (OFFICERS, "officer_id,start,end,kind\nO9,2026-11-16T07:00Z,2026-11-16T15:00Z,neighbourhood\n",
     "line 2: officer 'O9' is not in the roster"),
    (OFFICERS, "officer_id,start,end,kind\nO1,monday,2026-11-16T15:00Z,neighbourhood\n",
     "line 2: 'monday' is not an ISO 8601 date-time"),
    (OFFICERS, "officer_id,start,end,kind\nO1,2026-11-16T07:00Z,2026-11-16T15:00Z,holiday\n",
     "line 2: kind 'holiday' must be one of neighbourhood, abstracted"),
])
def test_roster_errors_name_the_line_and_load_nothing(store, tmp_path, officers, shifts, message):
    with pytest.raises(RosterError, match=message):
        load_roster(store, *files(tmp_path, officers, shifts))
    assert store.count("officers") == 0 and store.count("shifts") == 0


def test_roster_needs_wards_first(tmp_path):
    with Store.create(tmp_path / "empty.duckdb") as store:
        with pytest.raises(RosterError, match="no wards are loaded"):
            load_roster(store, *files(tmp_path))


def test_missing_and_empty_roster_files(store, tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        load_roster(store, tmp_path / "nope.csv", None)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputFileError, match="empty"):
        load_roster(store, empty, None)
