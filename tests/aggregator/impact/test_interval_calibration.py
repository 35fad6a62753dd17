"""Two-sided checks of the 95% intervals (issue 17): on simulated stores with a known effect,
weekday seasonality and AR(1) day-to-day noise, each estimator's intervals cover the truth
between 90% and 98% of the time, and their width matches the true sampling spread of the
estimate (an interval 3x too wide covers 100% and passes a one-sided coverage check).
Several seeds; about 1,000 regressions in total, a few seconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from aggregator.analysis.impact.estimators import (
    UnitSeries,
    difference_in_differences_fit,
    interrupted_time_series_fit,
    seasonal_fit,
)
from aggregator.analysis.impact.regression import Fit
from aggregator.analysis.impact.settings import Windows

CHANGE = date(2026, 3, 2)
WINDOWS = Windows(CHANGE, 28, 28)
DAYS = pd.date_range("2026-02-02", "2026-03-29", freq="D")
WEEKLY = np.log([1.0, 0.9, 0.95, 1.0, 1.2, 1.5, 0.7])
EFFECT = 0.08
NOISE_LOG_SD = 0.06
AUTOCORRELATION = 0.3
SEEDS = (11, 12, 13, 14)
STORES_PER_SEED = 80

Estimator = Callable[[UnitSeries, Windows], Fit]


def ar1_noise(rng: np.random.Generator) -> np.ndarray:
    innovations = rng.normal(0.0, NOISE_LOG_SD * np.sqrt(1 - AUTOCORRELATION**2), len(DAYS))
    noise = np.empty(len(DAYS))
    noise[0] = rng.normal(0.0, NOISE_LOG_SD)
    for day in range(1, len(DAYS)):
        noise[day] = AUTOCORRELATION * noise[day - 1] + innovations[day]
    return noise


def simulated_store(rng: np.random.Generator, name: str) -> UnitSeries:
    after = np.asarray(pd.Timestamp(CHANGE) <= DAYS)
    weekly = WEEKLY[np.asarray(DAYS.day_of_week)]
    level = np.log(rng.uniform(300, 3000))
    visits = np.exp(level + weekly + np.log1p(EFFECT) * after + ar1_noise(rng))
    control = np.exp(level + 0.7 + weekly + ar1_noise(rng))
    zeros = np.zeros(len(DAYS))
    return UnitSeries(name, DAYS, visits, zeros, control, zeros)


@pytest.mark.parametrize(
    "estimator",
    [seasonal_fit, interrupted_time_series_fit, difference_in_differences_fit],
    ids=["seasonal", "interrupted_time_series", "difference_in_differences"],
)
def test_intervals_cover_95_percent_and_match_the_sampling_spread(estimator: Estimator) -> None:
    truth = np.log1p(EFFECT)
    covered = 0
    total = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        estimates = [
            estimator(simulated_store(rng, f"store-{number}"), WINDOWS).estimate
            for number in range(STORES_PER_SEED)
        ]
        log_effects = np.array([estimate.log_effect for estimate in estimates])
        low = np.log1p(np.array([estimate.ci_low_pct for estimate in estimates]) / 100)
        high = np.log1p(np.array([estimate.ci_high_pct for estimate in estimates]) / 100)
        covered += int(np.sum((low <= truth) & (truth <= high)))
        total += len(estimates)
        # Half the interval, in logs, against 1.96 x the spread of the estimates themselves:
        # about 1 (a little over, since four weeks a side need a larger critical value).
        width_ratio = float(np.median((high - low) / 2) / (1.96 * np.std(log_effects, ddof=1)))
        assert 0.85 <= width_ratio <= 1.5, f"seed {seed}: interval width ratio {width_ratio:.2f}"
        assert abs(float(np.mean(log_effects)) - truth) < 0.01, f"seed {seed}: biased estimate"
    coverage = covered / total
    print(f"FIGURE {estimator.__name__}: coverage {coverage:.1%} of {total}")
    assert 0.90 <= coverage <= 0.98, f"coverage {coverage:.1%} of {total}"
