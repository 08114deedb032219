"""Interval kernels for coverage and hotspot visits.

Every measure of peak-period coverage and hotspot dosage is arithmetic on
half-open time intervals ``[start, end)`` in int64 microseconds, grouped (by
ward, by hotspot and officer, ...). Four small kernels do it, each in one pass
over sorted arrays:

- :func:`merge_intervals` -- the union of each group's intervals, joining
  intervals separated by at most a bridge gap (0: only overlapping or touching
  ones). Gives each merged interval's span and the time its members actually
  cover, so a visit with a 30 s exit bridged lasts its whole span but is
  present for 30 s less.
- :func:`clip_to_windows` -- the pieces of each interval that fall inside the
  (disjoint, sorted) windows of its group.
- :func:`slot_totals` -- the time of intervals falling in each of a run of
  equal slots (hours), per group.
- :func:`window_gaps` -- in each window, the longest stretch not covered by
  the (disjoint, sorted) intervals of its group.

Groups of windows and of disjoint intervals are passed in CSR form: the items
of group ``g`` are ``ptr[g]:ptr[g + 1]``. The slow references these are tested
against live in ``tests/test_coverage.py``.
"""

from __future__ import annotations

import numpy as np

from ..errors import KernelInputError
from ._checks import as_1d as _as
from ._jit import jit


# --- merge -------------------------------------------------------------------------------
@jit
def _merge(group, start, end, bridge, m_group, m_start, m_end, m_present, m_first, m_count):
    k = -1
    for i in range(len(start)):
        if k >= 0 and group[i] == m_group[k] and start[i] - m_end[k] <= bridge:
            if end[i] > m_end[k]:
                if start[i] > m_end[k]:
                    m_present[k] += end[i] - start[i]
                else:
                    m_present[k] += end[i] - m_end[k]
                m_end[k] = end[i]
            m_count[k] += 1
        else:
            k += 1
            m_group[k] = group[i]
            m_start[k] = start[i]
            m_end[k] = end[i]
            m_present[k] = end[i] - start[i]
            m_first[k] = i
            m_count[k] = 1
    return k + 1


def merge_intervals(group, start_us, end_us, bridge_us: int = 0) -> dict:
    """Union of each group's intervals, joining those at most ``bridge_us`` apart.

    Input sorted by group, then start. Returns arrays, one entry per merged
    interval: ``group``, ``start_us``, ``end_us`` (the span), ``present_us``
    (time covered by the members, the bridged gaps left out), ``first`` (index
    of its first member) and ``count`` (members).
    """
    group, start_us, end_us = _intervals(group, start_us, end_us)
    if bridge_us < 0:
        raise KernelInputError("the bridge gap must be 0 or more")
    _check_sorted(group, start_us, "intervals")
    n = len(start_us)
    out = {"group": np.empty(n, np.int64), "start_us": np.empty(n, np.int64),
           "end_us": np.empty(n, np.int64), "present_us": np.empty(n, np.int64),
           "first": np.empty(n, np.int64), "count": np.empty(n, np.int64)}
    k = _merge(group, start_us, end_us, np.int64(bridge_us), out["group"], out["start_us"],
               out["end_us"], out["present_us"], out["first"], out["count"])
    return {name: arr[:k] for name, arr in out.items()}


