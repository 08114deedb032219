"""Comparing patterns (reproducible from seeds), a plan against a real week, suggestions, the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_plan_simulate import FOOT_PERFECT, HOTSPOT, MONDAY, OBEY, base  # noqa: F401  (a fixture)
from visibility.analyse import analyse
from visibility.boundaries import load_stations, load_wards
from builders import run_cli as run
from visibility.ingest import ingest_file
from visibility.plan.compare import compare, render_table, shared_scope, write_page
from visibility.plan.pattern import parse_pattern
from visibility.plan.simulate import World, simulate
from visibility.plan.suggest import hour_demand, on_patrol, suggest
from visibility.roster import load_roster
from visibility.store import Store

ROOT = Path(__file__).resolve().parents[1]

FOOT = FOOT_PERFECT.replace('preset = "perfect"', 'preset = "radio"') + f"""
[[visit]]
name = "Gorse corner"
team = "Gorse"
point = [-0.050874, 51.561685]
per_shift = 1
minutes = 15
windows = ["12:00-15:00"]

[[peak]]
name = "lunch"
days = "weekdays"
hours = "12:00-14:00"
"""
CAR = FOOT.replace('name = "perfect foot"', 'name = "by car"').replace('style = "foot"', 'style = "vehicle"')




@pytest.fixture(scope="module")
def two(base):  # noqa: F811
    patterns = [parse_pattern(FOOT, source="foot.toml"), parse_pattern(CAR, source="car.toml")]
    return patterns, compare(patterns, base, MONDAY, seeds=[0, 1])


def test_compare_measures_every_pattern_on_the_same_scope(two):
    patterns, cmp = two
    assert cmp.labels == ["perfect foot", "by car"]
    assert [p.name for p in cmp.peaks] == ["lunch"] and [h.name for h in cmp.hotspots] == ["Gorse corner"]
    for lab in cmp.labels:
        assert len(cmp.runs[lab]) == 2
        assert cmp.stat(lab, "officer_hours")["mean"] == 32.0
    foot, car = (cmp.stat(lab, "visible_share") for lab in cmp.labels)
    assert foot["min"] > car["max"]  # the difference is beyond the spread over seeds
    assert cmp.stat("by car", "transit_share")["mean"] > cmp.stat("perfect foot", "transit_share")["mean"]
    text = render_table(cmp)
    assert "peak coverage: lunch" in text and "effective hotspot visits (10+ min)" in text
    assert "week 2026-W48, seeds 0, 1" in text and "longest unvisited gap (h)" in text


def test_comparison_is_reproducible_from_seeds(base, two):  # noqa: F811
    patterns, cmp = two
    again = compare(patterns, base, MONDAY, seeds=[0, 1])
    assert again.runs == cmp.runs
    other = compare(patterns[:1], base, MONDAY, seeds=[2])
    assert other.runs["perfect foot"][0] != cmp.runs["perfect foot"][0]


def test_html_page_escapes_names(two, tmp_path):
    patterns, cmp = two
    cmp.notes.append("<script>alert(1)</script>")
    page = write_page(tmp_path / "p.html", cmp).read_text()
    cmp.notes.pop()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "perfect foot" in page and "Gorse corner" in page


def test_plan_against_a_real_week(base, tmp_path):  # noqa: F811
    # a "real" store: boundaries, roster and fixes loaded as files, as a force would
    p = parse_pattern(FOOT, source="foot.toml")
    sc = simulate(p, base, tmp_path / "source.duckdb", MONDAY, seed=11)
    real = tmp_path / "real.duckdb"
    with Store.create(real) as store:
        load_wards(store, [ROOT / "boundaries" / "sample_wards.geojson"], "ward_code", "ward_name",
                   borough_code_field="borough_code", borough_name_field="borough_name")
        load_stations(store, ROOT / "boundaries" / "sample_stations.geojson")
        load_roster(store, sc.files / "officers.csv", sc.files / "shifts.csv")
        ingest_file(store, sc.files / "fixes.parquet")
        analyse(store, date_from=MONDAY, date_to=MONDAY.replace(day=29))
    cmp = compare([parse_pattern(CAR, source="car.toml")], real, MONDAY, seeds=[0], against=MONDAY)
    assert cmp.actual_label == "actual 2026-W48"
    assert cmp.actual["visible_share"] > cmp.stat("by car", "visible_share")["mean"]
    wards = cmp.ward_rows()
    assert [w["ward_code"] for w in wards] == ["X05000007"]
    assert wards[0]["actual"]["visible_share"] == pytest.approx(cmp.actual["visible_share"])
    assert set(wards[0]["actual"]["coverage"]) == {"lunch"}
    text = render_table(cmp)
    assert "per ward: plan against actual 2026-W48" in text and "X05000007" in text
    # the command line, with JSON and the page
    out = run("plan", "compare", *_write(tmp_path, car=CAR), "--against-week", "2026-W48", "--seeds", "1",
              "--db", real, "--json", "--html", tmp_path / "c.html")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["actual_week"] == "actual 2026-W48" and data["per_ward"][0]["ward_code"] == "X05000007"
    assert "Per ward: plan against actual 2026-W48" in (tmp_path / "c.html").read_text()


def _write(folder: Path, **texts) -> list[Path]:
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.toml"
        path.write_text(text)
        paths.append(path)
    return paths


def test_the_commands(base, tmp_path):  # noqa: F811
    foot, bad = _write(tmp_path, foot=FOOT, bad=FOOT.replace('wards = ["X05000007"]', 'wards = ["X05000099"]'))
    out = run("plan", "check", foot, "--db", base)
    assert out.exit_code == 0 and "is valid against" in out.output and "2 officers, 4 shifts" in out.output
    out = run("plan", "check", bad, "--db", base)
    assert out.exit_code == 1
    assert out.output == "Error: bad.toml: team.wards: ward 'X05000099' is not in the store (team 'Gorse')\n"
    scen = tmp_path / "s.duckdb"
    out = run("plan", "simulate", foot, "--week", "2026-W48", "--seed", "4", "--db", base, "--out-db", scen)
    assert out.exit_code == 0, out.output
    assert "simulated 'perfect foot' for 2026-W48 (seed 4): 2 officers, 4 shifts" in out.output
    assert f"scenario store: {scen}" in out.output and "Gorse" in out.output
    out = run("plan", "simulate", foot, "--week", "2026-W48", "--db", base, "--out-db", scen)
    assert out.exit_code == 1 and out.output == (f"Error: {scen} already exists; choose another --out-db "
                                                 "or pass --force\n")
    assert run("plan", "simulate", foot, "--week", "2026-W48", "--db", base, "--out-db", scen,
               "--force", "--json").exit_code == 0
    out = run("summary", "--db", scen, "--by", "team")  # the scenario store works like any other
    assert out.exit_code == 0 and "Gorse" in out.output
    out = run("plan", "simulate", foot, "--week", "2026-W99", "--db", base)
    assert out.exit_code == 2
    out = run("plan", "compare", foot, "--db", base)
    assert out.exit_code == 2 and "give --week" in out.output


def test_suggest_moves_visits_into_peak_hours_and_weights_beats(base, tmp_path):  # noqa: F811
    text = OBEY.replace('beats = ["square"]', 'beats = ["square", "X05000001"]') + """
