"""The track pass: hand-computed tracks, the time identity, and the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import S, make_track, offset, run_one
from reference import shift_reference
from visibility.errors import KernelInputError
from visibility.kernels import track_pass
from visibility.kernels.track import IN_STATION, NO_SIGNAL, OFF_PATCH, ON_PATCH, TRANSIT, run_starts


def seconds(out):
    return out["totals_us"][0] / S


# -- ownership -----------------------------------------------------------------------
def test_ownership_midpoints_and_caps_at_shift_edges():
    # Shift 0-600 s; standing fixes at 100, 130, 160 s; max gap 120 s (half 60 s).
    out = run_one(make_track([100, 130, 160]), 0, 600)
    assert list(out["own_from_us"] // S) == [40, 115, 145]
    assert list(out["own_to_us"] // S) == [115, 145, 220]
    assert seconds(out)[ON_PATCH] == 180
    assert seconds(out)[NO_SIGNAL] == 420


def test_ownership_at_a_gap_longer_than_max_gap():
    out = run_one(make_track([0, 300]), 0, 600)
    assert list(out["own_from_us"] // S) == [0, 240]
    assert list(out["own_to_us"] // S) == [60, 360]
    assert seconds(out)[ON_PATCH] == 180
    assert seconds(out)[NO_SIGNAL] == 420


def test_ownership_at_a_gap_shorter_than_max_gap_meets_in_the_middle():
    out = run_one(make_track([0, 100]), 0, 100.5)
    assert list(out["own_from_us"] // S) == [0, 50]
    assert list(out["own_to_us"]) == [50 * S, int(100.5 * S)]


def test_first_fix_owns_back_to_the_shift_start_only_within_half_the_gap():
    out = run_one(make_track([30, 45]), 0, 60)
    assert out["own_from_us"][0] == 0  # 30 s back, within 60 s
    out = run_one(make_track([90, 105]), 0, 120)
    assert out["own_from_us"][0] == 30 * S
    assert seconds(out)[NO_SIGNAL] == 30


def test_last_fix_is_cut_at_the_shift_end():
    out = run_one(make_track([0, 15, 599]), 0, 600)
    assert out["own_to_us"][-1] == 600 * S


def test_state_change_splits_time_at_the_midpoint():
    track = make_track([0, 20], on_patch=[True, False])
    out = run_one(track, 0, 40)
    assert list(out["state"]) == [ON_PATCH, OFF_PATCH]
    assert seconds(out)[ON_PATCH] == 10
    assert seconds(out)[OFF_PATCH] == 30


def test_shift_with_no_fixes_is_all_no_signal():
    out = track_pass(np.array([0, 0]), np.array([0]), np.array([3600 * S]),
                     np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0),
                     np.empty(0, bool), np.empty(0, bool), max_gap_s=120, spike_speed_kmh=200,
                     accuracy_limit_m=100, transit_speed_kmh=25, speed_window=1)
    assert seconds(out)[NO_SIGNAL] == 3600


# -- states and their priority ---------------------------------------------------------
def test_walking_is_on_patch_and_driving_is_transit():
    walk = run_one(make_track(range(0, 300, 15), east_m_per_s=1.4), 0, 300)
    assert set(walk["state"]) == {ON_PATCH}
    assert walk["speed_kmh"][5] == pytest.approx(1.4 * 3.6, rel=1e-3)
    drive = run_one(make_track(range(0, 300, 15), east_m_per_s=10.0), 0, 300)
    assert set(drive["state"]) == {TRANSIT}


def test_priority_no_signal_then_station_then_transit_then_patch():
    times = list(range(0, 150, 15))
    n = len(times)
    fast = make_track(times, east_m_per_s=10.0, in_station=[True] * n)
    assert set(run_one(fast, 0, 150)["state"]) == {IN_STATION}
    poor = make_track(times, east_m_per_s=10.0, in_station=[True] * n, acc=[150.0] * n)
    out = run_one(poor, 0, 150)
    assert set(out["state"]) == {NO_SIGNAL}
    assert set(out["quality"]) == {1}
    assert seconds(out)[NO_SIGNAL] == 150


def test_accuracy_exactly_at_the_limit_is_reliable():
    out = run_one(make_track([0, 15], acc=[100.0, 100.0]), 0, 30)
    assert set(out["quality"]) == {0}


def test_a_spike_is_no_signal_and_does_not_make_its_neighbours_transit():
    track = make_track(range(0, 150, 15))
    track["lat"][4], track["lon"][4] = offset(51.5, -0.1, north_m=10_000)
    out = run_one(track, 0, 150)
    assert out["quality"][4] == 2
    assert out["state"][4] == NO_SIGNAL
    assert set(np.delete(out["state"], 4)) == {ON_PATCH}
    assert seconds(out)[NO_SIGNAL] == 15


def test_speed_is_not_smoothed_across_a_long_gap():
    track = make_track([0, 15, 500, 515])
    track["lat"][2:], track["lon"][2:] = offset(51.5, -0.1, north_m=3000)  # 3 km in 485 s: 22 km/h
    out = run_one(track, 0, 600, transit_speed_kmh=5)
    assert list(out["speed_kmh"]) == [0, 0, 0, 0]


# -- invariants and the reference ------------------------------------------------------
@st.composite
def shifts(draw):
    """A shift with a random track: gaps, jitter, stops, spikes and poor fixes."""
    duration = draw(st.integers(60, 4 * 3600))
    n = draw(st.integers(0, 80))
    offsets = sorted(set(draw(st.lists(st.integers(0, duration * S - 1), min_size=n, max_size=n))))
    lat0, lon0 = 51.5, -0.1
    fixes = []
    for t in offsets:
        north = draw(st.floats(-3000, 3000))
        east = draw(st.floats(-3000, 3000))
        lat, lon = offset(lat0, lon0, north, east)
        fixes.append({
            "t": t, "lat": lat, "lon": lon,
            "acc": draw(st.one_of(st.none(), st.floats(0, 300))),
            "in_station": draw(st.booleans()), "on_patch": draw(st.booleans()),
        })
    return duration * S, fixes


def _arrays(fixes):
    return (np.array([f["t"] for f in fixes], np.int64), np.array([f["lat"] for f in fixes]),
            np.array([f["lon"] for f in fixes]),
            np.array([np.nan if f["acc"] is None else f["acc"] for f in fixes]),
            np.array([f["in_station"] for f in fixes], bool),
            np.array([f["on_patch"] for f in fixes], bool))


@settings(max_examples=200, deadline=None)
@given(shifts(), st.sampled_from([60.0, 120.0, 300.0]), st.integers(1, 3))
def test_states_add_up_to_the_shift_and_match_the_reference(shift, max_gap, window):
    end, fixes = shift
    t, lat, lon, acc, station, patch = _arrays(fixes)
    out = track_pass(np.array([0, len(fixes)]), np.array([0]), np.array([end]), t, lat, lon,
                     acc, station, patch, max_gap_s=max_gap, spike_speed_kmh=200,
                     accuracy_limit_m=100, transit_speed_kmh=25, speed_window=window)
    assert out["totals_us"][0].sum() == end
    assert np.all(out["own_to_us"] >= out["own_from_us"])
    assert np.all(out["own_from_us"][1:] >= out["own_to_us"][:-1])
    expected, totals = shift_reference(0, end, fixes, max_gap_s=max_gap, speed_window=window)
    assert list(out["totals_us"][0]) == totals
    assert [int(s) for s in out["state"]] == [e[0] for e in expected]
    assert list(out["own_from_us"]) == [e[2] for e in expected]
    assert list(out["own_to_us"]) == [e[3] for e in expected]


def test_many_shifts_in_one_call_are_independent():
    a = make_track([0, 15, 30])
    b = make_track([10, 20], on_patch=[False, False])
    cat = {k: np.concatenate([a[k], b[k] + (1000 * S if k == "t_us" else 0)]) for k in a}
    out = track_pass(np.array([0, 3, 5]), np.array([0, 1000 * S]), np.array([60 * S, 1100 * S]),
                     cat["t_us"], cat["lat"], cat["lon"], cat["acc"], cat["in_station"],
                     cat["on_patch"], max_gap_s=120, spike_speed_kmh=200, accuracy_limit_m=100,
                     transit_speed_kmh=25, speed_window=1)
    assert list(out["totals_us"].sum(axis=1)) == [60 * S, 100 * S]
    assert out["totals_us"][1][OFF_PATCH] == 80 * S  # 1000-1015 s and 1015-1080 s


@pytest.mark.parametrize("change, message", [
    (dict(seg=np.array([0, 5])), "seg must run"),
    (dict(t_us=np.array([0, 0, 10]) * S), "strictly increase"),
    (dict(t_us=np.array([0, 10, 700]) * S), "inside its shift"),
    (dict(end_us=np.array([0])), "end after"),
])
def test_wrapper_rejects_bad_input(change, message):
    track = make_track([0, 10, 20])
    args = dict(seg=np.array([0, 3]), start_us=np.array([0]), end_us=np.array([600 * S]),
                t_us=track["t_us"], lat=track["lat"], lon=track["lon"], acc=track["acc"],
                in_station=track["in_station"], on_patch=track["on_patch"])
    args.update(change)
    with pytest.raises(KernelInputError, match=message):
        track_pass(**args, max_gap_s=120, spike_speed_kmh=200, accuracy_limit_m=100,
                   transit_speed_kmh=25, speed_window=1)


SUBPROCESS = """
import json, numpy as np
from visibility.kernels import track_pass, latlng_to_cells
from visibility.kernels import within_radius
from visibility.kernels.track import gather, run_starts
rng = np.random.default_rng(5)
n = 400
t = np.cumsum(rng.integers(1, 18_000_000, n)).astype(np.int64)
lat = 51.5 + np.cumsum(rng.normal(0, 2e-4, n)); lon = -0.1 + np.cumsum(rng.normal(0, 3e-4, n))
acc = rng.uniform(0, 150, n)
out = track_pass(np.array([0, 150, n]), np.array([0, t[150]]), np.array([t[149] + 1, t[-1] + 1]),
                 t, lat, lon, acc, rng.random(n) < 0.1, rng.random(n) < 0.6, max_gap_s=120,
                 spike_speed_kmh=200, accuracy_limit_m=100, transit_speed_kmh=25, speed_window=2)
