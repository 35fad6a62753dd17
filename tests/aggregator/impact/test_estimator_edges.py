"""Estimator edges found by ``make mutation`` (issue 17): an estimate reads only its windows'
days, however much data lies around them, and a difference-in-differences needs both the
comparison series and its holidays."""

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
from aggregator.analysis.impact.regression import Estimate, EstimationError, Fit
from aggregator.analysis.impact.settings import Windows

CHANGE = date(2026, 3, 2)
WINDOWS = Windows(CHANGE, 28, 28)
DAYS = pd.date_range("2026-01-19", "2026-04-12", freq="D")  # two weeks either side of the windows
WEEKLY = np.array([1.0, 0.9, 0.95, 1.0, 1.2, 1.5, 0.7])


def visits(effect: float) -> np.ndarray:
    level = 1000 * WEEKLY[np.asarray(DAYS.day_of_week)]
    after = np.asarray(pd.Timestamp(CHANGE) <= DAYS)
    outside = ~np.asarray(DAYS.isin(pd.date_range("2026-02-02", "2026-03-29", freq="D")))
    values: np.ndarray = level * np.where(after, 1 + effect, 1.0) * np.where(outside, 5.0, 1.0)
    return values


@pytest.mark.parametrize("estimator", [seasonal_fit, interrupted_time_series_fit])
def test_only_the_windows_days_are_read(estimator: Callable[[UnitSeries, Windows], Fit]) -> None:
    zeros = np.zeros(len(DAYS))
    unit = UnitSeries("shop", DAYS, visits(0.10), zeros)
    fit = estimator(unit, WINDOWS)
    assert fit.estimate.days == 56
    assert fit.estimate.effect_pct == pytest.approx(10.0, abs=1e-6)


def test_difference_in_differences_needs_the_comparisons_holidays() -> None:
    zeros = np.zeros(len(DAYS))
    unit = UnitSeries("shop", DAYS, visits(0.10), zeros, control=visits(0.0), control_holidays=None)
    with pytest.raises(EstimationError, match="needs a comparison"):
        difference_in_differences_fit(unit, WINDOWS)


def test_an_estimate_reports_its_interval_in_percent_exactly() -> None:
    estimate = Estimate.from_log("seasonal", 0.1, 0.05, 1.5, 56)
    assert estimate.method == "seasonal"
    assert estimate.effect_pct == pytest.approx(100 * np.expm1(0.1), rel=1e-12)
    assert estimate.ci_low_pct == pytest.approx(100 * np.expm1(0.025), rel=1e-12)
    assert estimate.ci_high_pct == pytest.approx(100 * np.expm1(0.175), rel=1e-12)
    assert (estimate.standard_error, estimate.critical_value, estimate.days) == (0.05, 1.5, 56)
    assert estimate.excludes_zero is True