[[peak]]
name = "school run"
days = "weekdays"
hours = "12:00-14:00"
"""
    p = parse_pattern(text, source="obey.toml")
    with Store.open(base, read_only=True) as store:
        world = World.from_store(store)
    proposal = suggest(p, world)
    again = parse_pattern(proposal.toml, source="suggested.toml")
    early = [v for v in again.visits if v.shifts == ("early",)]
    assert len(early) == 1 and early[0].randomise
    a, b = early[0].windows[0]
    assert 11 * 60 + 30 <= a and b <= 14 * 60 + 30 and early[0].minutes == 12.0
    assert any("at random times in 12:00-14:00" in c for c in proposal.changes)
    assert any("no shift puts anyone on patrol in peak" in n for n in proposal.notes) is False
    # the demand model: a peak's weight on its hours, a small base elsewhere
    d = hour_demand(list(p.peaks), ["W"])["W"]
    assert d[12] == pytest.approx(1.05) and d[11] == pytest.approx(0.05) and d[5 * 24 + 12] == pytest.approx(0.05)
    assert on_patrol(p, p.team("Ash"))[9] == pytest.approx(1.0)


def test_suggest_weights_the_beat_of_the_ward_with_the_demand(base):  # noqa: F811
    text = """
name = "two wards"
[[shift]]
name = "late"
start = "14:00"
hours = 8
days = "all"
[[team]]
name = "Pair"
wards = ["X05000001", "X05000003"]
headcount = 4
shifts = ["late"]
[[peak]]
name = "market"
days = "all"
hours = "16:00-20:00"
wards = ["X05000003"]
weight = 4
"""
    p = parse_pattern(text, source="two.toml")
    proposal = suggest(p)
    weights = dict(zip(proposal.pattern.team("Pair").beats, proposal.pattern.team("Pair").beat_weights))
    assert weights["X05000003"] > weights["X05000001"] > 0
    assert any("beat weights" in c for c in proposal.changes)


def test_suggest_command_prints_the_predicted_gain(base, tmp_path):  # noqa: F811
    (path,) = _write(tmp_path, foot=FOOT)
    out = run("plan", "suggest", path, "--week", "2026-W48", "--seeds", "1", "--db", base,
              "--out", tmp_path / "s.toml")
    assert out.exit_code == 0, out.output
    assert "suggested changes:" in out.output and "predicted gain (suggested - input" in out.output
    assert "visible share:" in out.output and f"wrote {tmp_path / 's.toml'}" in out.output
    assert parse_pattern((tmp_path / "s.toml").read_text()).headcount == 2


def test_shared_scope_names_clashing_peaks():
    a = parse_pattern(FOOT, source="a.toml")
    b = parse_pattern(FOOT.replace('hours = "12:00-14:00"', 'hours = "12:00-15:00"'), source="b.toml")
    with pytest.raises(Exception, match=r"^b.toml: peak.name: peak 'lunch' is defined differently"):
        shared_scope([a, b])
    assert HOTSPOT
