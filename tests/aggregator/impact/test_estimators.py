"""The estimators and their inference on constructed series with known answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from aggregator.analysis.impact.estimators import (
    UnitSeries,
    difference_in_differences_fit,
    interrupted_time_series_fit,
    seasonal_fit,
)
from aggregator.analysis.impact.inference import (
    calibrated_critical_value,
    contrast_variance,
    fixed_b_critical_value,
)
from aggregator.analysis.impact.regression import EstimationError, weekday_design
from aggregator.analysis.impact.settings import SettingsError, Windows, parse_days

CHANGE = date(2026, 3, 2)
WINDOWS = Windows(CHANGE, 28, 28)
DAYS = pd.date_range("2026-02-02", "2026-03-29", freq="D")
WEEKLY = np.array([1.0, 0.9, 0.95, 1.0, 1.2, 1.5, 0.7])


def _series(effect: float, noise: np.ndarray | None = None) -> np.ndarray:
    level = 1000 * WEEKLY[np.asarray(DAYS.day_of_week)]
    after = np.asarray(pd.Timestamp(CHANGE) <= DAYS)
    values: np.ndarray = level * np.where(after, 1 + effect, 1.0)
    return values * np.exp(noise) if noise is not None else values


def _unit(visits: np.ndarray, control: np.ndarray | None = None) -> UnitSeries:
    zeros = np.zeros(len(DAYS))
    return UnitSeries("shop", DAYS, visits, zeros, control, None if control is None else zeros)


@pytest.mark.parametrize("effect", [0.10, -0.10, -0.88])
def test_noiseless_level_shift_is_exact(effect: float) -> None:
    unit = _unit(_series(effect), control=_series(0.0) * 3)
    for fit in (
        seasonal_fit(unit, WINDOWS),
        interrupted_time_series_fit(unit, WINDOWS),
        difference_in_differences_fit(unit, WINDOWS),
    ):
        assert fit.estimate.effect_pct == pytest.approx(effect * 100, abs=1e-6)
        assert fit.estimate.days == 56


def test_difference_in_differences_removes_a_shared_shock() -> None:
    shock = np.where(np.asarray(pd.Timestamp("2026-03-10") <= DAYS), np.log(0.6), 0.0)
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.02, len(DAYS))
    treated = _series(0.10, shock + noise)
    control = _series(0.0, shock + rng.normal(0, 0.02, len(DAYS))) * 2
    unit = _unit(treated, control)
    seasonal = seasonal_fit(unit, WINDOWS).estimate
    did = difference_in_differences_fit(unit, WINDOWS).estimate
    assert seasonal.effect_pct < -20  # the shock, wrongly credited to the change
    assert abs(did.effect_pct - 10.0) < 2.0
    assert did.ci_low_pct <= 10.0 <= did.ci_high_pct


def test_interrupted_time_series_effect_is_the_average_post_change_gap() -> None:
    after = np.asarray(pd.Timestamp(CHANGE) <= DAYS)
    elapsed = np.asarray((DAYS - pd.Timestamp(CHANGE)).days, dtype=float)
    # level +5% then a further +0.5% a day: average over days 0..27 is 5% + 13.5 x 0.5%
    log_gap = np.where(after, np.log(1.05) + np.log(1.005) * elapsed, 0.0)
    fit = interrupted_time_series_fit(_unit(_series(0.0, log_gap)), WINDOWS)
    expected = np.expm1(np.log(1.05) + np.log(1.005) * 13.5) * 100
    assert fit.estimate.effect_pct == pytest.approx(expected, abs=1e-6)


def test_missing_days_and_zero_days_are_left_out() -> None:
    visits = _series(0.2)
    visits[[3, 4, 40]] = np.nan
    visits[10] = 0.0
    fit = seasonal_fit(_unit(visits), WINDOWS)
    assert fit.estimate.days == 52
    assert fit.estimate.effect_pct == pytest.approx(20.0, abs=1e-6)


def test_too_few_days_is_an_error_naming_the_method() -> None:
    visits = np.full(len(DAYS), np.nan)
    visits[:10] = 100.0
    with pytest.raises(EstimationError, match="seasonal: 10 usable days"):
        seasonal_fit(_unit(visits), WINDOWS)


def test_newey_west_variance_matches_statsmodels() -> None:
    rng = np.random.default_rng(5)
    design = np.column_stack([weekday_design(DAYS), np.asarray(pd.Timestamp(CHANGE) <= DAYS)])
    values = design @ rng.normal(size=design.shape[1]) + rng.normal(0, 0.1, len(DAYS))
    result = sm.OLS(values, design).fit(
        cov_type="HAC", cov_kwds={"maxlags": 7, "use_correction": True}
    )
    weights = np.zeros(design.shape[1])
    weights[-1] = 1.0
    influence = design @ np.linalg.inv(design.T @ design) @ weights
    ours = contrast_variance(influence, np.asarray(result.resid)[None, :], 7, design.shape[1])
    assert ours[0] == pytest.approx(weights @ result.cov_params() @ weights, rel=1e-10)


def test_critical_values() -> None:
    assert fixed_b_critical_value(7, 56) == pytest.approx(2.3911, abs=1e-4)
    design = np.column_stack([weekday_design(DAYS), np.asarray(pd.Timestamp(CHANGE) <= DAYS)])
    weights = np.zeros(design.shape[1])
    weights[-1] = 1.0
    rows = np.arange(len(DAYS))
    white = np.random.default_rng(1).normal(size=len(DAYS))
    trending = np.cumsum(white)  # strongly autocorrelated residuals
    independent = calibrated_critical_value(design, weights, rows, len(DAYS), white, 7)
    persistent = calibrated_critical_value(design, weights, rows, len(DAYS), trending, 7)
    assert independent >= fixed_b_critical_value(7, 56)
    assert independent < 3.0
    assert persistent > independent + 0.3


@pytest.mark.parametrize(("text", "days"), [("28d", 28), ("4w", 28), ("10", 10)])
def test_parse_days(text: str, days: int) -> None:
    assert parse_days(text, "--before") == days


@pytest.mark.parametrize(
    ("text", "message"), [("3d", "shorter than 7 days"), ("1m", "not a duration")]
)
def test_parse_days_rejects(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_days(text, "--after")