cells = latlng_to_cells(lat, lon, 10)
runs = run_starts(np.array([0, 150, n]), out["state"], out["quality"], np.zeros(n, np.int64),
                  cells, out["own_from_us"], out["own_to_us"])
near = within_radius(lat, lon, lat[::40], lon[::40] + 1e-4, np.full(10, 30.0))
moved = gather(rng.permutation(n), t, lat, lon, acc, cells)
print(json.dumps({"totals": out["totals_us"].tolist(), "state": out["state"].tolist(),
                  "cells": [int(c) for c in cells], "runs": runs.tolist(),
                  "near": near.tolist(), "moved": [x.tolist() for x in moved]}))
"""


@pytest.mark.parametrize("env", [{"NUMBA_NUM_THREADS": "1"}, {"NUMBA_DISABLE_JIT": "1"}],
                         ids=["one-thread", "no-jit"])
def test_kernels_agree_with_one_thread_and_without_jit(env):
    """Cached parallel code must survive a change of thread count; NUMBA_DISABLE_JIT runs the Python."""
    import json
    import os
    import subprocess
    import sys

    def run(extra):
        result = subprocess.run([sys.executable, "-W", "error", "-c", SUBPROCESS],
                                env={**os.environ, **extra}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert run(env) == run({"NUMBA_NUM_THREADS": "2"})


# -- track runs --------------------------------------------------------------------------
def runs_reference(shift_of, state, quality, ward, cell, own_from, own_to):
    """Run starts, the slow way: a fix starts a run unless it continues its predecessor."""
    starts = []
    for i in range(len(state)):
        same = i > 0 and (shift_of[i], state[i], quality[i], ward[i], cell[i]) == (
            shift_of[i - 1], state[i - 1], quality[i - 1], ward[i - 1], cell[i - 1])
        if not (same and own_from[i] == own_to[i - 1]):
            starts.append(i)
    return starts


def expand_runs(starts, n, t, own_from, own_to):
    """Each fix's owned interval from its run alone: midpoints inside, the run's own ends."""
    lo, hi = np.empty(n, np.int64), np.empty(n, np.int64)
    ends = list(starts[1:]) + [n]
    for a, b in zip(starts, ends):
        lo[a], hi[b - 1] = own_from[a], own_to[b - 1]
        for i in range(a + 1, b):
            lo[i] = hi[i - 1] = t[i - 1] + (t[i] - t[i - 1]) // 2
    return lo, hi


@settings(max_examples=150, deadline=None)
@given(st.lists(shifts(), min_size=1, max_size=3), st.sampled_from([60.0, 120.0, 300.0]),
       st.integers(0, 2**32))
def test_runs_match_the_reference_and_give_back_every_fix_interval(many, max_gap, seed):
    rng = np.random.default_rng(seed)
    parts, seg, starts_us, ends_us, base = [], [0], [], [], 0
    for end, fixes in many:
        t, lat, lon, acc, station, patch = _arrays(fixes)
        parts.append((t + base, lat, lon, acc, station, patch))
        seg.append(seg[-1] + len(fixes))
        starts_us.append(base)
        ends_us.append(base + end)
        base += end + 1000 * S
    t, lat, lon, acc, station, patch = (np.concatenate([p[k] for p in parts]) for k in range(6))
    out = track_pass(np.array(seg), np.array(starts_us), np.array(ends_us), t.astype(np.int64),
                     lat, lon, acc, station, patch, max_gap_s=max_gap, spike_speed_kmh=200,
                     accuracy_limit_m=100, transit_speed_kmh=25, speed_window=1)
    n = len(t)
    ward = rng.integers(-1, 2, n)  # few values, so that neighbours often agree
    cell = rng.integers(0, 2, n).astype(np.uint64)
    starts = run_starts(np.array(seg), out["state"], out["quality"], ward, cell,
                        out["own_from_us"], out["own_to_us"])
    shift_of = np.repeat(np.arange(len(many)), np.diff(seg))
    assert list(starts) == runs_reference(shift_of, out["state"], out["quality"], ward, cell,
                                          out["own_from_us"], out["own_to_us"])
    lo, hi = expand_runs(list(starts), n, t, out["own_from_us"], out["own_to_us"])
    assert np.array_equal(lo, out["own_from_us"]) and np.array_equal(hi, out["own_to_us"])


def test_run_starts_rejects_arrays_of_the_wrong_length():
    with pytest.raises(KernelInputError, match="cell has 1 values for 2 fixes"):
        run_starts(np.array([0, 2]), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(1),
                   np.zeros(2), np.zeros(2))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 200), st.integers(0, 2**32))
def test_gather_equals_fancy_indexing(n, seed):
    from visibility.kernels.track import gather

    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 9, n), rng.random(n), rng.random(n).astype(np.float32),
              rng.integers(0, 2, n).astype(bool), rng.integers(0, 2**60, n).astype(np.uint64)]
    order = rng.permutation(n)
    for got, x in zip(gather(order, *arrays), arrays):
        assert got.dtype == x.dtype and np.array_equal(got, x[order])


def test_gather_rejects_an_index_past_the_end():
    from visibility.kernels.track import gather

    with pytest.raises(KernelInputError, match="beyond the end"):
        gather(np.array([0, 3]), *[np.zeros(3)] * 5)
