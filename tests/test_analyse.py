"""Analyse over real stores: the time identity, clock changes, presence, re-runs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import tiny_world, write_wards, TWO_WARDS
from visibility.analyse import analyse
from visibility.boundaries import load_stations, load_wards
from visibility.errors import StoreError
from visibility.ingest import ingest_file
from visibility.policy import Policy
from visibility.roster import load_roster
from visibility.store import Store
from visibility.summary import summarise


def build(tmp_path, world=None):
    world = world or tiny_world(tmp_path)
    store = Store.create(tmp_path / "a.duckdb")
    load_wards(store, [world["wards"]], "code", "name", borough_code_field="bcode",
               borough_name_field="bname")
    load_stations(store, world["stations"])
    load_roster(store, world["officers"], world["shifts"])
    ingest_file(store, world["fixes"])
    return store


def test_tiny_world_breakdown(tmp_path):
    with build(tmp_path) as store:
        report = analyse(store)
        assert (report.shifts, report.fixes) == (1, 240)
        rec = summarise(store, "officer-shift").records()[0]
    assert rec["duty_s"] == 3600
    total = sum(rec[k] for k in ("on_patch_s", "off_patch_s", "in_station_s", "transit_s",
                                 "no_signal_s"))
    assert total == 3600
    # 30 minutes walking in W1, then a jump east and 30 minutes standing in W2.
    assert 1770 <= rec["on_patch_s"] <= 1800
    assert 1770 <= rec["off_patch_s"] <= 1800
    assert rec["visible_share"] == pytest.approx(rec["on_patch_s"] / 3600)
    assert rec["meets_line"] is False


def test_presence_reconciles_with_shift_totals_and_reanalysis_replaces(tmp_path):
    with build(tmp_path) as store:
        analyse(store)
        analyse(store)
        assert store.count("shift_results") == 1
        assert store.con.execute("SELECT sum(n_fixes) FROM track_runs").fetchall()[0][0] == 240
        on_patch = store.con.execute("SELECT on_patch_us FROM shift_results").fetchall()[0][0]
        presence = store.con.execute("SELECT sum(on_patch_us) FROM presence").fetchall()[0][0]
        assert presence == on_patch
        hours = store.con.execute("SELECT DISTINCT hour_utc::VARCHAR FROM presence").fetchall()
        assert hours == [("2026-11-16 08:00:00+00",)]


def test_shift_without_fixes_is_all_no_signal(tmp_path):
    world = tiny_world(tmp_path)
    world["shifts"].write_text("officer_id,start,end,kind\n"
                               "O1,2026-11-17T08:00:00Z,2026-11-17T16:00:00Z,neighbourhood\n")
    with build(tmp_path, world) as store:
        report = analyse(store)
        assert report.shifts_without_fixes == 1
        rec = summarise(store, "officer-shift").records()[0]
    assert rec["no_signal_s"] == 8 * 3600 and rec["visible_share"] == 0


@pytest.mark.parametrize("start, end, hours, day", [
    ("2026-10-24 23:00", "2026-10-25 07:00", 9, "2026-10-24"),  # clocks go back: 9 real hours
    ("2026-03-28 23:00", "2026-03-29 07:00", 7, "2026-03-28"),  # clocks go forward: 7
])
def test_shifts_across_a_clock_change(tmp_path, start, end, hours, day):
    from datetime import date

    world = tiny_world(tmp_path)
    world["shifts"].write_text(f"officer_id,start,end,kind\nO1,{start},{end},neighbourhood\n")
    with build(tmp_path, world) as store:
        report = analyse(store, Policy(), date.fromisoformat(day), date.fromisoformat(day))
        assert report.shifts == 1
        rec = summarise(store, "officer-shift").records()[0]
    assert rec["duty_s"] == hours * 3600
    assert rec["no_signal_s"] == hours * 3600


def test_date_range_selects_shifts_by_local_start_day(tmp_path):
    from datetime import date

    with build(tmp_path) as store:
        with pytest.raises(StoreError, match="no shifts start between 2026-11-17 and 2026-11-18"):
            analyse(store, Policy(), date(2026, 11, 17), date(2026, 11, 18))
        with pytest.raises(StoreError, match="before"):
            analyse(store, Policy(), date(2026, 11, 17), date(2026, 11, 16))
        assert analyse(store, Policy(), date(2026, 11, 16), date(2026, 11, 16)).shifts == 1


def test_policy_changes_the_answer(tmp_path):
    with build(tmp_path) as store:
        analyse(store, Policy())
        base = summarise(store, "officer-shift").records()[0]
        analyse(store, Policy(accuracy_limit_m=4))  # every fix reports 5 m: all unreliable
        strict = summarise(store, "officer-shift").records()[0]
    assert base["no_signal_s"] == 0
    assert strict["no_signal_s"] == 3600


def test_analyse_needs_wards_and_shifts(tmp_path):
    with Store.create(tmp_path / "e.duckdb") as store:
        with pytest.raises(StoreError, match="no wards are loaded"):
            analyse(store)
        load_wards(store, [write_wards(tmp_path / "w.geojson", TWO_WARDS)], "code", "name",
                   borough_code="B", borough_name="B")
        with pytest.raises(StoreError, match="no shifts are loaded"):
            analyse(store)
        with pytest.raises(StoreError, match="nothing has been analysed"):
            summarise(store)


def test_reanalysis_redoes_only_what_changed(tmp_path):
    world = tiny_world(tmp_path)
    world["shifts"].write_text(
        "officer_id,start,end,kind\nO1,2026-11-16T08:00:00Z,2026-11-16T09:00:00Z,neighbourhood\n"
        "O1,2026-11-17T08:00:00Z,2026-11-17T09:00:00Z,neighbourhood\n")
    with build(tmp_path, world) as store:
        first = analyse(store)
        assert first.shifts == 2 and first.notes[0].startswith("redone: 2 not analysed")
        again = analyse(store)
        assert again.shifts == 0 and "all 2 shifts in the range are up to date" in again.notes[0]
        # New fixes inside the second shift: only that shift is redone.
        extra = tmp_path / "tuesday.csv"
        extra.write_text("officer_id,timestamp,lat,lon\nO1,2026-11-17T08:10:00Z,51.505,-0.097\n")
        ingest_file(store, extra)
        third = analyse(store)
        assert third.shifts == 1 and "1 new fixes" in third.notes[0]
        # A new policy redoes both; --force redoes both whatever.
        assert analyse(store, Policy(max_gap_s=60)).shifts == 2
        assert analyse(store, Policy(max_gap_s=60), force=True).shifts == 2
        assert store.count("shift_results") == 2


# -- track runs give back every fix ---------------------------------------------------------
def per_fix_in_memory(store, policy):
    """Each fix's (shift, time, state, ward code, cell, owned interval), from the kernels."""
    import numpy as np

    from visibility.analyse import locate, open_scope, stream_fixes, track
    from visibility.locate import NO_WARD, StationIndex

    scope = open_scope(store, policy)
    stations = StationIndex.from_store(store, policy.station_radius_m, policy.station_margin_m)
    rows = []
    for fixes in stream_fixes(store, scope):
        cells, ward, on_patch = locate(fixes, scope)
        out, _, _ = track(fixes, scope, policy, stations.contains(fixes.lat, fixes.lon), on_patch)
        codes = np.array(list(scope.wards.codes) + [None], dtype=object)
        rows += zip(fixes.shift_id.tolist(), fixes.t.tolist(), out["state"].tolist(),
                    codes[np.where(ward == NO_WARD, -1, ward)].tolist(), cells.tolist(),
                    out["own_from_us"].tolist(), out["own_to_us"].tolist())
    return rows


