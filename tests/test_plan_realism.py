"""The GPS and movement model against real recordings: each statistic within its stated tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path
from visibility.synth import gps
from visibility.synth.realism import fit_intervals, realism_report, render


@pytest.fixture(scope="module")
def rows():
    return realism_report(shared_path("real_tracks"), seed=0)


def test_every_statistic_is_within_its_tolerance(rows):
    bad = [r for r in rows if not r.ok]
    assert not bad, render(bad)
    kinds = {r.statistic.split(" q")[0].split(",")[0] for r in rows}
    assert {"fix interval", "signal gaps per hour", "position sd at stops", "speed"} <= kinds


def test_the_default_model_is_the_fitted_one(rows):
    by = {r.statistic: r for r in rows}
    # the radio's noise is the stops' noise: about 2.7 m per axis, mostly new after 15 s
    assert np.mean(gps.RADIO.sigma_m) == pytest.approx(by["position sd at stops, per axis (m)"].real, abs=0.3)
    assert gps.RADIO.dropouts_per_hour == pytest.approx(by["signal gaps per hour"].real, rel=0.25)


def test_fitting_recovers_a_known_interval_model():
    rng = np.random.default_rng(1)
    model = gps.GpsModel(interval_s=30.0, jitter_s=2.0, extra_per_interval=0.7)
    dt = np.concatenate([np.diff(gps.fix_times(model, 3600.0, rng)) for _ in range(40)])
    fit = fit_intervals(dt)
    assert fit["interval_s"] in (29.0, 30.0, 31.0, 32.0)
    assert fit["extra_per_interval"] == pytest.approx(0.7, abs=0.2)


def test_perfect_signal_is_exact():
    rng = np.random.default_rng(0)
    kt = np.array([0.0, 3600.0])
    t, x, y, acc = gps.observe(gps.PERFECT, rng, kt, np.array([0.0, 3600.0]), np.zeros(2), [], 100, 600.0, 0.0)
    assert list(t[:3]) == [100, 115, 130] and len(t) == 40
    assert np.allclose(x, t - 100) and np.allclose(y, 0.0)
