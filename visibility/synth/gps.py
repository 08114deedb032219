"""A GPS device model with documented, fitted parameters: when fixes come, and how wrong they are.

:func:`observe` samples a true path (the knots of a
:class:`visibility.synth.tracks._Plan`) the way a radio or phone would:

- **fix times**: one report every ``interval_s`` seconds, each moved by up to
  ``jitter_s`` either way and rounded to whole seconds; devices that also
  report on events (like a bus's AVL box) add ``extra_per_interval`` reports
  on average (Poisson) at random moments inside each interval;
- **dropouts**: outdoors, signal losses arrive at ``dropouts_per_hour`` and
  last ``dropout_s`` (log-uniform between the two bounds); indoors, a stay
  longer than two minutes loses the signal for a while with ``indoor_loss_p``;
- **position error**: a Gauss-Markov (first-order autoregressive) error per
  axis with standard deviation ``sigma_m`` (each device draws its own from the
  range) and correlation time ``noise_tau_s``, so fixes a few seconds apart
  err alike and fixes 15 s apart almost independently; indoors the error is
  ``indoor_sigma_m``;
- **reported accuracy**: about twice the device's error (a 95% radius), 12-40 m
  indoors; ``poor_fix_p`` of the fixes (three times as many indoors) report
  100-600 m and are that far off;
- **spikes**: ``spikes_per_hour`` single fixes thrown 2-20 km away.

The defaults (:data:`RADIO`) were fitted to the real recordings in
``../shared/data/real_tracks/`` (see :mod:`visibility.synth.realism` and
docs/planning.md for how close they come): position error 2.7 m per axis with
a 12 s correlation time at stops (London ride, Munich car), outdoor signal
gaps of 30 s to a few minutes about 1.5 an hour (the recorders' gaps of over
30 s and three fix intervals),
and no spikes in 15 hours of dedicated receivers (so a rare 0.04 an hour).
:data:`PERFECT` has none of the error: a fix exactly every ``interval_s``,
exactly where the officer is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GpsModel:
    """Settings of the device model; see the module docstring for what each does."""

    #: Nominal seconds between reports.
    interval_s: float = 15.0
    #: Each report time moves by up to this many seconds either way (uniform).
    jitter_s: float = 2.0
    #: Mean number of extra, event-triggered reports inside an interval (Poisson).
    extra_per_interval: float = 0.0
    #: Range of the per-device position error (standard deviation per axis, m).
    sigma_m: tuple[float, float] = (2.2, 3.4)
    #: Correlation time of the position error (s).
    noise_tau_s: float = 12.0
    #: Position error indoors (standard deviation per axis, m).
    indoor_sigma_m: float = 6.0
    #: Chance that a stay indoors of over two minutes loses the signal for a while.
    indoor_loss_p: float = 0.6
    #: Outdoor signal losses per hour.
    dropouts_per_hour: float = 1.5
    #: Shortest and longest outdoor signal loss (s), log-uniform between.
    dropout_s: tuple[float, float] = (30.0, 200.0)
    #: Share of outdoor fixes with a reported accuracy over 100 m (indoors three times this).
    poor_fix_p: float = 0.003
    #: Single fixes thrown 2-20 km away, per hour.
    spikes_per_hour: float = 0.04

    def __post_init__(self) -> None:
        checks = {
            "interval_s": self.interval_s >= 1.0,
            "jitter_s": 0.0 <= self.jitter_s < self.interval_s / 2 or self.jitter_s == 0.0,
            "extra_per_interval": 0.0 <= self.extra_per_interval <= 10.0
            and (self.extra_per_interval == 0.0 or self.interval_s >= 3.0),
            "sigma_m": len(self.sigma_m) == 2 and 0.0 <= self.sigma_m[0] <= self.sigma_m[1],
            "noise_tau_s": self.noise_tau_s > 0.0,
            "indoor_sigma_m": self.indoor_sigma_m >= 0.0,
            "indoor_loss_p": 0.0 <= self.indoor_loss_p <= 1.0,
            "dropouts_per_hour": self.dropouts_per_hour >= 0.0,
            "dropout_s": len(self.dropout_s) == 2 and 0.0 < self.dropout_s[0] <= self.dropout_s[1],
            "poor_fix_p": 0.0 <= self.poor_fix_p <= 0.3,
            "spikes_per_hour": self.spikes_per_hour >= 0.0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"{key}: {getattr(self, key)!r} is out of range")

    def replace(self, **changes) -> "GpsModel":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


#: The fitted default: a radio reporting every 15 s.
RADIO = GpsModel()
#: No error at all: a fix exactly every 15 s, exactly on the path, never lost.
PERFECT = GpsModel(jitter_s=0.0, sigma_m=(0.0, 0.0), indoor_sigma_m=0.0, indoor_loss_p=0.0,
                   dropouts_per_hour=0.0, poor_fix_p=0.0, spikes_per_hour=0.0)
PRESETS = {"radio": RADIO, "perfect": PERFECT}


def device_sigma(model: GpsModel, rng: np.random.Generator) -> float:
    """One device's outdoor position error (m per axis), drawn from the model's range."""
    lo, hi = model.sigma_m
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def fix_times(model: GpsModel, dur: float, rng: np.random.Generator) -> np.ndarray:
    """Report times (s from the start, whole seconds when jittered, sorted, unique) in [0, dur)."""
    n = int(dur // model.interval_s) + 1
    base = np.arange(n) * model.interval_s
    if model.jitter_s > 0:
        rel = np.round(base + rng.uniform(-model.jitter_s, model.jitter_s, n))
    else:
        rel = base.copy()
    if model.extra_per_interval > 0:
        k = rng.poisson(model.extra_per_interval, n)
        at = np.repeat(base, k) + rng.uniform(1.0, model.interval_s - 1.0, int(k.sum()))
        rel = np.concatenate([rel, np.round(at)])
    rel = np.unique(rel[(rel >= 0) & (rel < dur)])
    return rel


def gauss_markov(times: np.ndarray, sigma, tau_s: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean error series at ``times`` with sd ``sigma`` and correlation exp(-dt / tau_s).

    ``sigma`` may be a scalar or one value per time (the stationary sd there).
    """
    n = len(times)
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n,))
    z = rng.normal(0.0, 1.0, n)
    out = np.empty(n)
    if n == 0:
        return out
    rho = np.exp(-np.diff(times, prepend=times[0] - 1e9) / tau_s)
    innov = np.sqrt(1.0 - rho * rho)
    prev = 0.0
    for i in range(n):  # one step per fix; a shift has a few thousand
        prev = rho[i] * prev + innov[i] * z[i]
        out[i] = prev
    return out * sig