def expanded(store):
    from visibility.analyse import run_fixes_sql

    return store.con.execute(
        f"""SELECT shift_id, epoch_us(ts), state, ward_code, cell, own_from_us, own_to_us
            FROM ({run_fixes_sql(store.con, 'SELECT * FROM track_runs')}) ORDER BY shift_id, ts"""
    ).fetchall()


def test_track_runs_give_back_each_fix_state_and_interval_over_the_sample_week(tmp_path):
    from visibility.demo import run_demo

    done = run_demo(tmp_path / "demo")
    with Store.open(done.store, read_only=True) as store:
        runs, fixes = store.con.execute("SELECT count(*), sum(n_fixes) FROM track_runs").fetchall()[0]
        assert runs < fixes / 2  # the point of runs: far fewer rows than fixes
        assert expanded(store) == per_fix_in_memory(store, Policy())


def test_track_runs_give_back_fixes_mixed_from_an_officer_and_a_device(tmp_path):
    from datetime import datetime, timedelta

    from visibility.devices import load_assignments

    world = tiny_world(tmp_path)
    with build(tmp_path, world) as store:
        # the same track again as a radio's, a second later and 70 m east, assigned for the
        # second half hour, plus one fix at an instant the officer's own feed has (it loses)
        lines = world["fixes"].read_text().splitlines()[1:]
        radio = ["radio,time,lat,lon"]
        for line in lines:
            _, ts, lat, lon = line.split(",")[:4]
            later = datetime.fromisoformat(ts) + timedelta(seconds=1)
            radio.append(f"R7,{later.isoformat()},{lat},{float(lon) + 0.001}")
        radio.append(f"R7,{lines[-1].split(',')[1]},51.5,-0.1")
        (tmp_path / "radio.csv").write_text("\n".join(radio) + "\n")
        ingest_file(store, tmp_path / "radio.csv")
        (tmp_path / "assign.csv").write_text("device_id,officer_id,from,to\n"
                                             "R7,O1,2026-11-16T08:30:00Z,\n")
        load_assignments(store, tmp_path / "assign.csv")
        analyse(store)
        got = expanded(store)
        assert len(got) == 240 + 120
        assert got == per_fix_in_memory(store, Policy())


