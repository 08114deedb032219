"""Coverage, dosage, visits, abstraction and turnover on hand-built stores, and the interval
kernels against slow references."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage_world import P, Q, R, build, path, shift_of, stay
from visibility.errors import KernelInputError, PolicyError, StoreError
from visibility.kernels import clip_to_windows, merge_intervals, slot_totals, window_gaps
from visibility.measures import coverage_summary, export_table, measure
from visibility.peaks import parse_window, window_instances
from visibility.policy import Policy

H = 3600.0
W47 = (date(2026, 11, 16), date(2026, 11, 22))


def rows(store, sql, params=()):
    cur = store.con.execute(sql, list(params))
    return [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]


# -- peak windows -------------------------------------------------------------------------------
def test_parse_windows():
    w = parse_window("Fri-Sat 20:00-03:00")
    assert (w.days, w.start_min, w.end_min, w.minutes, w.area) == ((4, 5), 1200, 180, 420, None)
    assert parse_window("Sun-Tue 09:00-10:30").days == (0, 1, 6)
    assert parse_window("E05000026: daily 00:00-24:00").area == "E05000026"
    assert parse_window("mon,wed 08:00-09:00").days == (0, 2)
    for bad, message in [("Fri 20:00", "write it like"), ("Fry 20:00-21:00", "'fry' is not a day"),
                         ("Fri 20:00-20:00", "same time"), ("Fri 24:00-02:00", "not a time")]:
        with pytest.raises(PolicyError, match=message):
            parse_window(bad)


def _hours(start_us, end_us):
    return (np.asarray(end_us) - np.asarray(start_us)) / 3.6e9


@pytest.mark.parametrize("first, hours", [
    (date(2026, 10, 24), 8.0),  # Saturday before the clocks go back: 20:00 BST to 03:00 GMT
    (date(2026, 3, 28), 6.0),   # Saturday before they go forward: 20:00 GMT to 03:00 BST
    (date(2026, 11, 21), 7.0),
])
def test_window_across_midnight_and_the_clock_change(first, hours):
    s, e = window_instances([parse_window("Sat 20:00-03:00")], first, first, "Europe/London",
                            0, 2**62)
    assert list(_hours(s, e)) == [hours]


def test_windows_are_clipped_to_the_range_and_merged():
    day = date(2026, 11, 21)  # a Saturday
    lo = int(np.datetime64("2026-11-21T00:00", "us").astype(np.int64))
    hi = int(np.datetime64("2026-11-22T00:00", "us").astype(np.int64))
    windows = [parse_window("Fri-Sat 20:00-03:00"), parse_window("Sat 22:00-23:00")]
    s, e = window_instances(windows, day, day, "Europe/London", lo, hi)
    # Friday's window spills into Saturday 00:00-03:00; Saturday's is cut at midnight.
    assert list(_hours(s, e)) == [3.0, 4.0]


def test_policy_reads_peak_windows_from_toml(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('[peaks]\npeak_windows = ["Fri-Sat 20:00-03:00", "W2: Mon 08:00-09:00"]\n'
                 'visit_bridge_s = 30\n')
    policy = Policy.load(p)
    assert policy.peak_windows == ("Fri-Sat 20:00-03:00", "W2: Mon 08:00-09:00")
    assert Policy.from_mapping(policy.to_dict()) == policy
    p.write_text('peak_windows = ["Fri 25:00-03:00"]\n')
    with pytest.raises(PolicyError, match="policy peak_windows: peak window 'Fri 25:00-03:00'"):
        Policy.load(p)
    p.write_text("visit_effective_min = 1\n")
    with pytest.raises(PolicyError, match="visit_effective_min: 1.0 must be more than"):
        Policy.load(p)


# -- presence coverage --------------------------------------------------------------------------
FRIDAY_NIGHT = Policy(peak_windows=("Fri 20:00-03:00",))


@pytest.fixture(scope="module")
def friday(tmp_path_factory):
    """O1 and O2 (team T1, ward W1) overlap for an hour of a Friday night; T2 (W2) has nobody out.

    O1 on patch 21:00-23:00 UTC, O2 22:00-01:00; the window is Friday 20:00-03:00 (GMT).
    """
    tmp = tmp_path_factory.mktemp("friday")
    o1 = stay("O1", "2026-11-20T21:00:00Z", 2 * H, P)
    o2 = stay("O2", "2026-11-20T22:00:00Z", 3 * H, Q)
    o3 = stay("O3", "2026-11-20T21:00:00Z", 2 * H, P)  # T2's officer, off patch in W1
    store = build(tmp, [("O1", "T1", "W1"), ("O2", "T1", "W1"), ("O3", "T2", "W2")],
                  [shift_of(o1), shift_of(o2), shift_of(o3, "abstracted", "court")], o1 + o2 + o3)
    report = measure(store, FRIDAY_NIGHT, *W47)
    yield store, report
    store.close()


def test_two_officers_overlapping_count_once(friday):
    store, report = friday
    w1 = rows(store, "SELECT * FROM coverage_wards WHERE ward_code = 'W1'")[0]
    assert (w1["peak_s"], w1["covered_s"]) == (7 * H, 4 * H)  # 21:00-01:00 of 20:00-03:00
    assert w1["coverage"] == pytest.approx(4 / 7)
    assert (w1["windows"], w1["empty_windows"], w1["officers"], w1["teams"]) == (1, 0, 2, "T1")
    assert w1["longest_uncovered_s"] == 2 * H  # 01:00-03:00
    window = rows(store, "SELECT * FROM coverage_windows WHERE ward_code = 'W1'")[0]
    assert window["label"] == "Fri 20 Nov 20:00-03:00"
    assert str(window["uncovered_from"]) == "2026-11-21 01:00:00+00:00"


def test_a_team_with_nobody_out_on_a_peak_evening_covers_nothing(friday):
    store, _ = friday
    w2 = rows(store, "SELECT * FROM coverage_wards WHERE ward_code = 'W2'")[0]
    assert (w2["peak_s"], w2["covered_s"], w2["coverage"], w2["empty_windows"]) == (7 * H, 0, 0, 1)
    teams = {r["team"]: r for r in rows(store, "SELECT * FROM coverage_teams")}
    assert teams["T1"]["coverage"] == pytest.approx(4 / 7)
    assert (teams["T2"]["coverage"], teams["T2"]["empty_windows"]) == (0, 1)


def test_a_ward_served_by_two_teams_counts_each_team_s_own_officers(tmp_path):
    o1 = stay("O1", "2026-11-20T21:00:00Z", 2 * H, P)
    o2 = stay("O2", "2026-11-20T22:00:00Z", 3 * H, Q)
    store = build(tmp_path, [("O1", "T1", "W1"), ("O2", "T2", "W1;W2")],
                  [shift_of(o1), shift_of(o2)], o1 + o2)
    measure(store, FRIDAY_NIGHT, *W47)
    assert rows(store, "SELECT ward_code, coverage FROM coverage_wards ORDER BY 1") == [
        {"ward_code": "W1", "coverage": pytest.approx(4 / 7)}, {"ward_code": "W2", "coverage": 0}]
    teams = {r["team"]: r for r in rows(store, "SELECT * FROM coverage_teams")}
    assert teams["T1"]["covered_s"] == 2 * H and teams["T1"]["peak_s"] == 7 * H
    assert teams["T2"]["covered_s"] == 3 * H and teams["T2"]["peak_s"] == 14 * H  # W1 and W2
    store.close()


def test_hour_of_week_matrix(friday):
    store, _ = friday
    hours = {(r["dow"], r["hour"]): r for r in rows(
        store, "SELECT * FROM coverage_hours WHERE ward_code = 'W1'")}
    assert len(hours) == 168
    assert all(r["hours_s"] == H for r in hours.values())  # one week, no clock change
    covered = {k for k, r in hours.items() if r["covered_s"]}
    assert covered == {(5, 21), (5, 22), (5, 23), (6, 0)}
    assert {k for k, r in hours.items() if r["peak_s"]} == {(5, h) for h in range(20, 24)} | {
        (6, h) for h in range(3)}
    assert all(hours[k]["covered_peak_s"] == H for k in covered)
    assert sum(r["covered_s"] for r in hours.values()) == 4 * H


def test_abstraction_and_where_off_patch_time_went(friday):
    store, _ = friday
    abstraction = {r["team"]: r for r in rows(store, "SELECT * FROM abstraction")}
    assert abstraction["T2"]["abstraction_rate"] == 1.0
    assert abstraction["T1"]["abstraction_rate"] == 0.0
    assert rows(store, "SELECT reason, shifts, abstracted_s FROM abstraction_reasons") == [
        {"reason": "court", "shifts": 1, "abstracted_s": 2 * H}]
    places = rows(store, "SELECT team, place, ward_code, off_patch_s, share FROM off_patch_places")
    off = store.con.execute("SELECT sum(off_patch_us) / 1e6 FROM shift_results").fetchall()[0][0]
    assert places == [{"team": "T2", "place": "borough", "ward_code": "W1", "off_patch_s": off,
                       "share": 1.0}]
    assert off == 2 * H


def test_summary_and_exports(friday, tmp_path):
    import pyarrow.parquet as pq

    store, report = friday
    summary = coverage_summary(store, ward="W1")
    assert summary["wards"][0]["coverage"] == pytest.approx(4 / 7)
    assert len(summary["hours"]) == 168 and summary["empty"] == []
    n, text = export_table(store, "coverage_wards", "csv")
    assert n == 2 and text.splitlines()[0].startswith("run_id,ward_code,teams,officers")
    n, _ = export_table(store, "coverage_hours", "parquet", tmp_path / "h.parquet")
    assert n == 336 and pq.read_table(tmp_path / "h.parquet").num_rows == 336
    with pytest.raises(StoreError, match="cannot export 'pings'"):
        export_table(store, "pings")


def test_measuring_the_same_days_again_replaces_the_run(friday):
    store, first = friday
    again = measure(store, FRIDAY_NIGHT, *W47)
    assert again.run_id != first.run_id
    assert store.con.execute("SELECT count(*), count(DISTINCT run_id) FROM coverage_wards"
                             ).fetchall()[0] == (2, 1)


def test_a_week_across_the_clock_change(tmp_path):
    # Saturday 24 October 2026 19:00 UTC (20:00 BST) to Sunday 03:00 UTC (03:00 GMT): 8 hours.
    o1 = stay("O1", "2026-10-24T19:00:00Z", 8 * H, P)
    store = build(tmp_path, [("O1", "T1", "W1")], [shift_of(o1)], o1)
    measure(store, Policy(peak_windows=("Sat 20:00-03:00",)), date(2026, 10, 19), date(2026, 10, 25))
    w1 = rows(store, "SELECT * FROM coverage_wards WHERE ward_code = 'W1'")[0]
    assert (w1["peak_s"], w1["covered_s"], w1["coverage"]) == (8 * H, 8 * H, 1.0)
    hours = {(r["dow"], r["hour"]): r for r in rows(
        store, "SELECT * FROM coverage_hours WHERE ward_code = 'W1'")}
    assert sum(r["hours_s"] for r in hours.values()) == 169 * H  # the week has 169 hours
    assert hours[(7, 1)]["hours_s"] == 2 * H and hours[(7, 1)]["covered_peak_s"] == 2 * H
    assert sum(r["covered_s"] for r in hours.values()) == 8 * H
    store.close()


def test_measure_needs_an_analysis(tmp_path):
    store = build(tmp_path, [("O1", "T1", "W1")],
                  [("O1", "2026-11-16T08:00:00Z", "2026-11-16T09:00:00Z", "neighbourhood", "")],
                  [], analyse_it=False)
    with pytest.raises(StoreError, match="nothing has been analysed yet"):
        measure(store)
    store.close()


# -- hotspots, dosage and visits ------------------------------------------------------------------
def _cell_hotspot(tmp_path, store, point, label="P"):
    import h3

    from visibility.hotspots import load_hotspots

    csv = tmp_path / "hot.csv"
    csv.write_text(f"cell,label\n{h3.latlng_to_cell(*point, 10)},{label}\n")
    load_hotspots(store, csv)


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    """O1 in the hotspot cell (at P) for 5 minutes, out at Q for 30 s, back for 6 minutes, then
    at Q for the rest of a two-hour shift starting 18:00 UTC on Monday 16 November."""
    tmp = tmp_path_factory.mktemp("visit")
    o1 = path("O1", "2026-11-16T18:00:00Z", [(300, P), (30, Q), (360, P), (2 * H - 690, Q)])
    store = build(tmp, [("O1", "T1", "W1")], [shift_of(o1)], o1)
    _cell_hotspot(tmp, store, P)
    yield store
    store.close()


def test_a_visit_split_by_a_30_s_exit_is_bridged(visit):
    measure(visit, Policy(peak_windows=("Mon 17:30-20:00",)), *W47)
    visits = rows(visit, "SELECT * FROM hotspot_visits")
    assert len(visits) == 1
    v = visits[0]
    # In the cell from 18:00 to the midpoint after the last fix at P (11 min 22.5 s), less the
    # 30 s owned by the two fixes at Q.
    assert (v["duration_s"], v["present_s"], v["visit_class"]) == (682.5, 652.5, "effective")
    assert v["peak_s"] == 682.5
    dose = rows(visit, "SELECT * FROM hotspot_dosage")[0]
    assert (dose["dosage_s"], dose["visits"], dose["effective_visits"]) == (652.5, 1, 1)
    window = rows(visit, "SELECT * FROM hotspot_windows")[0]
    # Window 17:30-20:00: nobody until 18:00 (30 min), then none from 18:11:22.5 to 20:00.
    assert window["longest_gap_s"] == 2.5 * H - 1800 - 682.5
    assert window["revisit_met"] is True and window["visits"] == 1


def test_without_the_bridge_the_exit_splits_the_visit(visit):
    policy = Policy(peak_windows=("Mon 17:30-20:00",), visit_bridge_s=20, hotspot_revisit_min=30)
    measure(visit, policy, *W47)
    visits = rows(visit, "SELECT duration_s, present_s, visit_class FROM hotspot_visits "
                         "ORDER BY start_ts")
    assert visits == [{"duration_s": 292.5, "present_s": 292.5, "visit_class": "short"},
                      {"duration_s": 360.0, "present_s": 360.0, "visit_class": "short"}]
    window = rows(visit, "SELECT * FROM hotspot_windows")[0]
    assert window["visits"] == 2 and window["revisit_met"] is False
    dose = rows(visit, "SELECT * FROM hotspot_dosage")[0]
    assert (dose["short_visits"], dose["windows_missed"]) == (2, 1)


def test_a_circle_hotspot_is_tested_exactly(visit, tmp_path):
    from visibility.hotspots import load_hotspots

    csv = tmp_path / "circle.csv"
    csv.write_text(f"lat,lon,radius_m,label\n{P[0]},{P[1]},20,near P\n{Q[0]},{Q[1]},250,wide\n")
    load_hotspots(visit, csv)
    measure(visit, Policy(peak_windows=("Mon 17:30-20:00",)), *W47)
    dose = {r["hotspot_id"]: r for r in rows(visit, "SELECT * FROM hotspot_dosage")}
    assert dose[1]["officer_s"] == 652.5       # the fixes at P only
    assert dose[2]["officer_s"] == 2 * H       # P and Q are both within 250 m of Q
    wide = rows(visit, "SELECT * FROM hotspot_visits WHERE hotspot_id = 2")
    assert len(wide) == 1 and wide[0]["visit_class"] == "long"


def test_dosage_reconciles_with_the_presence_of_the_analysis(tmp_path):
    rng = np.random.default_rng(7)
    fixes, shifts = [], []
    points = [P, Q, (P[0] + 0.001, P[1]), (P[0], P[1] + 0.001), R]
    for k, start in enumerate(["2026-11-17T14:10:00Z", "2026-11-17T15:00:00Z",
                               "2026-11-18T19:30:00Z"]):
        legs = [(float(rng.integers(1, 40) * 15), points[rng.integers(len(points))])
                for _ in range(40)]
        officer = f"O{k + 1}"
        mine = path(officer, start, legs)
        fixes += mine
        shifts.append(shift_of(mine))
    store = build(tmp_path, [("O1", "T1", "W1;W2"), ("O2", "T1", "W1"), ("O3", "T2", "W1")],
                  shifts, fixes)
    import h3

    cells = [h3.latlng_to_cell(*p, 10) for p in points] + [h3.latlng_to_cell(*P, 9)]
    (tmp_path / "cells.csv").write_text("cell\n" + "\n".join(dict.fromkeys(cells)) + "\n")
    from visibility.hotspots import load_hotspots

    load_hotspots(store, tmp_path / "cells.csv")
    for windows, hours_sql in [(("daily 00:00-24:00",), "true"),
                               (("Mon-Sun 15:00-21:00",), "hour(p.hour_utc) BETWEEN 15 AND 20")]:
        measure(store, Policy(peak_windows=windows), *W47)
        got = dict(store.con.execute(
            "SELECT h.cell, d.dosage_s FROM hotspot_dosage d JOIN hotspots h USING (hotspot_id)"
        ).fetchall())
        for cell_hex in dict.fromkeys(cells):
            cell = int(cell_hex, 16)
            want = store.con.execute(
                f"""SELECT coalesce(sum(p.on_patch_us), 0) / 1e6 FROM presence p
                    WHERE ({'p.cell = ?' if h3.get_resolution(cell_hex) == 10 else
                           'p.cell IN (SELECT unnest(?::UBIGINT[]))'}) AND {hours_sql}""",
                [cell if h3.get_resolution(cell_hex) == 10 else
                 [int(c, 16) for c in h3.cell_to_children(cell_hex, 10)]]).fetchall()[0][0]
            assert got[cell] == pytest.approx(want, abs=1e-6), cell_hex
        assert sum(got.values()) > 0
    store.close()


# -- turnover -----------------------------------------------------------------------------------
def test_turnover_from_the_team_history(friday, tmp_path):
    from visibility.workforce import load_history

    store, _ = friday
    history = tmp_path / "history.csv"
    history.write_text("officer_id,team,ward_code,from,to\n"
                       "A,T1,W1,2026-01-01,\n"
                       "B,T1,W1,2026-01-01,2026-11-18\n"
                       "C,T1,W1,2026-11-19,\n"
                       "D,T1,W1,2025-06-01,2026-05-31\n"
                       "D,T1,W1;W2,2026-06-01,2026-11-19\n"
                       "D,T2,W2,2026-11-20,\n")
    load_history(store, history)
    measure(store, FRIDAY_NIGHT, *W47)
    got = {(r["team"], r["ward_code"]): r for r in rows(store, "SELECT * FROM turnover")}
    t1 = got[("T1", None)]
    # Member-days in the week: A 7, B 3 (16-18 Nov), C 4 (19-22), D 4 (16-19; two spells, one stint)
    assert t1["avg_headcount"] == pytest.approx(18 / 7)
    assert (t1["headcount_start"], t1["headcount_end"], t1["joiners"], t1["leavers"]) == (3, 2, 1, 2)
    assert t1["turnover"] == pytest.approx(2 / (18 / 7))
    assert t1["median_tenure_days"] == (326 + 4) / 2  # A since 1 Jan, C since 19 Nov
    t2 = got[("T2", None)]
    assert (t2["avg_headcount"], t2["leavers"], t2["joiners"]) == (pytest.approx(3 / 7), 0, 1)
    assert got[("T1", "W2")]["leavers"] == 1  # D left T1's W2 team too
    summary = {t["team"]: t for t in coverage_summary(store)["teams"]}
    assert summary["T1"]["leavers"] == 2


def test_history_snapshots_after_roster_loads(tmp_path):
    from visibility.roster import load_roster
    from visibility.workforce import snapshot_history

    o1 = stay("O1", "2026-11-16T08:00:00Z", H, P)
    store = build(tmp_path, [("O1", "T1", "W1"), ("O2", "T1", "W1")], [shift_of(o1)], o1)
    first = snapshot_history(store, date(2026, 11, 1))
    assert (first.opened, first.closed) == (2, 0)
    moved = tmp_path / "moved.csv"
    moved.write_text("officer_id,team,ward_code\nO2,T2,W2\n")
    load_roster(store, moved, None)
    second = snapshot_history(store, date(2026, 11, 19))
    assert (second.opened, second.closed, second.unchanged) == (1, 1, 1)
    assert rows(store, "SELECT officer_id, team, from_date::VARCHAR AS f, to_date::VARCHAR AS t "
                       "FROM memberships WHERE officer_id = 'O2' ORDER BY from_date") == [
        {"officer_id": "O2", "team": "T1", "f": "2026-11-01", "t": "2026-11-18"},
        {"officer_id": "O2", "team": "T2", "f": "2026-11-19", "t": None}]
    with pytest.raises(StoreError, match="already has a snapshot on 2026-11-19"):
        snapshot_history(store, date(2026, 11, 2))
    measure(store, Policy(), *W47)
    t1 = rows(store, "SELECT * FROM turnover WHERE team = 'T1' AND ward_code IS NULL")[0]
    assert (t1["leavers"], t1["headcount_end"]) == (1, 1)
    store.close()


# -- the interval kernels against slow references -------------------------------------------------
def ref_union(intervals):
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def ref_measure(intervals):
    return sum(e - s for s, e in ref_union(intervals))


def ref_clip(intervals, windows):
    return [sum(max(0, min(e, we) - max(s, ws)) for s, e in ref_union(intervals))
            for ws, we in windows]


def ref_longest_gap(intervals, ws, we):
    covered = [(max(s, ws), min(e, we)) for s, e in ref_union(intervals) if e > ws and s < we]
    best, t = 0, ws
    for s, e in covered:
        best = max(best, s - t)
        t = max(t, e)
    return max(best, we - t)


intervals_st = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 60)).map(
    lambda p: (p[0], p[0] + p[1])), max_size=25)


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(intervals_st, min_size=1, max_size=4), bridge=st.integers(0, 30))
def test_merge_matches_the_reference(groups, bridge):
    g = np.concatenate([np.full(len(iv), k) for k, iv in enumerate(groups)]).astype(np.int64)
    flat = [x for iv in groups for x in sorted(iv)]
    s = np.array([a for a, _ in flat], np.int64)
    e = np.array([b for _, b in flat], np.int64)
    out = merge_intervals(g, s, e, bridge)
    for k, iv in enumerate(groups):
        mine = out["group"] == k
        # Bridged: the reference unions intervals grown by the bridge, then shrinks them back.
        want = [(a, b - bridge) for a, b in ref_union([(a, b + bridge) for a, b in iv])]
        assert list(zip(out["start_us"][mine], out["end_us"][mine])) == want
        assert out["present_us"][mine].sum() == ref_measure(iv)
        assert out["count"][mine].sum() == len(iv)


@settings(max_examples=200, deadline=None)
@given(iv=intervals_st, windows=intervals_st)
def test_clip_slots_and_gaps_match_the_reference(iv, windows):
    w = np.array(ref_union(windows), np.int64).reshape(-1, 2)
    w = w[w[:, 1] > w[:, 0]]
    u = np.array(ref_union(iv), np.int64).reshape(-1, 2)
    ptr = np.array([0, len(w)])
    pieces = clip_to_windows(np.zeros(len(u), np.int64), u[:, 0], u[:, 1], ptr, w[:, 0], w[:, 1])
    got = np.bincount(pieces["window"], pieces["end_us"] - pieces["start_us"], len(w))
    assert list(got) == ref_clip(iv, w.tolist())
    gaps = window_gaps(ptr, w[:, 0], w[:, 1], np.array([0, len(u)]), u[:, 0], u[:, 1])
    assert list(gaps["longest_us"]) == [ref_longest_gap(iv, a, b) for a, b in w.tolist()]
    slots = slot_totals(np.zeros(len(u), np.int64), u[:, 0], u[:, 1], 100, 50, 12, 1)[0]
    for k in range(12):
        lo, hi = 100 + 50 * k, 150 + 50 * k
        assert slots[k] == sum(max(0, min(b, hi) - max(a, lo)) for a, b in u.tolist())


def test_kernels_refuse_bad_input():
    with pytest.raises(KernelInputError, match="sorted by group, then start"):
        merge_intervals([0, 0], [5, 1], [6, 2])
    with pytest.raises(KernelInputError, match="end at or after"):
        merge_intervals([0], [5], [4])
    with pytest.raises(KernelInputError, match="sorted and disjoint"):
        clip_to_windows([0], [0], [9], [0, 2], [0, 3], [5, 8])