def observe(model: GpsModel, rng: np.random.Generator, kt: np.ndarray, kx: np.ndarray,
            ky: np.ndarray, indoor: list[tuple[float, float]], start: int, dur: float,
            sigma_m: float):
    """Sample a true path as the device would: (epoch seconds, x, y, accuracy), after dropouts.

    ``kt``, ``kx``, ``ky`` are the path's knots (seconds from ``start``, local
    metres); ``indoor`` the (from, to) seconds spent inside buildings;
    ``sigma_m`` this device's outdoor error.
    """
    rel = fix_times(model, dur, rng)
    n = len(rel)
    x = np.interp(rel, kt, kx)
    y = np.interp(rel, kt, ky)

    inside = np.zeros(n, dtype=bool)
    keep = np.ones(n, dtype=bool)
    for a, b in indoor:
        lo, hi = np.searchsorted(rel, [a, b])
        inside[lo:hi] = True
        if model.indoor_loss_p > 0 and b - a > 120.0 and rng.random() < model.indoor_loss_p:
            g0 = rng.uniform(a, b - 60.0)
            g1 = g0 + rng.uniform(60.0, min(900.0, 0.6 * (b - a)))
            keep[slice(*np.searchsorted(rel, [g0, g1]))] = False
    if model.dropouts_per_hour > 0:
        lo_s, hi_s = model.dropout_s
        for _ in range(int(rng.poisson(model.dropouts_per_hour * dur / 3600.0))):
            g0 = rng.uniform(0.0, dur)
            g1 = g0 + float(np.exp(rng.uniform(np.log(lo_s), np.log(hi_s))))
            keep[slice(*np.searchsorted(rel, [g0, g1]))] = False

    sigma = np.where(inside, model.indoor_sigma_m, sigma_m)
    if sigma.any():
        x += gauss_markov(rel, sigma, model.noise_tau_s, rng)
        y += gauss_markov(rel, sigma, model.noise_tau_s, rng)
    acc = np.where(inside, rng.uniform(12.0, 40.0, n),
                   np.clip(2.0 * np.maximum(sigma, 1.5) * np.exp(rng.normal(0.0, 0.25, n)), 3.0, 50.0))
    if model.poor_fix_p > 0:
        spoil_poor(rng, x, y, acc, rng.random(n) < np.where(inside, 3.0 * model.poor_fix_p,
                                                            model.poor_fix_p))
    if model.spikes_per_hour > 0 and n:
        throw_spikes(rng, x, y, int(rng.poisson(model.spikes_per_hour * dur / 3600.0)))
    t = start + rel.astype(np.int64)
    return t[keep], x[keep], y[keep], np.round(acc[keep], 1).astype(np.float32)


def spoil_poor(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, acc: np.ndarray,
               poor: np.ndarray) -> None:
    """Give the ``poor`` fixes an accuracy of 100-600 m and an error to match, in place."""
    k = int(poor.sum())
    acc[poor] = rng.uniform(100.0, 600.0, k)
    x[poor] += rng.normal(0.0, 1.0, k) * acc[poor] / 2.0
    y[poor] += rng.normal(0.0, 1.0, k) * acc[poor] / 2.0


def throw_spikes(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, k: int) -> None:
    """Throw ``k`` random fixes 2-20 km away, in place."""
    spike = rng.integers(len(x), size=k)
    a = rng.uniform(0, 2 * np.pi, k)
    r = rng.uniform(2000.0, 20000.0, k)
    x[spike] += r * np.cos(a)
    y[spike] += r * np.sin(a)
