"""``visibility report``: files written, pseudonyms, one-line errors, and a command that reproduces it."""

from __future__ import annotations

import html
import json
import re
import shlex

import pytest

from builders import load_world_by_cli
from builders import run_cli as run
from test_report import report_world




@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch):
    monkeypatch.delenv("VISIBILITY_KEY", raising=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store built and analysed through the commands (reports only read it)."""
    folder = tmp_path_factory.mktemp("cli_report")
    world = report_world(folder)
    db = folder / "cli.duckdb"
    load_world_by_cli(world, db, "--from", "2026-11-09", "--to", "2026-11-22")
    return db


def test_report_writes_the_page_and_says_so(store, tmp_path):
    out = tmp_path / "week47.html"
    result = run("report", "--borough", "B1", "--week", "2026-W47", "--out", out, db=store)
    assert result.exit_code == 0, result.output
    assert result.output == (f"Borough Testborough (B1) — week 2026-W47: 49.4% visibly on patch "
                             f"(below; line 80%), 1 shifts\nwrote {out}\n")
    html = out.read_text()
    assert "Testborough" in html and "officers shown as <strong>pseudonyms</strong>" in html
    assert 'data-officer="O1"' not in html and "OFC-" in html
    assert "Sample boundaries: made up" not in html  # B1's wards are not the made-up X codes
    assert store.with_name("cli.duckdb.key").exists()  # the pseudonym key, beside the store


def test_names_attribution_and_json(store, tmp_path):
    out = tmp_path / "r.html"
    result = run("report", "--ward", "W1", "--week", "2026-W47", "--out", out, "--names",
                 "--attribution", "Boundaries <made up> for tests", "--json", db=store)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["written"] == {"html": str(out)}
    assert data["total"]["visible_share"] == pytest.approx(0.5, abs=0.01)
    html = out.read_text()
    assert 'data-officer="O1"' in html and "officers shown as <strong>officer ids</strong>" in html
    assert "Boundaries &lt;made up&gt; for tests" in html


def test_export_writes_every_file(store, tmp_path):
    from visibility.report.export import FILES

    folder = tmp_path / "figures"
    result = run("report", "--team", "Alpha team", "--week", "2026-W47", "--out",
                 tmp_path / "t.html", "--export", folder, db=store)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # not measured: no peak files
    assert f"wrote {len(FILES)} files to {folder}" in result.output


def test_the_recorded_command_reproduces_the_report(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("report", "--borough", "B1", "--from", "2026-11-16", "--to", "2026-11-22",
               db=store).exit_code == 0
    first = (tmp_path / "report.html").read_text()
    command = html.unescape(re.search(r"Reproduce with: <code>(.*?)</code>", first).group(1))
    assert command == f"visibility report --db {store} --borough B1 --week 2026-W47 --out report.html"
    (tmp_path / "report.html").unlink()
    assert run(*shlex.split(command)[1:]).exit_code == 0
    again = (tmp_path / "report.html").read_text()

    def strip(page):
        return re.sub(r'generated \d{4}-\d\d-\d\d \d\d:\d\d UTC|"generated": "[^"]*"', "", page)
    assert strip(again) == strip(first)


@pytest.mark.parametrize("args, message", [
    (("--borough", "NOPE", "--week", "2026-W47"),
     "Error: no wards of borough 'NOPE' are loaded (boroughs: B1)\n"),
    (("--ward", "W9", "--week", "2026-W47"), "Error: no ward 'W9' is loaded\n"),
    (("--team", "Nobody", "--week", "2026-W47"), "Error: no team 'Nobody' in the roster\n"),
    (("--borough", "B1", "--week", "2026-W49"),
     "Error: no analysed shifts of borough B1 start from 2026-11-30 to 2026-12-06; analyse them "
     "first: visibility analyse --from 2026-11-30 --to 2026-12-06\n"),
])
def test_user_errors_are_one_line(store, tmp_path, args, message):
    result = run("report", *args, "--out", tmp_path / "x.html", db=store)
    assert result.exit_code == 1
    assert result.output == message
    assert not (tmp_path / "x.html").exists()


def test_nothing_analysed_yet(tmp_path):
    world = report_world(tmp_path)
    db = tmp_path / "fresh.duckdb"
    run("init", db=db)
    run("boundaries", "load", world["wards"], "--code-field", "code", "--name-field", "name",
        "--borough-code-field", "bcode", "--borough-name-field", "bname", db=db)
    run("roster", "load", "--officers", world["officers"], "--shifts", world["shifts"], db=db)
    result = run("report", "--borough", "B1", "--week", "2026-W47", "--names", db=db)
    assert result.output == "Error: nothing has been analysed yet; run: visibility analyse\n"


@pytest.mark.parametrize("args", [
    ("--week", "2026-W47"),                                   # no scope
    ("--borough", "B1", "--week", "2026-W47", "--from", "2026-11-16"),
    ("--borough", "B1", "--from", "2026-11-16"),              # half a range
    ("--borough", "B1", "--week", "2026-W47", "--weeks", "1"),
])
def test_bad_arguments_exit_2(store, args):
    assert run("report", *args, db=store).exit_code == 2


def test_pdf_without_chromium_is_one_line(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM", raising=False)
    result = run("report", "--borough", "B1", "--week", "2026-W47", "--out", tmp_path / "p.html",
                 "--pdf", db=store)
    assert result.exit_code == 1
    assert result.output.endswith("Error: no Chromium to print with: install it (Debian: apt-get "
                                  "install chromium) or set $CHROMIUM\n")
    assert (tmp_path / "p.html").exists()


def test_pdf_with_chromium(store, tmp_path):
    from visibility.report.browser import find_chromium

    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    result = run("report", "--borough", "B1", "--week", "2026-W47", "--out", tmp_path / "p.html",
                 "--pdf", db=store)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    assert f"wrote {tmp_path / 'p.pdf'}" in result.output
