"""How close simulated tracks come to real GPS recordings: the measurement behind the GPS model.

The recordings (``../shared/data/real_tracks/``: a run and a bike ride in
London and a car in Munich at 1 s, buses in Limerick at 1-2 s and in
Liverpool at about 25 s) are not police tracks, but they are real receivers
with real noise, stops, gaps and cadence. Four statistics are taken from them
and from tracks made by this package's path and device models, the same way:

1. **fix interval** (Liverpool's bus boxes, the one timer-driven recorder):
   quantiles of the seconds between fixes, against the device model run with
   the interval, jitter and event-report share fitted to them
   (:func:`fit_intervals`);
2. **signal gaps** (all of them): gaps longer than 30 s and three fix
   intervals, per hour, and their median length, against the model's outdoor
   dropouts;
3. **position noise at stops** (the ride and the car, the only recordings
   with stops of a minute or more): the error's standard deviation per axis
   and how much of it changes in 15 s (1 - correlation), against a standing
   device;
4. **speed spread while moving**, at the 15 s cadence the analysis sees:
   quantiles of speed divided by the median (per track, averaged over
   tracks), for the ride against the cycle
   style and for the car and buses against vehicle legs. (There is no walking
   recording; the run is shown against the foot style for its shape only.)

:func:`realism_report` returns the rows; ``python -m visibility.synth.realism``
prints them; tests/test_plan_realism.py holds them to their tolerances, and
docs/planning.md quotes them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visibility.synth import gps as gpsmod
from visibility.synth._frame import LocalFrame

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MOVING_KMH = 3.0
CADENCE_S = 15.0


@dataclass
class Track:
    name: str
    t: np.ndarray  # seconds
    x: np.ndarray  # metres east
    y: np.ndarray  # metres north


def _to_track(name: str, t, lon, lat) -> Track:
    t = np.asarray(t, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    lon, lat = np.asarray(lon, float)[order], np.asarray(lat, float)[order]
    frame = LocalFrame(lat0=float(np.mean(lat)), lon0=float(np.mean(lon)))
    x, y = frame.to_xy(lon, lat)
    return Track(name, t[order], x, y)


def _epoch(values) -> np.ndarray:
    import pandas as pd

    ts = pd.to_datetime(pd.Series(values), utc=True, format="mixed")
    return (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def read_recordings(folder: str | Path) -> dict[str, list[Track]]:
    """The real recordings as tracks in local metres (Liverpool: one track per trip)."""
    import pandas as pd

    from visibility.readers import read_fixes

    folder = Path(folder)
    out: dict[str, list[Track]] = {}
    for name in ("london_run_2017-07-08.gpx", "london_ride_2017-07-09.gpx", "limerick_bus_304.gpx"):
        t = read_fixes(folder / name, "gpx").to_pandas()
        out[name] = [_to_track(name, _epoch(t["time"]), t["lon"].astype(float), t["lat"].astype(float))]
    rows = json.loads((folder / "munich_car.json").read_text())
    pts = [re.findall(r"[-\d.]+", r["point"]) for r in rows]
    out["munich_car.json"] = [_to_track("munich_car.json", _epoch([r["time"] for r in rows]),
                                        [float(p[0]) for p in pts], [float(p[1]) for p in pts])]
    bus = pd.read_csv(folder / "liverpool_bus_route14.csv")
    out["liverpool_bus_route14.csv"] = [
        _to_track("liverpool_bus_route14.csv", _epoch(g["timestamp"]), g["longitude"], g["latitude"])
        for _, g in bus.groupby("trip_id")]
    return out


# ---------------------------------------------------------------------------
# Statistics


def intervals(tracks: list[Track]) -> np.ndarray:
    return np.concatenate([np.diff(tr.t) for tr in tracks])


def fit_intervals(dt: np.ndarray) -> dict:
    """Interval, jitter and event-report share of a timer-driven recorder, from its intervals.

    The interval is the commonest gap (of 5 s or more); the jitter the 90th
    percentile distance from it of the gaps within 5 s of it. A gap shorter than
    that cluster was cut by extra reports: with ``k ~ Poisson(lam)`` of them in
    an interval, a share ``f = 1 - exp(-lam) / (1 + lam)`` of the gaps is short,
    which is solved for ``lam``.
    """
    dt = dt[dt > 0]
    whole = np.round(dt).astype(int)
    counts = np.bincount(whole[whole >= 5])
    nominal = float(np.argmax(counts))
    cluster = dt[np.abs(dt - nominal) <= 5.0]
    jitter = float(max(1.0, np.quantile(np.abs(cluster - nominal), 0.9)))
    short = float(np.mean(dt < nominal - jitter - 0.5))
    lo, hi = 0.0, 10.0
    for _ in range(60):  # bisection: the short share grows with lam
        lam = 0.5 * (lo + hi)
        lo, hi = (lam, hi) if 1.0 - np.exp(-lam) / (1.0 + lam) < short else (lo, lam)
    return {"interval_s": nominal, "jitter_s": jitter, "extra_per_interval": 0.5 * (lo + hi)}


def gap_stats(tracks: list[Track], over_s: float = 30.0) -> tuple[float, float]:
    """(gaps longer than ``over_s`` and three fix intervals, per hour; their median length in s)."""
    gaps, total = [], 0.0
    for tr in tracks:
        d = np.diff(tr.t)
        gaps.append(d[d > max(over_s, 3.0 * np.median(d))])
        total += tr.t[-1] - tr.t[0]
    g = np.concatenate(gaps)
    return len(g) / (total / 3600.0), float(np.median(g)) if len(g) else 0.0


def stops(tr: Track, radius_m: float = 25.0, min_s: float = 60.0) -> list[slice]:
    """Stretches of at least ``min_s`` seconds within ``radius_m`` of their first fix, at 1 Hz."""
    out, i, n = [], 0, len(tr.t)
    while i < n:
        j = i
        while j + 1 < n and np.hypot(tr.x[j + 1] - tr.x[i], tr.y[j + 1] - tr.y[i]) < radius_m \
                and tr.t[j + 1] - tr.t[j] < 5:
            j += 1
        if tr.t[j] - tr.t[i] >= min_s:
            out.append(slice(i, j + 1))
            i = j + 1
        else:
            i += 1
    return out


def stop_noise(tracks: list[Track], lag_s: float = CADENCE_S) -> tuple[float, float]:
    """(sd per axis of positions about each stop's mean, 1 - their correlation ``lag_s`` apart)."""
    dev2, step2 = [], []
    for tr in tracks:
        for s in stops(tr):
            t, x, y = tr.t[s], tr.x[s] - tr.x[s].mean(), tr.y[s] - tr.y[s].mean()
            dev2.extend((x * x + y * y) / 2.0)
            k = np.searchsorted(t, t + lag_s)
            ok = k < len(t)
            step2.extend(((x[k[ok]] - x[ok]) ** 2 + (y[k[ok]] - y[ok]) ** 2) / 2.0)
    var = float(np.mean(dev2))
    return float(np.sqrt(var)), float(np.mean(step2) / (2.0 * var))


def speed_shape(tracks: list[Track], every_s: float = CADENCE_S) -> np.ndarray:
    """Quantiles (``QUANTILES``) of moving speed / its median, sampled every ``every_s`` seconds.

    Taken per track and averaged over the tracks (of 50 moving samples or more), so
    that two journeys at different typical speeds do not widen the spread.
    """
    shapes = []
    for tr in tracks:
        keep = [0]
        for i in range(1, len(tr.t)):
            if tr.t[i] - tr.t[keep[-1]] >= every_s:
                keep.append(i)
        k = np.array(keep)
        dt = np.diff(tr.t[k])
        v = np.hypot(np.diff(tr.x[k]), np.diff(tr.y[k])) / dt * 3.6
        v = v[(dt <= 3 * every_s) & (v > MOVING_KMH)]
        if len(v) >= 50:
            shapes.append(np.quantile(v, QUANTILES) / np.median(v))
    return np.mean(shapes, axis=0)


# ---------------------------------------------------------------------------
# Simulated counterparts


def _observed(plan, dur: float, model: gpsmod.GpsModel, rng, sigma: float, name: str) -> Track:
    kt, kx, ky = plan.knots(dur)
    t, x, y, _ = gpsmod.observe(model, rng, kt, kx, ky, [], 0, dur, sigma)
    return Track(name, t.astype(np.float64), x, y)


def simulated_stop(seed: int = 0, minutes: float = 120.0) -> Track:
    """A device standing still for ``minutes``, reporting every second, with the fitted noise."""
    from visibility.synth.tracks import _Plan

    rng = np.random.default_rng(seed)
    model = gpsmod.RADIO.replace(interval_s=1.0, jitter_s=0.0, dropouts_per_hour=0.0, poor_fix_p=0.0,
                                 spikes_per_hour=0.0)
    plan = _Plan(rng, np.zeros(2))
    return _observed(plan, minutes * 60.0, model, rng, float(np.mean(model.sigma_m)), "standing")


def simulated_moving(style: str, seed: int = 0, hours: float = 2.0,
                     model: gpsmod.GpsModel | None = None) -> Track:
    """A journey in the patrol model: legs of a street grid on foot or cycle, or vehicle legs."""
    from visibility.plan.pattern import STYLES
    from visibility.synth.patrol import Movement, _BeatArea, _go, _PatrolPlan, _patrol

    rng = np.random.default_rng(seed)
    st = STYLES[style]
    move = Movement(st.speed_kmh, 0.05, (0.2, 1.0), style == "vehicle")
    speed = float(np.mean(st.speed_kmh)) / 3.6
    plan = _PatrolPlan(rng, np.zeros(2))
    dur = hours * 3600.0
    if style == "vehicle":
        while plan.now < dur:
            a = rng.uniform(0, 2 * np.pi)
            _go(plan, plan.pos + rng.uniform(800.0, 4000.0) * np.array([np.cos(a), np.sin(a)]),
                move, speed, np.eye(2), dur)
    else:
        from shapely.geometry import box

        from visibility.synth.patrol import Beat

        area = _BeatArea.build(Beat("area", box(-0.03, -0.02, 0.03, 0.02)), LocalFrame(0.0, 0.0), rng)
        _patrol(plan, area, move, speed, dur)
    model = model or gpsmod.RADIO.replace(interval_s=1.0, jitter_s=0.0)
    return _observed(plan, dur, model, rng, float(np.mean(model.sigma_m)), style)


@dataclass
class Row:
    statistic: str
    real: float
    simulated: float
    tolerance: float  # allowed |real - simulated|
    source: str

    @property
    def ok(self) -> bool:
        return abs(self.real - self.simulated) <= self.tolerance


def realism_report(folder: str | Path, seed: int = 0) -> list[Row]:
    """Real against simulated, statistic by statistic (see the module docstring)."""
    rec = read_recordings(folder)
    rows: list[Row] = []
    # 1. fix intervals of a timer-driven recorder
    bus = rec["liverpool_bus_route14.csv"]
    dt = intervals(bus)
    fit = fit_intervals(dt)
    model = gpsmod.RADIO.replace(**fit)
    rng = np.random.default_rng(seed)
    hours = sum(tr.t[-1] - tr.t[0] for tr in bus) / 3600.0
    sim = np.concatenate([np.diff(gpsmod.fix_times(model, 3600.0, rng)) for _ in range(int(hours * 4))])
    for q, a, b in zip(QUANTILES, np.quantile(dt, QUANTILES), np.quantile(sim, QUANTILES)):
        rows.append(Row(f"fix interval q{int(q * 100)} (s)", float(a), float(b), max(3.0, 0.15 * a),
                        "liverpool_bus_route14.csv"))
    # 2. signal gaps of over 30 s
    one_hz = rec["london_run_2017-07-08.gpx"] + rec["london_ride_2017-07-09.gpx"] + rec["munich_car.json"] \
        + rec["limerick_bus_304.gpx"] + bus
    rate, median = gap_stats(one_hz)
    sims = [simulated_moving("vehicle", seed + k, 2.0, gpsmod.RADIO.replace(interval_s=1.0, jitter_s=0.0))
            for k in range(10)]
    srate, smedian = gap_stats(sims)
    rows.append(Row("signal gaps per hour", rate, srate, 0.5 * rate, "all recordings"))
    rows.append(Row("median signal gap (s)", median, smedian, 0.5 * median, "all recordings"))
    # 3. noise at stops
    sd, change = stop_noise(rec["london_ride_2017-07-09.gpx"] + rec["munich_car.json"])
    ssd, schange = stop_noise([simulated_stop(seed)])
    rows.append(Row("position sd at stops, per axis (m)", sd, ssd, 0.25 * sd, "ride, car"))
    rows.append(Row("share of stop error changing in 15 s", change, schange, 0.2, "ride, car"))
    # 4. speed spread while moving, at 15 s
    pairs = (("cycle", rec["london_ride_2017-07-09.gpx"], "london ride vs cycle"),
             ("vehicle", rec["munich_car.json"] + rec["limerick_bus_304.gpx"], "car, Limerick bus vs vehicle legs"),
             ("foot", rec["london_run_2017-07-08.gpx"], "run vs foot (shape only)"))
    for style, real, label in pairs:
        a = speed_shape(real)
        b = speed_shape([simulated_moving(style, seed + k, 2.0) for k in range(3)])
        for q, x, y in zip(QUANTILES, a, b):
            if q == 0.5:
                continue
            rows.append(Row(f"speed q{int(q * 100)} / median, {style}", float(x), float(y),
                            0.2 if style != "foot" else 0.35, label))
    return rows


def render(rows: list[Row]) -> str:
    lines = ["| statistic | real | simulated | tolerance | recordings |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.statistic} | {r.real:.2f} | {r.simulated:.2f} | ±{r.tolerance:.2f} | {r.source} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a measurement, run by hand
    import sys

    here = Path(__file__).resolve().parents[2]
    print(render(realism_report(sys.argv[1] if len(sys.argv) > 1 else here.parent / "shared" / "data" / "real_tracks")))
