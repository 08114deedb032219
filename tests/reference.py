"""Slow, obviously-correct references of the kernels, for property tests."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
NO_SIGNAL, IN_STATION, TRANSIT, ON_PATCH, OFF_PATCH = range(5)


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def shift_reference(start, end, fixes, *, max_gap_s=120.0, spike_speed_kmh=200.0,
                    accuracy_limit_m=100.0, transit_speed_kmh=25.0, speed_window=1):
    """One shift by the book.

    ``fixes``: list of dicts with t (us), lat, lon, acc (None if unknown),
    in_station, on_patch; sorted by t, inside [start, end). Returns
    (per-fix list of (state, quality, own_from, own_to, speed_kmh), totals by state).
    """
    n = len(fixes)
    max_gap = int(round(max_gap_s * 1e6))
    half = max_gap // 2
    quality = []
    for f in fixes:
        quality.append(1 if f["acc"] is not None and f["acc"] > accuracy_limit_m else 0)
    for i in range(1, n - 1):
        a, b, c = fixes[i - 1], fixes[i], fixes[i + 1]
        v_in = haversine_m(a["lat"], a["lon"], b["lat"], b["lon"]) / ((b["t"] - a["t"]) * 1e-6)
        v_out = haversine_m(b["lat"], b["lon"], c["lat"], c["lon"]) / ((c["t"] - b["t"]) * 1e-6)
        if v_in > spike_speed_kmh / 3.6 and v_out > spike_speed_kmh / 3.6:
            quality[i] = 2
    reliable = [i for i in range(n) if quality[i] == 0]
    speed = [0.0] * n
    for k, i in enumerate(reliable):
        lo = k
        while lo > 0 and k - lo < speed_window and \
                fixes[reliable[lo]]["t"] - fixes[reliable[lo - 1]]["t"] <= max_gap:
            lo -= 1
        hi = k
        while hi < len(reliable) - 1 and hi - k < speed_window and \
                fixes[reliable[hi + 1]]["t"] - fixes[reliable[hi]]["t"] <= max_gap:
            hi += 1
        if hi > lo:
            chain = [fixes[reliable[j]] for j in range(lo, hi + 1)]
            dist = sum(haversine_m(p["lat"], p["lon"], q["lat"], q["lon"])
                       for p, q in zip(chain, chain[1:]))
            speed[i] = dist / ((chain[-1]["t"] - chain[0]["t"]) * 1e-6) * 3.6
    totals = [0] * 5
    out = []
    for i, f in enumerate(fixes):
        if quality[i]:
            state = NO_SIGNAL
        elif f["in_station"]:
            state = IN_STATION
        elif speed[i] > transit_speed_kmh:
            state = TRANSIT
        elif f["on_patch"]:
            state = ON_PATCH
        else:
            state = OFF_PATCH
        left = start if i == 0 else (fixes[i - 1]["t"] + (f["t"] - fixes[i - 1]["t"]) // 2)
        right = end if i == n - 1 else (f["t"] + (fixes[i + 1]["t"] - f["t"]) // 2)
        left = max(left, f["t"] - half, start)
        right = min(right, f["t"] + half, end)
        right = max(right, left)
        totals[state] += right - left
        out.append((state, quality[i], left, right, speed[i]))
    totals[NO_SIGNAL] += (end - start) - sum(r - l for _, _, l, r, _ in out)
    return out, totals
