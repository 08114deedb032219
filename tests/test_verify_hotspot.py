"""Verify claims about hotspot visits: synthetic weeks with known visits, and the gap arithmetic
against a minute-by-minute reference."""

from __future__ import annotations

import json
from datetime import date

import h3
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import write_wards
from visibility.boundaries import load_wards
from visibility.cli import main
from visibility.hotspots import load_hotspots
from visibility.ingest import ingest_file
from visibility.roster import load_roster
from visibility.store import Store
from visibility.verify import Claim, ClaimError, hotspot_compliance, verify

WARD = [("W1", "Alpha", -0.10, 51.50, 0.02)]
WEEK = (date(2026, 11, 16), date(2026, 11, 22))
#: The hotspot is the resolution-10 cell at the middle of the ward; the officer waits two rings
#: of cells away (about 230 m) and walks between the two in two minutes.
HOT_CELL = h3.latlng_to_cell(51.51, -0.09, 10)
P = h3.cell_to_latlng(HOT_CELL)
Q = h3.cell_to_latlng(sorted(h3.grid_ring(HOT_CELL, 2))[0])
DAY = "Mon-Sun 08:00-20:00"  # November: local time is UTC
WALK_S = 120


def hotspot_week(tmp_path, every_min: float, stay_min: float, missing: float = 0.0):
    """One officer of ward W1 on duty 08:00-20:00 every day of week 47, fixes every 15 s.

    From 08:00 they are in the hotspot for ``stay_min`` minutes out of every ``every_min``
    (walking out to Q and back in between), so the truth is known: visits of a little over
    ``stay_min`` minutes (the walk inside the cell adds some seconds), starting every
    ``every_min`` minutes. ``missing`` of the fixes are dropped in 10-minute blocks.
    """
    wards = write_wards(tmp_path / "w.geojson", WARD)
    (tmp_path / "officers.csv").write_text("officer_id,team,ward_code\nO1,T,W1\n")
    shifts, fixes = ["officer_id,start,end,kind"], ["officer_id,timestamp,lat,lon"]
    every_s, stay_s = every_min * 60, stay_min * 60
    for d in range(7):
        start = np.datetime64(f"2026-11-{16 + d}T08:00:00")
        shifts.append(f"O1,{start}Z,{start + np.timedelta64(12, 'h')}Z,neighbourhood")
        for k in range(12 * 240):
            if missing and (k // 40) % int(1 / missing) == 0:
                continue
            phase = (k * 15) % every_s
            if phase < stay_s:
                f = 0.0
            elif phase < stay_s + WALK_S:
                f = (phase - stay_s) / WALK_S
            elif phase > every_s - WALK_S:
                f = (every_s - phase) / WALK_S
            else:
                f = 1.0
            lat, lon = P[0] + f * (Q[0] - P[0]), P[1] + f * (Q[1] - P[1])
            fixes.append(f"O1,{start + np.timedelta64(k * 15, 's')}Z,{lat:.7f},{lon:.7f}")
    (tmp_path / "shifts.csv").write_text("\n".join(shifts) + "\n")
    (tmp_path / "fixes.csv").write_text("\n".join(fixes) + "\n")
    (tmp_path / "hot.csv").write_text(f"cell,label\n{HOT_CELL},Market square\n")
    db = tmp_path / "h.duckdb"
    with Store.create(db) as store:
        load_wards(store, [wards], "code", "name", borough_code="B1", borough_name="B")
        load_roster(store, tmp_path / "officers.csv", tmp_path / "shifts.csv")
        ingest_file(store, tmp_path / "fixes.csv")
        load_hotspots(store, tmp_path / "hot.csv")
    return db


def hot_claim(claimed=1.0, visit_min=15.0, every_min=120.0, windows=(DAY,), comparison="at_least"):
    return Claim(scope="hotspot", scope_id="1", date_from=WEEK[0], date_to=WEEK[1], claimed=claimed,
                 comparison=comparison, measure="hotspot_visits", windows=tuple(windows),
                 visit_min=visit_min, every_min=every_min)


@pytest.fixture(scope="module")
def every90(tmp_path_factory):
    return hotspot_week(tmp_path_factory.mktemp("h90"), 90, 20)


@pytest.fixture(scope="module")
def every180(tmp_path_factory):
    return hotspot_week(tmp_path_factory.mktemp("h180"), 180, 20)


def test_a_twenty_minute_visit_every_ninety_minutes_supports_fifteen_every_two_hours(every90):
    with Store.open(every90, read_only=True) as store:
        e = verify(store, hot_claim(), samples=0, boot=300)
    m = e["measured"]
    assert e["verdict"] == "supported", e["verdict_reason"]
    assert m["unit"] == "day" and m["days"] == 7 and m["value"] == 1.0
    assert m["interval_95"] == [1.0, 1.0]
    # Eight visits a day (08:00, 09:30, ... 18:30), each a little over 20 minutes.
    assert m["qualifying_visits"] == 56 and m["shorter_visits"] == 0
    assert all(20 <= v["minutes"] < 21.5 for v in m["visit_list"])
    # The gaps are the 70 minutes at Q, less the seconds of the walk spent inside the cell.
    assert 68 < m["longest_gap"]["minutes"] <= 70
    assert m["gaps_over"] == 0 and m["overdue_hours"] == 0
    assert [d["overdue_min"] for d in m["by_day"]] == [0] * 7
    assert m["claim_hours"] == 84 and m["claim_hours_off_duty"] == 0
    assert "no gap" in e["verdict_reason"]
    assert {s["setting"] for s in e["sensitivity"]["settings"]} >= {"visit_bridge_s", "max_gap_s"}
    assert e["sensitivity"]["verdict_holds"]


def test_a_visit_every_three_hours_does_not_support_every_two(every180):
    with Store.open(every180, read_only=True) as store:
        e = verify(store, hot_claim(), samples=0, boot=300)
        share70 = verify(store, hot_claim(0.70), samples=0, boot=300)
        share90 = verify(store, hot_claim(0.90), samples=0, boot=300)
    m = e["measured"]
    assert e["verdict"] == "not supported"
    # Visits at 08:00, 11:00, 14:00, 17:00: four gaps of about 160 minutes a day, the last one
    # running to the end of the window; each is about 40 minutes overdue.
    assert m["qualifying_visits"] == 28 and m["gaps_over"] == 28
    assert 158 < m["longest_gap"]["minutes"] <= 160.2
    for day in m["by_day"]:
        assert day["qualifying_visits"] == 4 and 155 < day["overdue_min"] < 161
    assert m["value"] == pytest.approx(1 - 4 * 39.5 / 720, abs=0.005)
    assert "28 gaps longer than 2 h" in e["verdict_reason"]
    gap = m["longest_gap"]
    assert gap["officer_hours_on_duty"] == pytest.approx(gap["minutes"] / 60, abs=0.01)
    assert gap["officer_hours_without_signal"] == 0
    # The same tracks judged as a share of the claimed time: every day alike, so a tight interval.
    assert share70["verdict"] == "supported" and share90["verdict"] == "not supported"
    lo, hi = share70["measured"]["interval_95"]
    assert lo <= share70["measured"]["value"] <= hi and hi - lo < 0.01


def test_ten_minute_visits_do_not_count_as_fifteen(tmp_path):
    db = hotspot_week(tmp_path, 90, 10)
    with Store.open(db, read_only=True) as store:
        e = verify(store, hot_claim(), samples=0, boot=200)
        ten = verify(store, hot_claim(visit_min=10.0), samples=0, boot=200)
    m = e["measured"]
    assert e["verdict"] == "not supported"
    assert m["qualifying_visits"] == 0 and m["shorter_visits"] == 56
    # No qualifying visit at all: each day is one 12-hour gap, of which 10 hours are overdue.
    assert m["longest_gap"]["minutes"] == 720
    assert m["value"] == pytest.approx(120 / 720, abs=1e-6)
    assert ten["verdict"] == "supported" and ten["measured"]["qualifying_visits"] == 56


def test_round_the_clock_evenings_and_duty_hours(every90):
    with Store.open(every90, read_only=True) as store:
        clock = verify(store, hot_claim(windows=()), samples=0, boot=200)
        evening = verify(store, hot_claim(windows=("Mon-Sun 21:00-24:00",)), samples=0, boot=200)
        duty = verify(store, hot_claim(windows=("duty",)), samples=0, boot=200)
        day = verify(store, hot_claim(), samples=0, boot=200)
    # Nobody is on duty from 20:00 to 08:00: round the clock, the nights are gaps of over twelve
    # hours, from the last visit (ending about 18:50) to 08:00.
    m = clock["measured"]
    assert clock["verdict"] == "not supported" and "round the clock" in clock["claim"]["sentence"]
    assert m["claim_hours"] == 168 and m["claim_hours_off_duty"] == 84
    gap = m["longest_gap"]
    assert 789 < gap["minutes"] < 791
    assert gap["officer_hours_on_duty"] == pytest.approx((20 * 60 - 18 * 60 - 50) / 60, abs=0.02)
    assert "officer-hours of the ward's team on duty in it" in clock["verdict_reason"]
    # The evenings have nobody at all: the first visit is due at 23:00, and the last hour of
    # each evening is overdue.
    assert evening["verdict"] == "not supported"
    assert "nobody of the ward's team was on duty" in evening["verdict_reason"]
    assert evening["measured"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    # Duty hours are exactly the 08:00-20:00 windows here.
    assert duty["verdict"] == "supported" and duty["measured"]["value"] == day["measured"]["value"]
    assert duty["measured"]["claim_hours"] == 84


def test_a_claim_that_cannot_fail_is_inconclusive(every90):
    with Store.open(every90, read_only=True) as store:
        e = verify(store, hot_claim(windows=("Mon-Sun 21:00-23:00",)), samples=0, boot=100)
    # Two-hour evenings with nobody there: no gap can be longer than two hours.
    assert e["measured"]["value"] == 1.0 and e["measured"]["qualifying_visits"] == 0
    assert e["verdict"] == "inconclusive" and "cannot fail" in e["verdict_reason"]


def test_mostly_missing_fixes_are_inconclusive(tmp_path):
    db = hotspot_week(tmp_path, 90, 20, missing=0.5)
    with Store.open(db, read_only=True) as store:
        e = verify(store, hot_claim(), samples=0, boot=200)
    assert e["verdict"] == "inconclusive" and "no signal" in e["verdict_reason"]


def test_a_share_claim_on_too_few_days_is_inconclusive(every180):
    short = Claim(scope="hotspot", scope_id="1", date_from=WEEK[0], date_to=date(2026, 11, 18),
                  claimed=0.5, measure="hotspot_visits", windows=(DAY,), visit_min=15, every_min=120)
    with Store.open(every180, read_only=True) as store:
        e = verify(store, short, samples=0, boot=200)
    assert e["verdict"] == "inconclusive" and "only 3 days" in e["verdict_reason"]


def test_cli_reruns_are_byte_identical_and_pages_show_the_gaps(tmp_path, every180):
    runner = CliRunner()
    base = ["verify", "--scope", "hotspot", "--id", "1", "--week", "2026-W47", "--visit-min", "15",
            "--every-min", "120", "--window", DAY, "--samples", "3", "--db", str(every180)]
    args = base + ["--json"]
    first = runner.invoke(main, args, catch_exceptions=False)
    second = runner.invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    e = json.loads(first.output)
    assert e["claim"]["measure"] == "hotspot_visits" and e["claim"]["claimed"] == 1.0
    assert e["measured"]["hotspot"]["label"] == "Market square"
    assert e["audit"]["hotspot_sha256"]
    page = tmp_path / "e.html"
    text = runner.invoke(main, base + ["--html", str(page)], catch_exceptions=False)
    assert "longest gap:" in text.output and "2026-11-16" in text.output
    html = page.read_text()
    assert "Longest gap" in html and "Market square" in html and "Gaps longer than" in html


def test_help_shows_a_hotspot_example():
    result = CliRunner().invoke(main, ["verify", "--help"])
    assert "Example" in result.output
    assert "--scope hotspot" in result.output and "--every-min" in result.output


@pytest.mark.parametrize("text, message", [
    ('scope = "hotspot"\nscope_id = 99\nweek = "2026-W47"\nvisit_min = 15\nevery_min = 120\n',
     "hotspot 99 is not loaded"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = 15\n',
     "needs every_min"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nevery_min = 120\n',
     "needs visit_min"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = -5\nevery_min = 120\n',
     "visit_min -5.0 must be a positive number of minutes"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = 15\nevery_min = "2h"\n',
     "every_min '2h' is not a number"),
    ('scope = "hotspot"\nscope_id = "market"\nweek = "2026-W47"\nvisit_min = 15\nevery_min = 120\n',
     "hotspot id 'market' is not a number"),
    ('scope = "team"\nscope_id = "T"\nweek = "2026-W47"\nclaimed = 0.8\nevery_min = 120\n',
     "belong to hotspot_visits claims only"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = 15\nevery_min = 120\n'
     'windows = ["duty", "Fri 18:00-23:00"]\n', "'duty' stands alone"),
    ('scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = 15\nevery_min = 120\n'
     'measure = "visible_share"\n', "about one hotspot"),
])
def test_bad_hotspot_claims_are_one_line(tmp_path, every90, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["verify", "--claim", str(path), "--db", str(every90)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_a_hotspot_claim_file_defaults_to_every_time(tmp_path, every90):
    path = tmp_path / "c.toml"
    path.write_text('[claim]\ntext = "Market square had a 15-minute visit every two hours"\n'
                    'scope = "hotspot"\nscope_id = 1\nweek = "2026-W47"\nvisit_min = 15\n'
                    f'every_min = 120\nwindows = ["{DAY}"]\n')
    claim = Claim.load(path)
    assert (claim.measure, claim.claimed, claim.scope_id) == ("hotspot_visits", 1.0, "1")
    assert "at least every 2 h" in claim.sentence()
    with pytest.raises(ClaimError, match="needs visit_min"):
        Claim(scope="hotspot", scope_id="1", date_from=WEEK[0], date_to=WEEK[1], claimed=1.0,
              measure="hotspot_visits", every_min=120)


# -- the arithmetic against a minute-by-minute reference -----------------------------------------
MIN = 60_000_000


def reference(visits, stretches, visit_min, every, bridge, day_len):
    """Minute by minute: merge each officer's visits (gaps up to ``bridge`` joined), keep those
    lasting ``visit_min`` or more, then walk each stretch counting the minutes since the last
    moment a qualifying visit was in progress (or since the stretch began)."""
    by_officer = {}
    for o, s, e in sorted(visits):
        runs = by_officer.setdefault(o, [])
        if runs and s - runs[-1][1] <= bridge:
            runs[-1][1] = max(runs[-1][1], e)
        else:
            runs.append([s, e])
    covered = set()
    for runs in by_officer.values():
        for s, e in runs:
            if e - s >= visit_min:
                covered.update(range(s, e))
    overdue_by_day, longest, breaches = {}, 0, 0
    for a, b in stretches:
        since = 0
        for m in range(a, b):
            if m in covered:
                since = 0
            else:
                since += 1
                longest = max(longest, since)
                if since > every:
                    overdue_by_day[m // day_len] = overdue_by_day.get(m // day_len, 0) + 1
                    if since == every + 1:
                        breaches += 1
    return overdue_by_day, longest, breaches


@settings(max_examples=60, deadline=None)
@given(visits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 400), st.integers(1, 60)),
                       max_size=12),
       cuts=st.lists(st.integers(0, 480), min_size=2, max_size=6, unique=True),
       visit_min=st.integers(1, 30), every=st.integers(1, 150), bridge=st.integers(0, 5))
def test_gaps_and_overdue_time_match_the_minute_by_minute_reference(visits, cuts, visit_min, every,
                                                                   bridge):
    cuts = sorted(cuts)
    stretches = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    day_len = 120
    visits = [(o, s, s + n) for o, s, n in visits]
    overdue, longest, breaches = reference(visits, stretches, visit_min, every, bridge, day_len)
    days = np.arange(0, 5) * day_len
    got = hotspot_compliance(
        np.array([v[0] for v in visits], np.int64), np.array([v[1] for v in visits], np.int64) * MIN,
        np.array([v[2] for v in visits], np.int64) * MIN,
        np.array([s for s, _ in stretches], np.int64) * MIN,
        np.array([e for _, e in stretches], np.int64) * MIN,
        days * MIN, (days + day_len) * MIN, visit_min * MIN, every * MIN, bridge * MIN)
    over = got["claim_day_us"] - got["kept_day_us"]
    assert [int(x) // MIN for x in over] == [overdue.get(d, 0) for d in range(5)]
    assert int(got["longest_gap_us"]) == longest * MIN
    assert len(got["breach_start_us"]) == breaches
    assert np.all(got["breach_end_us"] - got["breach_start_us"] > every * MIN)
