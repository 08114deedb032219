"""The demand, peaks, hotspots, history, coverage and coverage-export commands."""

from __future__ import annotations

import csv
import io
import json

import pytest

from builders import run_cli as run
from builders import tiny_world
from conftest import shared_path




def ok(*args, db=None):
    result = run(*args, db=db)
    assert result.exit_code == 0, (args, result.output)
    return result.output


@pytest.fixture
def world(tmp_path):
    """The tiny world (O1 walks in W1 08:00-08:30 UTC on Monday 16 November, then stands in W2),
    analysed through the commands, with a few calls for service."""
    w = tiny_world(tmp_path)
    db = tmp_path / "c.duckdb"
    ok("init", db=db)
    ok("boundaries", "load", w["wards"], "--code-field", "code", "--name-field", "name",
       "--borough-code-field", "bcode", "--borough-name-field", "bname", db=db)
    ok("stations", "load", w["stations"], db=db)
    ok("roster", "load", "--officers", w["officers"], "--shifts", w["shifts"], db=db)
    ok("ingest", w["fixes"], db=db)
    ok("analyse", "--week", "2026-W47", db=db)
    calls = tmp_path / "calls.csv"
    calls.write_text("time,lat,lon,category,priority\n"
                     + "".join(f"2026-11-09T08:{k:02d}:00Z,51.505,-0.0965,ASB,S\n" for k in range(5))
                     + "2026-11-09T09:00:00Z,51.505,-0.0875,ASB,S\n"
                     + "2026-11-09T09:00:00Z,95,-0.0875,ASB,S\n")
    peaks = tmp_path / "peaks.toml"
    peaks.write_text('peak_windows = ["Mon 07:30-09:30"]\nhotspot_top_cells = 1\n')
    return db, tmp_path, calls, peaks


def test_the_whole_flow_through_the_commands(world):
    db, tmp, calls, peaks = world
    out = ok("demand", "load", calls, db=db)
    assert out.splitlines()[0] == (f"{calls} (incidents): 7 rows read, 6 accepted, 1 rejected; "
                                   "6 with a time of day; 6 in loaded wards")
    assert "  rejected 1: out_of_range" in out
    assert ok("demand", "load", calls, db=db).startswith(f"{calls}: same content already loaded")
    assert ok("hotspots", "derive", "--policy", peaks, db=db).startswith(
        "derived 2 hotspots from demand (replaced 0)")
    listed = list(csv.DictReader(io.StringIO(ok("hotspots", "list", "--format", "csv", db=db))))
    assert [(r["ward_code"], r["demand"]) for r in listed] == [("W1", "5"), ("W2", "1")]
    assert "Mon 07:30-09:30" in ok("peaks", "--policy", peaks, db=db)
    history = tmp / "history.csv"
    history.write_text("officer_id,team,from,to\nO1,Alpha team,2026-01-05,\n"
                       "O9,Alpha team,2026-02-01,2026-11-18\n")
    assert ok("history", "load", history, db=db) == "loaded 2 team memberships\n"

    out = ok("coverage", "--week", "2026-W47", "--policy", peaks, db=db)
    on_patch = json.loads(ok("summary", "--by", "officer-shift", "--format", "json", db=db)
                          )["rows"][0]["on_patch_s"]
    assert 1770 <= on_patch <= 1800  # walking in W1 from 08:00 to about 08:30 UTC
    lines = out.splitlines()
    assert lines[0] == "Coverage run 1: local days 2026-11-16 to 2026-11-22"
    w1 = next(line for line in lines if line.startswith("W1 "))
    assert "Alpha team" in w1 and f"{on_patch / 7200:.1%}" in w1  # of the window's 2 hours
    assert "1 left / 1.4 (70.0%)  322 d" in out  # O9 left on 18 November: 1 / (10 / 7)
    shown = ok("coverage", "--run", "1", "--ward", "W1", db=db)
    assert "% of each local hour with an officer on patch (* peak hours)" in shown
    cells = ["  0 "] * 24
    cells[7], cells[8], cells[9] = "  0*", f"{on_patch / 36:3.0f}*", "  0*"
    assert "Mon  " + "".join(cells) in shown.splitlines()
    assert "empty peak windows: none" in shown
    data = json.loads(ok("coverage", "--run", "1", "--json", db=db))
    assert data["wards"][0]["coverage"] == pytest.approx(on_patch / 7200)
    assert data["teams"][0]["leavers"] == 1

    exported = list(csv.DictReader(io.StringIO(ok("coverage-export", "coverage_windows", db=db))))
    assert [(r["ward_code"], r["label"], r["covered_s"]) for r in exported] == [
        ("W1", "Mon 16 Nov 07:30-09:30", str(on_patch)), ("W2", "Mon 16 Nov 07:30-09:30", "0.0")]
    js = json.loads(ok("coverage-export", "hotspot_dosage", "--format", "json", db=db))
    assert len(js) == 2
    assert ok("coverage-export", "hotspot_visits", "--format", "parquet", "--out", tmp / "v.parquet",
              db=db).startswith("wrote ")
    assert (tmp / "v.parquet").stat().st_size > 0


