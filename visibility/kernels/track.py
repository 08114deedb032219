"""The per-fix track pass: reliability, speed, state and owned time.

Fixes arrive sorted by shift, then time, with ``seg`` offsets marking where each
shift's fixes start. Each shift is independent, so the parallel kernel gives
each shift to one thread, which writes only that shift's slice of the outputs.

Times are int64 microseconds, so owned time adds up exactly: for every shift
the five state totals sum to the shift's duration.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ..errors import KernelInputError
from ._checks import as_1d as _as
from ._jit import jit, pjit

NO_SIGNAL, IN_STATION, TRANSIT, ON_PATCH, OFF_PATCH = 0, 1, 2, 3, 4
N_STATES = 5
#: quality codes: why a fix is unreliable (0 = reliable).
Q_OK, Q_ACCURACY, Q_SPIKE = 0, 1, 2

EARTH_RADIUS_M = 6_371_008.8


@jit
def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres between two points in degrees."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@jit
def _shift_pass(lo, hi, start_us, end_us, t, lat, lon, acc, in_station, on_patch,
                half_gap_us, max_gap_us, spike_mps, acc_limit, transit_mps, window,
                state, quality, speed_kmh, own_from, own_to, totals, n_bad):
    """One shift: fixes ``lo:hi`` and its totals row."""
    n = hi - lo
    # 1. reliability: poor accuracy, then spikes (too fast from and to both neighbours).
    #    Each step's length is computed once (step[j]: fix lo+j to lo+j+1).
    for i in range(lo, hi):
        quality[i] = Q_OK
        if acc[i] > acc_limit:  # NaN (no accuracy given) compares false
            quality[i] = Q_ACCURACY
    step = np.empty(max(n - 1, 0), np.float64)
    for j in range(n - 1):
        i = lo + j
        step[j] = haversine_m(lat[i], lon[i], lat[i + 1], lon[i + 1])
    for i in range(lo + 1, hi - 1):
        dt_in = (t[i] - t[i - 1]) * 1e-6
        dt_out = (t[i + 1] - t[i]) * 1e-6
        v_in = step[i - 1 - lo] / dt_in
        v_out = step[i - lo] / dt_out
        if v_in > spike_mps and v_out > spike_mps:
            quality[i] = Q_SPIKE
    # 2. speed: path length over up to `window` reliable neighbours each side,
    #    never across a gap longer than max_gap. rel_step[j]: reliable fix j to j+1
    #    (the stored step when they are neighbours, else computed).
    rel = np.empty(n, np.int64)
    m = 0
    for i in range(lo, hi):
        speed_kmh[i] = 0.0
        if quality[i] == Q_OK:
            rel[m] = i
            m += 1
    rel_step = np.empty(max(m - 1, 0), np.float64)
    for j in range(m - 1):
        if rel[j + 1] == rel[j] + 1:
            rel_step[j] = step[rel[j] - lo]
        else:
            rel_step[j] = haversine_m(lat[rel[j]], lon[rel[j]], lat[rel[j + 1]], lon[rel[j + 1]])
    for k in range(m):
        a = k
        while a > 0 and k - a < window and t[rel[a]] - t[rel[a - 1]] <= max_gap_us:
            a -= 1
        b = k
        while b < m - 1 and b - k < window and t[rel[b + 1]] - t[rel[b]] <= max_gap_us:
            b += 1
        if b > a:
            dist = 0.0
            for j in range(a, b):
                dist += rel_step[j]
            speed_kmh[rel[k]] = dist / ((t[rel[b]] - t[rel[a]]) * 1e-6) * 3.6
    # 3. state, first match wins; 4. owned time, each side capped at max_gap/2.
    owned = 0
    for i in range(lo, hi):
        if quality[i] != Q_OK:
            s = NO_SIGNAL
            n_bad[0] += 1
        elif in_station[i]:
            s = IN_STATION
        elif speed_kmh[i] / 3.6 > transit_mps:
            s = TRANSIT
        elif on_patch[i]:
            s = ON_PATCH
        else:
            s = OFF_PATCH
        state[i] = s
        if i == lo:
            left = start_us
        else:
            left = t[i - 1] + (t[i] - t[i - 1]) // 2
        if i == hi - 1:
            right = end_us
        else:
            right = t[i] + (t[i + 1] - t[i]) // 2
        left = max(left, t[i] - half_gap_us, start_us)
        right = min(right, t[i] + half_gap_us, end_us)
        if right < left:
            right = left
        own_from[i] = left
        own_to[i] = right
        totals[s] += right - left
        owned += right - left
    totals[NO_SIGNAL] += (end_us - start_us) - owned


@pjit
def _track_pass(seg, start_us, end_us, t, lat, lon, acc, in_station, on_patch,
                half_gap_us, max_gap_us, spike_mps, acc_limit, transit_mps, window,
                state, quality, speed_kmh, own_from, own_to, totals, n_bad):
    for s in prange(len(seg) - 1):
        _shift_pass(seg[s], seg[s + 1], start_us[s], end_us[s], t, lat, lon, acc,
                    in_station, on_patch, half_gap_us, max_gap_us, spike_mps, acc_limit,
                    transit_mps, window, state, quality, speed_kmh, own_from, own_to,
                    totals[s], n_bad[s:s + 1])


def track_pass(seg, start_us, end_us, t_us, lat, lon, acc, in_station, on_patch, *,
               max_gap_s, spike_speed_kmh, accuracy_limit_m, transit_speed_kmh, speed_window):
    """Run the track pass over shifts; return per-fix and per-shift arrays.

    ``seg`` (int64, length shifts + 1) gives each shift's fix range; fixes are
    sorted by time within a shift and lie in ``[start_us, end_us)``. ``acc`` is
    NaN where unknown. Returns a dict with per-fix ``state``, ``quality``,
    ``speed_kmh``, ``own_from_us``, ``own_to_us`` and per-shift ``totals_us``
    (shifts x 5, in state order) and ``n_unreliable``.
    """
    seg = _as(seg, np.int64, "seg")
    start_us = _as(start_us, np.int64, "start_us")
    end_us = _as(end_us, np.int64, "end_us")
    t_us = _as(t_us, np.int64, "t_us")
    lat = _as(lat, np.float64, "lat")
    lon = _as(lon, np.float64, "lon")
    acc = _as(acc, np.float64, "acc")
    in_station = _as(in_station, np.bool_, "in_station")
    on_patch = _as(on_patch, np.bool_, "on_patch")
    n = len(t_us)
    n_shift = len(seg) - 1
    if n_shift < 0 or seg[0] != 0 or seg[-1] != n or np.any(np.diff(seg) < 0):
        raise KernelInputError("seg must run from 0 to the number of fixes, never decreasing")
    if len(start_us) != n_shift or len(end_us) != n_shift:
        raise KernelInputError("start_us and end_us need one value per shift")
    for name, arr in (("lat", lat), ("lon", lon), ("acc", acc), ("in_station", in_station),
                      ("on_patch", on_patch)):
        if len(arr) != n:
            raise KernelInputError(f"{name} has {len(arr)} values for {n} fixes")
    if np.any(end_us <= start_us):
        raise KernelInputError("every shift must end after it starts")
    if n:
        shift_of = np.repeat(np.arange(n_shift), np.diff(seg))
        if np.any(t_us < start_us[shift_of]) or np.any(t_us >= end_us[shift_of]):
            raise KernelInputError("every fix must lie inside its shift")
        same = shift_of[1:] == shift_of[:-1]
        if np.any(np.diff(t_us)[same] <= 0):
            raise KernelInputError("fix times must strictly increase within a shift")
    max_gap_us = int(round(max_gap_s * 1e6))
    out = {
        "state": np.empty(n, np.uint8),
        "quality": np.empty(n, np.uint8),
        "speed_kmh": np.empty(n, np.float32),
        "own_from_us": np.empty(n, np.int64),
        "own_to_us": np.empty(n, np.int64),
        "totals_us": np.zeros((n_shift, N_STATES), np.int64),
        "n_unreliable": np.zeros(n_shift, np.int64),
    }
    _track_pass(seg, start_us, end_us, t_us, lat, lon, acc, in_station, on_patch,
                max_gap_us // 2, max_gap_us, spike_speed_kmh / 3.6, float(accuracy_limit_m),
                transit_speed_kmh / 3.6, int(speed_window),
                out["state"], out["quality"], out["speed_kmh"], out["own_from_us"],
                out["own_to_us"], out["totals_us"], out["n_unreliable"])
    return out




@jit
def _thin(seg, t, interval_us, keep):
    for s in range(len(seg) - 1):
        last = -1
        for i in range(seg[s], seg[s + 1]):
            if last < 0 or t[i] - t[last] >= interval_us:
                keep[i] = True
                last = i


def thin_mask(seg, t_us, interval_s: float) -> np.ndarray:
    """Which fixes remain if each shift's track is thinned to one fix per ``interval_s``.

    Within every shift the first fix is kept, then each next fix at least
    ``interval_s`` after the last one kept: the track as a coarser device
    would have reported it.
    """
    seg = _as(seg, np.int64, "seg")
    t_us = _as(t_us, np.int64, "t_us")
    if interval_s <= 0:
        raise KernelInputError("the thinning interval must be positive")
    keep = np.zeros(len(t_us), np.bool_)
    _thin(seg, t_us, int(round(interval_s * 1e6)), keep)
    return keep


@jit
def _run_starts(seg, state, quality, ward, cell, own_from, own_to, starts):
    m = 0
    for s in range(len(seg) - 1):
        for i in range(seg[s], seg[s + 1]):
            if (i == seg[s] or state[i] != state[i - 1] or quality[i] != quality[i - 1]
                    or ward[i] != ward[i - 1] or cell[i] != cell[i - 1]
                    or own_from[i] != own_to[i - 1]):
                starts[m] = i
                m += 1
    return m


def run_starts(seg, state, quality, ward, cell, own_from_us, own_to_us) -> np.ndarray:
    """Where each run of a shift's track starts (indices into the fixes).

    A run is a stretch of consecutive fixes of one shift with the same state,
    quality, ward and cell whose owned intervals touch end to start. Inside a
    run every boundary between two fixes is the midpoint of their times (a
    gap long enough for the half-gap cap to bite leaves the intervals apart),
    so a run and its fixes' times give back each fix's owned interval exactly.
    """
    seg = _as(seg, np.int64, "seg")
    n = int(seg[-1]) if len(seg) else 0
    arrays = [_as(a, d, name) for a, d, name in (
        (state, np.uint8, "state"), (quality, np.uint8, "quality"), (ward, np.int64, "ward"),
        (cell, np.uint64, "cell"), (own_from_us, np.int64, "own_from_us"),
        (own_to_us, np.int64, "own_to_us"))]
    for name, arr in zip(("state", "quality", "ward", "cell", "own_from_us", "own_to_us"), arrays):
        if len(arr) != n:
            raise KernelInputError(f"{name} has {len(arr)} values for {n} fixes")
    starts = np.empty(n, np.int64)
    m = _run_starts(seg, *arrays, starts)
    return starts[:m]


@pjit
def _gather5(order, a, b, c, d, e, oa, ob, oc, od, oe):
    for i in prange(len(order)):
        k = order[i]
        oa[i] = a[k]
        ob[i] = b[k]
        oc[i] = c[k]
        od[i] = d[k]
        oe[i] = e[k]


def gather(order, *arrays):
    """``[x[order] for x in arrays]`` (five arrays), in parallel: one pass over ``order``."""
    order = _as(order, np.int64, "order")
    if len(arrays) != 5:
        raise KernelInputError("gather takes five arrays")
    for x in arrays:
        if x.ndim != 1 or len(x) < (order.max() + 1 if len(order) else 0):
            raise KernelInputError("gather: an index is beyond the end of an array")
    if len(order) and order.min() < 0:
        raise KernelInputError("gather: indexes must not be negative")
    arrays = [np.ascontiguousarray(x) for x in arrays]
    out = [np.empty(len(order), x.dtype) for x in arrays]
    _gather5(order, *arrays, *out)
    return out
