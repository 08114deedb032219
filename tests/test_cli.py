"""The command line: help everywhere, one clear error line, and the whole pipeline."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest

from builders import load_world_by_cli, tiny_world
from builders import run_cli as run
from visibility.cli import main


def all_commands(group=main, prefix=()):
    for name, cmd in group.commands.items():
        path = prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, path)
        else:
            yield path


COMMANDS = sorted(all_commands())




def test_the_canonical_commands_exist():
    names = {" ".join(c) for c in COMMANDS}
    assert {"init", "boundaries load", "stations load", "roster load", "ingest", "analyse",
            "summary", "demo"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "visibility " + " ".join(command) in result.output or command == ("demo",)


def test_top_level_help_is_quick_and_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0 and "analyse" in result.output and "ingest" in result.output


def pipeline(tmp_path):
    world = tiny_world(tmp_path)
    db = tmp_path / "cli.duckdb"
    load_world_by_cli(world, db, "--week", "2026-W47")
    return db, world


def test_pipeline_through_the_commands(tmp_path):
    db, _ = pipeline(tmp_path)
    result = run("summary", "--by", "officer-shift", "--format", "csv", db=db)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[:10] == ["officer_id", "team", "kind", "shift_start", "shift_end",
                              "on_patch_s", "off_patch_s", "in_station_s", "transit_s",
                              "no_signal_s"]
    assert row["shift_start"] == "2026-11-16T08:00:00Z"
    states = sum(float(row[k]) for k in ("on_patch_s", "off_patch_s", "in_station_s",
                                         "transit_s", "no_signal_s"))
    assert states == 3600
    table = run("summary", db=db)
    assert "W1" in table.output and "BELOW" in table.output
    js = json.loads(run("summary", "--by", "team", "--format", "json", db=db).output)
    assert js["rows"][0]["team"] == "Alpha team"
    assert js["pledge_line"] == 0.8


def test_ingest_json_reports_reconciliation(tmp_path):
    db, world = pipeline(tmp_path)
    result = run("ingest", world["fixes"], "--json", db=db)
    data = json.loads(result.output)
    assert data[0]["already_ingested"] is True


def test_db_from_the_environment(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("VISIBILITY_DB", str(db))
    assert run("init").exit_code == 0
    assert db.exists()


@pytest.mark.parametrize("args, message", [
    (("ingest", "nope.csv"), "Error: nope.csv: no such file\n"),
    (("analyse",), "Error: no wards are loaded; load them first with: visibility boundaries load\n"),
    (("summary",), "Error: nothing has been analysed yet; run: visibility analyse\n"),
    (("roster", "load", "--officers", "missing.csv"), "Error: no wards are loaded yet; load them first with: visibility boundaries load\n"),
    (("boundaries", "load", "missing.geojson", "--code-field", "a", "--name-field", "b",
      "--borough-code", "X"), "Error: missing.geojson: no such file\n"),
    (("init",), "Error: {db} already exists; use it as it is, or choose another --db path\n"),
])
def test_user_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "e.duckdb"
    assert run("init", db=db).exit_code == 0
    result = run(*args, db=db)
    assert result.exit_code == 1
    assert result.output == message.format(db=db)


def test_missing_store_is_one_line(tmp_path):
    result = run("analyse", db=tmp_path / "none.duckdb")
    assert result.exit_code == 1
    assert result.output.startswith("Error: no store at ")
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("args", [
    ("analyse", "--week", "2026-W99"),
    ("analyse", "--from", "16/11/2026"),
    ("summary", "--by", "planet"),
    ("analyse", "--week", "2026-W47", "--from", "2026-11-16"),
])
def test_bad_arguments_exit_2(tmp_path, args):
    db = tmp_path / "e.duckdb"
    run("init", db=db)
    assert run(*args, db=db).exit_code == 2


def test_bad_policy_file_is_one_line(tmp_path):
    db, _ = pipeline(tmp_path)
    policy = tmp_path / "p.toml"
    policy.write_text("max_gap_s = 120\nspeed_limit = 3\n")
    result = run("analyse", "--policy", policy, db=db)
    assert result.exit_code == 1
    assert result.output.startswith("Error: policy: unknown setting 'speed_limit'")
    policy.write_text("[track]\nmax_gap_s = -5\n")
    result = run("analyse", "--policy", policy, db=db)
    assert result.output == "Error: policy max_gap_s: -5.0 must be more than 0 and at most 3600\n"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(command):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "visibility " + " ".join(command) in readme