# --- clip --------------------------------------------------------------------------------
@jit
def _first_window(w_end, lo, hi, t):
    """First window in ``lo:hi`` ending after ``t`` (binary search)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if w_end[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _clip(wgroup, start, end, w_ptr, w_start, w_end, fill, p_item, p_window, p_start, p_end):
    k = 0
    for i in range(len(start)):
        g = wgroup[i]
        if g < 0:
            continue
        j = _first_window(w_end, w_ptr[g], w_ptr[g + 1], start[i])
        while j < w_ptr[g + 1] and w_start[j] < end[i]:
            s = max(start[i], w_start[j])
            e = min(end[i], w_end[j])
            if e > s:
                if fill:
                    p_item[k] = i
                    p_window[k] = j
                    p_start[k] = s
                    p_end[k] = e
                k += 1
            j += 1
    return k


def clip_to_windows(wgroup, start_us, end_us, w_ptr, w_start_us, w_end_us) -> dict:
    """Pieces of intervals inside windows.

    Interval ``i`` is clipped to the windows of group ``wgroup[i]`` (``-1``: no
    windows). Intervals may overlap each other and come in any order; each
    group's windows must be sorted and disjoint. Returns ``item`` (interval
    index), ``window`` (window index), ``start_us`` and ``end_us`` per piece.
    """
    wgroup = _as(wgroup, np.int64, "wgroup")
    start_us = _as(start_us, np.int64, "start_us")
    end_us = _as(end_us, np.int64, "end_us")
    _same_length(wgroup, start_us, end_us)
    w_ptr, w_start_us, w_end_us = _windows(w_ptr, w_start_us, w_end_us)
    if len(wgroup) and wgroup.max() >= len(w_ptr) - 1:
        raise KernelInputError("a window group is out of range")
    empty = np.empty(0, np.int64)
    n = _clip(wgroup, start_us, end_us, w_ptr, w_start_us, w_end_us, False,
              empty, empty, empty, empty)
    out = {name: np.empty(n, np.int64) for name in ("item", "window", "start_us", "end_us")}
    _clip(wgroup, start_us, end_us, w_ptr, w_start_us, w_end_us, True,
          out["item"], out["window"], out["start_us"], out["end_us"])
    return out


# --- slots -------------------------------------------------------------------------------
@jit
def _slots(group, start, end, origin, slot, out):
    n_slots = out.shape[1]
    top = origin + slot * n_slots
    for i in range(len(start)):
        s = max(start[i], origin)
        e = min(end[i], top)
        if e <= s:
            continue
        k = (s - origin) // slot
        while s < e:
            edge = min(origin + (k + 1) * slot, e)
            out[group[i], k] += edge - s
            s = edge
            k += 1


def slot_totals(group, start_us, end_us, origin_us: int, slot_us: int, n_slots: int,
                n_groups: int) -> np.ndarray:
    """Time of the intervals in each slot ``[origin + k*slot, origin + (k+1)*slot)``, per group.

    Returns an int64 array of shape ``(n_groups, n_slots)``; time outside the
    slots is left out. Intervals may overlap (their times add).
    """
    group, start_us, end_us = _intervals(group, start_us, end_us)
    if slot_us <= 0 or n_slots < 0:
        raise KernelInputError("slots must have a positive length")
    if len(group) and (group.min() < 0 or group.max() >= n_groups):
        raise KernelInputError("a group is out of range")
    out = np.zeros((n_groups, n_slots), np.int64)
    _slots(group, start_us, end_us, np.int64(origin_us), np.int64(slot_us), out)
    return out


# --- gaps --------------------------------------------------------------------------------
@jit
def _gaps(w_ptr, w_start, w_end, v_ptr, v_start, v_end, longest, gap_start, touching):
    for g in range(len(w_ptr) - 1):
        v0 = v_ptr[g]
        v1 = v_ptr[g + 1]
        for j in range(w_ptr[g], w_ptr[g + 1]):
            ws = w_start[j]
            we = w_end[j]
            k = _first_window(v_end, v0, v1, ws)  # first interval ending after ws
            t = ws
            best = 0
            best_at = ws
            n = 0
            while k < v1 and v_start[k] < we:
                if v_start[k] - t > best:
                    best = v_start[k] - t
                    best_at = t
                t = max(t, v_end[k])
                n += 1
                k += 1
            if t < we and we - t > best:
                best = we - t
                best_at = t
            longest[j] = best
            gap_start[j] = best_at
            touching[j] = n


def window_gaps(w_ptr, w_start_us, w_end_us, v_ptr, v_start_us, v_end_us) -> dict:
    """The longest stretch of each window not covered by its group's intervals.

    Both windows and intervals come in CSR groups (``ptr``), each group sorted
    and disjoint. Returns per window ``longest_us``, ``gap_start_us`` (where
    that stretch begins) and ``touching`` (intervals overlapping the window).
    A window with no interval is one gap as long as itself.
    """
    w_ptr, w_start_us, w_end_us = _windows(w_ptr, w_start_us, w_end_us)
    v_ptr, v_start_us, v_end_us = _windows(v_ptr, v_start_us, v_end_us, "intervals")
    if len(v_ptr) != len(w_ptr):
        raise KernelInputError("windows and intervals must have the same groups")
    n = len(w_start_us)
    out = {"longest_us": np.zeros(n, np.int64), "gap_start_us": np.zeros(n, np.int64),
           "touching": np.zeros(n, np.int64)}
    _gaps(w_ptr, w_start_us, w_end_us, v_ptr, v_start_us, v_end_us,
          out["longest_us"], out["gap_start_us"], out["touching"])
    return out


# --- helpers -----------------------------------------------------------------------------
def group_ptr(group, n_groups: int) -> np.ndarray:
    """CSR offsets of items sorted by ``group`` (values ``0..n_groups-1``)."""
    group = _as(group, np.int64, "group")
    ptr = np.zeros(n_groups + 1, np.int64)
    if len(group):
        if group.min() < 0 or group.max() >= n_groups:
            raise KernelInputError("a group is out of range")
        np.cumsum(np.bincount(group, minlength=n_groups), out=ptr[1:])
    return ptr




def _same_length(*arrays):
    if len({len(a) for a in arrays}) > 1:
        raise KernelInputError("the interval arrays must have the same length")


@jit
def _any_reversed(start, end):
    for i in range(len(start)):
        if end[i] < start[i]:
            return True
    return False


def _intervals(group, start_us, end_us):
    group = _as(group, np.int64, "group")
    start_us = _as(start_us, np.int64, "start_us")
    end_us = _as(end_us, np.int64, "end_us")
    _same_length(group, start_us, end_us)
    if _any_reversed(start_us, end_us):
        raise KernelInputError("every interval must end at or after its start")
    return group, start_us, end_us


@jit
def _first_unsorted(group, start):
    for i in range(1, len(group)):
        if group[i] < group[i - 1] or (group[i] == group[i - 1] and start[i] < start[i - 1]):
            return i
    return -1


def _check_sorted(group, start_us, what):
    if _first_unsorted(group, start_us) >= 0:
        raise KernelInputError(f"{what} must be sorted by group, then start")


def _windows(ptr, start_us, end_us, what="windows"):
    ptr = _as(ptr, np.int64, "ptr")
    start_us = _as(start_us, np.int64, "start_us")
    end_us = _as(end_us, np.int64, "end_us")
    _same_length(start_us, end_us)
    if len(ptr) == 0 or ptr[0] != 0 or ptr[-1] != len(start_us) or np.any(np.diff(ptr) < 0):
        raise KernelInputError(f"the {what}' group offsets do not match them")
    if np.any(end_us < start_us):
        raise KernelInputError(f"every one of the {what} must end at or after its start")
    if len(start_us) > 1:
        inner = np.ones(len(start_us) - 1, bool)
        inner[ptr[1:-1][(ptr[1:-1] > 0) & (ptr[1:-1] < len(start_us))] - 1] = False
        if np.any(start_us[1:][inner] < end_us[:-1][inner]):
            raise KernelInputError(f"each group's {what} must be sorted and disjoint")
    return ptr, start_us, end_us
