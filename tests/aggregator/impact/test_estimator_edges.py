"""Estimator edges found by ``make mutation`` (issue 17): an estimate reads only its windows'
days, however much data lies around them, and windows reaching past the data are an error,
not an estimate on fewer days; a difference-in-differences needs both the comparison series and
its holidays; each fit names its method and covers the windows' days."""

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


@pytest.mark.parametrize(
    ("estimator", "method"),
    [
        (seasonal_fit, "seasonal"),
        (interrupted_time_series_fit, "interrupted_time_series"),
        (difference_in_differences_fit, "difference_in_differences"),
    ],
)
def test_each_fit_names_its_method_and_covers_the_windows_days(
    estimator: Callable[[UnitSeries, Windows], Fit], method: str
) -> None:
    zeros = np.zeros(len(DAYS))
    unit = UnitSeries(
        "shop", DAYS, visits(0.10), zeros, control=visits(0.0), control_holidays=zeros
    )
    fit = estimator(unit, WINDOWS)
    assert fit.estimate.method == method
    assert fit.days.equals(pd.date_range("2026-02-02", "2026-03-29", freq="D"))
    assert len(fit.counterfactual_log) == 56


@pytest.mark.parametrize(
    ("first", "last"), [("2026-02-03", "2026-04-12"), ("2026-01-19", "2026-03-28")]
)
def test_windows_beyond_the_data_are_an_error_not_a_shorter_estimate(first: str, last: str) -> None:
    days = pd.date_range(first, last, freq="D")
    zeros = np.zeros(len(days))
    unit = UnitSeries("shop", days, np.full(len(days), 100.0), zeros)
    with pytest.raises(EstimationError, match=r"shop: no data for 2026-02-02 \.\. 2026-03-29"):
        seasonal_fit(unit, WINDOWS)
