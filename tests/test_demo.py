"""The demo on the shipped sample week: the whole pipeline, and its invariants."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from visibility.cli import main
from visibility.store import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_demo_prints_where_everything_is_and_the_headline(demo):
    folder, output = demo
    for name in ("demo.duckdb", "summary_wards.csv", "summary_officer_shifts.csv", "summary.html",
                 "report.html"):
        assert (folder / name).exists()
        assert str(folder / name) in output
    assert "Northbrook" in output and "pledge line: 80%" in output


def test_every_sample_shift_adds_up_exactly(demo):
    folder, _ = demo
    with Store.open(folder / "demo.duckdb", read_only=True) as store:
        bad = store.con.execute(
            "SELECT count(*) FROM shift_results WHERE on_patch_us + off_patch_us + in_station_us"
            " + transit_us + no_signal_us <> duration_us").fetchall()[0][0]
        shifts = store.count("shift_results")
        rostered = store.count("shifts")
        fixes_in_shifts = store.con.execute(
            "SELECT count(*) FROM pings p JOIN shifts s ON p.officer_id = s.officer_id "
            "AND p.ts >= s.start_ts AND p.ts < s.end_ts").fetchall()[0][0]
        results = store.con.execute("SELECT sum(n_fixes) FROM track_runs").fetchall()[0][0]
        presence, on_patch = store.con.execute(
            "SELECT (SELECT sum(on_patch_us) FROM presence), (SELECT sum(on_patch_us) FROM shift_results)"
        ).fetchall()[0]
        owned = store.con.execute(
            "SELECT count(*) FROM (SELECT shift_id, sum(epoch_us(own_to) - epoch_us(own_from)) AS o "
            "FROM track_runs GROUP BY shift_id) f JOIN shift_results r USING (shift_id) "
            "WHERE o > r.duration_us").fetchall()[0][0]
    assert bad == 0
    assert shifts == rostered > 100
    assert results == fixes_in_shifts
    assert presence == on_patch
    assert owned == 0


def test_sample_ingest_reconciles_and_keeps_the_bad_rows(demo):
    folder, _ = demo
    with Store.open(folder / "demo.duckdb", read_only=True) as store:
        rows = store.con.execute(
            "SELECT rows_read, rows_accepted, rows_rejected, rows_duplicate FROM sources").fetchall()
        rejects = store.count("rejects")
    assert all(r == a + j + d for r, a, j, d in rows)
    assert rejects == sum(j for _, _, j, _ in rows) > 0


def test_officer_shift_csv_has_the_canonical_columns(demo):
    folder, _ = demo
    with open(folder / "summary_officer_shifts.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"officer_id", "shift_start", "shift_end", "on_patch_s", "off_patch_s", "in_station_s",
            "transit_s", "no_signal_s", "visible_share"} <= set(rows[0])
    shares = [float(r["visible_share"]) for r in rows]
    assert 0 <= min(shares) and max(shares) <= 1
    # Diligent and less diligent officers: the sample spans both sides of the line.
    assert min(shares) < 0.8 < max(shares)


def test_summary_page_escapes_and_names_the_sources(demo):
    folder, _ = demo
    html = (folder / "summary.html").read_text()
    assert "<table>" in html and "fixes_2026-W47.parquet" in html