def test_reading_the_scope_in_many_officer_chunks_changes_no_result(tmp_path, monkeypatch):
    import visibility.analyse as analysis
    from visibility.demo import run_demo

    done = run_demo(tmp_path / "demo")
    tables = {"shift_results": "SELECT * EXCLUDE (run_id) FROM shift_results ORDER BY shift_id",
              "track_runs": "SELECT * FROM track_runs ORDER BY shift_id, first_ts",
              "presence": "SELECT * FROM presence ORDER BY ALL"}
    with Store.open(done.store) as store:
        scope = analysis.open_scope(store, Policy())
        chunks = analysis.officer_chunks(store, scope, 20_000)
        assert len(chunks) > 5 and chunks[0][0] == scope.ctx.officer_ids[0]
        assert all(a <= b for a, b in chunks) and all(b < c for (_, b), (c, _) in zip(chunks, chunks[1:]))
        one = {k: store.con.execute(q).fetchall() for k, q in tables.items()}
        monkeypatch.setattr(analysis, "CHUNK_FIXES", 20_000)
        analyse(store, force=True)
        assert {k: store.con.execute(q).fetchall() for k, q in tables.items()} == one


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 500)), max_size=300, unique=True),
       st.integers(1, 50), st.randoms(use_true_random=False))
def test_fixes_from_a_chunk_are_put_in_order_and_cut_between_shifts(pairs, batch_rows, rnd):
    import numpy as np

    from visibility.analyse import Fixes, _Context, _cut

    rnd.shuffle(pairs)
    shift_id = np.array([p[0] * 7 for p in pairs], np.int64)
    t = np.array([p[1] for p in pairs], np.int64) + 10 ** 9
    n = len(pairs)
    fixes = Fixes(shift_id, t, np.arange(n, dtype=float), np.zeros(n), np.zeros(n))
    ids = np.arange(31, dtype=np.int64) * 7
    ctx = _Context(ids, np.zeros(31, np.int64), np.full(31, 10 ** 9), np.full(31, 10 ** 10),
                   ["neighbourhood"] * 31, np.array(["O"], dtype=object), np.ones(1, bool), 1)
    ordered = fixes.in_order(ctx)
    want = np.lexsort((t, shift_id))
    assert np.array_equal(ordered.lat, want.astype(float))
    batches = list(_cut(ordered, batch_rows))
    assert np.array_equal(np.concatenate([b.lat for b in batches] or [np.empty(0)]), ordered.lat)
    for a, b in zip(batches, batches[1:]):
        assert a.shift_id[-1] != b.shift_id[0]  # a shift is never split
    for b in batches:
        assert len(b) <= batch_rows or len(np.unique(b.shift_id)) == 1