def test_history_snapshot_command(world):
    db, _, _, _ = world
    assert ok("history", "snapshot", "--as-of", "2026-11-01", db=db) == (
        "team history: 1 memberships opened, 0 closed, 0 unchanged\n")
    assert ok("history", "snapshot", "--as-of", "2026-11-08", db=db) == (
        "team history: 0 memberships opened, 0 closed, 1 unchanged\n")


def test_the_real_crime_sample_through_the_command(world):
    db, _, _, _ = world
    crime = shared_path("met_crime", "2023-01-metropolitan-street-sample.csv")
    out = ok("demand", "load", crime, "--json", db=db)
    data = json.loads(out)
    assert (data["format"], data["rows_read"], data["timed"], data["in_wards"]) == (
        "police", 4000, 0, 0)


@pytest.mark.parametrize("args, message", [
    (("demand", "load", "nope.csv"), "Error: nope.csv: no such file\n"),
    (("demand", "load", "{tmp}/empty.csv"), "Error: {tmp}/empty.csv: the file is empty\n"),
    (("demand", "load", "{tmp}/metres.csv"),
     "Error: {tmp}/metres.csv: the coordinates hold values like 180000, 530000: these look like "
     "projected metres (eastings/northings), not degrees; name their CRS with --crs "
     "(e.g. --crs EPSG:27700 for British National Grid)\n"),
    (("demand", "load", "{tmp}/metres.csv", "--crs", "EPSG:99999"),
     "Error: {tmp}/metres.csv: unknown CRS 'EPSG:99999'\n"),
    (("hotspots", "derive"),
     "Error: no demand inside the loaded wards; load some with: visibility demand load\n"),
    (("hotspots", "load", "{tmp}/cells.csv"), "Error: {tmp}/cells.csv line 2: 'zz' is not an H3 cell\n"),
    (("history", "load", "{tmp}/history.csv"),
     "Error: {tmp}/history.csv line 2: '1 Jan' is not a date like 2026-11-16\n"),
    (("coverage", "--run", "7"),
     "Error: no coverage run 7; list them with: visibility coverage-export coverage_runs\n"),
    (("coverage-export", "pings"), "Error: cannot export 'pings'; choose one of coverage_wards, "
     "coverage_teams, coverage_windows, coverage_hours, hotspot_dosage, hotspot_visits, "
     "hotspot_windows, abstraction, abstraction_reasons, off_patch_places, turnover, "
     "coverage_runs, demand, hotspots, memberships\n"),
    (("coverage-export", "demand", "--format", "parquet"), "Error: Parquet is binary: name a file with --out\n"),
    (("coverage", "--from", "2026-11-16"),
     "Error: give both --from and --to, or --week, or neither (the latest week)\n"),
])
def test_user_errors_are_one_line_and_exit_1(world, monkeypatch, args, message):
    db, tmp, _, _ = world
    monkeypatch.chdir(tmp)
    (tmp / "empty.csv").write_text("")
    (tmp / "metres.csv").write_text("lat,lon\n180000,530000\n181000,531000\n")
    (tmp / "cells.csv").write_text("cell\nzz\n")
    (tmp / "history.csv").write_text("officer_id,team,from\nO1,Alpha team,1 Jan\n")
    result = run(*[a.format(tmp=tmp) for a in map(str, args)], db=db)
    assert (result.exit_code, result.output) == (1, message.format(tmp=tmp))


def test_coverage_before_analysis_is_one_line(tmp_path):
    db = tmp_path / "e.duckdb"
    ok("init", db=db)
    result = run("coverage", db=db)
    assert (result.exit_code, result.output) == (
        1, "Error: nothing has been analysed yet; run: visibility analyse\n")


@pytest.mark.parametrize("args", [
    ("coverage", "--week", "2026-W99"),
    ("coverage-export", "coverage_wards", "--format", "xml"),
    ("hotspots", "load", "x.csv", "--radius-m", "-1"),
    ("demand", "load", "x.csv", "--format", "gpx"),
    ("history", "snapshot", "--as-of", "yesterday"),
])
def test_bad_arguments_exit_2(tmp_path, args):
    db = tmp_path / "e.duckdb"
    ok("init", db=db)
    assert run(*args, db=db).exit_code == 2
