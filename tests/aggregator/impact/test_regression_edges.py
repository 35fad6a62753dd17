"""Regression edges found by ``make mutation`` (issue 17): the Newey-West lag (7 days, fewer
when the series is shorter) and the standard error against a closed-form computation, so a
lag off by one changes the interval's width and fails; and the collinear designs: a column
without variation (a weekday that never occurs among the usable days), a duplicated column
(a comparison's holidays equal to the unit's) and a holiday column equal to the post-change
indicator are dropped, giving the same estimate as the design without them, while a
post-change indicator that does not vary cannot be identified and is an error; the plot's
counterfactual and band, and the report's rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aggregator.analysis.impact.inference import calibrated_critical_value
from aggregator.analysis.impact.regression import (
    HAC_LAGS_DAYS,
    Estimate,
    EstimationError,
    fit_effect,
    weekday_design,
)

DAYS = pd.date_range("2026-02-02", "2026-03-29", freq="D")  # Monday to Sunday, 8 weeks
POST = (np.arange(len(DAYS)) >= 28).astype(np.float64)
HOLIDAYS = np.zeros(len(DAYS))
HOLIDAYS[[9, 20, 33, 47]] = 1.0  # a Wednesday, a Sunday, a Saturday, a Saturday


def log_visits(seed: int = 11) -> np.ndarray:
    """Weekly cycle, holidays at -30%, +10% after the change, AR(1) noise (0.6)."""
    rng = np.random.default_rng(seed)
    weekly = np.log([1.0, 0.9, 0.95, 1.0, 1.2, 1.5, 0.7])[np.asarray(DAYS.day_of_week)]
    noise = np.zeros(len(DAYS))
    for day in range(len(DAYS)):
        noise[day] = 0.6 * noise[day - 1] * (day > 0) + rng.normal(0, 0.05)
    values: np.ndarray = np.log(1000) + weekly - 0.3 * HOLIDAYS + 0.1 * POST + noise
    return values


def newey_west_standard_error(
    design: np.ndarray, values: np.ndarray, column: int, lags: int
) -> float:
    """Closed form: Bartlett weights 1 - l / (lags + 1), small-sample factor n / (n - k)."""
    observations, parameters = design.shape
    inverse = np.linalg.inv(design.T @ design)
    residuals = values - design @ (inverse @ design.T @ values)
    scores = (design @ inverse[:, column]) * residuals
    variance = float(scores @ scores)
    for lag in range(1, lags + 1):
        variance += 2 * (1 - lag / (lags + 1)) * float(scores[lag:] @ scores[:-lag])
    return float(np.sqrt(variance * observations / (observations - parameters)))


def seasonal_design(holidays: np.ndarray = HOLIDAYS) -> np.ndarray:
    return np.column_stack([weekday_design(DAYS), holidays, POST])


def test_eight_weeks_use_seven_lags_and_the_closed_form_standard_error() -> None:
    design, values = seasonal_design(), log_visits()
    post = design.shape[1] - 1
    estimate = fit_effect("seasonal", DAYS, values, design, {post: 1.0}).estimate
    expected = newey_west_standard_error(design, values, post, 7)
    assert HAC_LAGS_DAYS == 7
    assert estimate.standard_error == pytest.approx(expected, rel=1e-9)
    for other_lags in (6, 8):  # a lag off by one moves the error by more than the tolerance
        other = newey_west_standard_error(design, values, post, other_lags)
        assert abs(other - expected) > 1e-3 * expected
    residuals = values - design @ np.linalg.lstsq(design, values, rcond=None)[0]
    weights = np.zeros(design.shape[1])
    weights[post] = 1.0
    critical = calibrated_critical_value(
        design, weights, np.arange(len(DAYS)), len(DAYS), residuals, 7
    )
    assert estimate.critical_value == pytest.approx(critical, rel=1e-9)
    assert calibrated_critical_value(
        design, weights, np.arange(len(DAYS)), len(DAYS), residuals, 8
    ) != pytest.approx(critical, rel=1e-6)
    log_effect = float((np.linalg.inv(design.T @ design) @ design.T @ values)[post])
    assert estimate.log_effect == pytest.approx(log_effect, rel=1e-9)
    assert (estimate.ci_low_pct, estimate.ci_high_pct) == pytest.approx(
        (
            100 * np.expm1(log_effect - critical * expected),
            100 * np.expm1(log_effect + critical * expected),
        ),
        rel=1e-9,
    )


def test_a_week_of_data_uses_six_lags() -> None:
    """Seven days and two columns (the fewest usable days for them): n - 1 = 6 lags."""
    days, values = DAYS[21:28], log_visits()[21:28]
    values[3:] += 0.2
    design = np.column_stack([np.ones(7), (np.arange(7) >= 3).astype(np.float64)])
    estimate = fit_effect("seasonal", days, values, design, {1: 1.0}).estimate
    expected = newey_west_standard_error(design, values, 1, 6)
    assert estimate.days == 7
    assert estimate.standard_error == pytest.approx(expected, rel=1e-9)
    assert abs(newey_west_standard_error(design, values, 1, 5) - expected) > 1e-3 * expected
    assert abs(newey_west_standard_error(design, values, 1, 7) - expected) > 1e-3 * expected
    with pytest.raises(EstimationError, match="6 usable days, need 7"):
        fit_effect("seasonal", days[:6], values[:6], design[:6], {1: 1.0})


def assert_same_estimate(estimate: Estimate, reference: Estimate) -> None:
    assert estimate.effect_pct == pytest.approx(reference.effect_pct, rel=1e-9)
    assert estimate.standard_error == pytest.approx(reference.standard_error, rel=1e-9)
    assert estimate.critical_value == pytest.approx(reference.critical_value, rel=1e-9)
    assert (estimate.ci_low_pct, estimate.ci_high_pct) == pytest.approx(
        (reference.ci_low_pct, reference.ci_high_pct), rel=1e-9
    )


def test_a_weekday_without_usable_days_is_dropped_however_far_left_it_stands() -> None:
    """Saturdays missing: their dummy is all zeros among the usable days. Only that column
    goes; the holiday column to its right, which does vary, stays."""
    values = log_visits()
    values[np.asarray(DAYS.day_of_week) == 5] = np.nan
    design = seasonal_design()
    saturday = 5  # columns: intercept, Tuesday .. Sunday, holidays, post
    estimate = fit_effect("seasonal", DAYS, values, design, {8: 1.0}).estimate
    without = np.delete(design, saturday, axis=1)
    reference = fit_effect("seasonal", DAYS, values, without, {7: 1.0}).estimate
    assert_same_estimate(estimate, reference)
    assert estimate.days == 48
    with_holidays_dropped = fit_effect(
        "seasonal", DAYS, values, np.delete(without, 6, axis=1), {6: 1.0}
    ).estimate
    assert abs(with_holidays_dropped.effect_pct - estimate.effect_pct) > 0.1


def test_a_duplicated_column_is_dropped_once() -> None:
    """A comparison whose holidays are the unit's: the right-hand copy goes."""
    values = log_visits()
    design = np.column_stack([weekday_design(DAYS), HOLIDAYS, HOLIDAYS, POST])
    estimate = fit_effect("difference_in_differences", DAYS, values, design, {9: 1.0}).estimate
    reference = fit_effect(
        "difference_in_differences", DAYS, values, seasonal_design(), {8: 1.0}
    ).estimate
    assert_same_estimate(estimate, reference)
    assert estimate.effect_pct == pytest.approx(10.5, abs=3.0)


def test_a_holiday_column_equal_to_the_post_indicator_gives_way_to_it() -> None:
    values = log_visits()
    design = seasonal_design(holidays=POST)
    estimate = fit_effect("seasonal", DAYS, values, design, {8: 1.0}).estimate
    reference = fit_effect(
        "seasonal", DAYS, values, np.delete(design, 7, axis=1), {7: 1.0}
    ).estimate
    assert_same_estimate(estimate, reference)


def test_a_post_indicator_without_variation_is_an_error() -> None:
    values = log_visits()
    values[:28] = np.nan  # only days after the change: post is the intercept
    with pytest.raises(EstimationError, match="not identified"):
        fit_effect("seasonal", DAYS, values, seasonal_design(), {8: 1.0})


def test_the_plot_draws_the_counterfactual_and_a_band_as_wide_as_the_interval() -> None:
    """Per day: the fitted log value without the effect, and around it the effect's interval
    (the band's width is 2 x critical value x standard error on every day)."""
    design, values = seasonal_design(), log_visits()
    fit = fit_effect("seasonal", DAYS, values, design, {8: 1.0})
    estimate = fit.estimate
    assert estimate.method == "seasonal"
    coefficients = np.linalg.lstsq(design, values, rcond=None)[0]
    without_effect = design[:, :8] @ coefficients[:8]
    assert fit.days.equals(DAYS)
    np.testing.assert_allclose(fit.counterfactual_log, without_effect, rtol=1e-9)
    half_width = estimate.critical_value * estimate.standard_error
    np.testing.assert_allclose(fit.band_low_log, without_effect - half_width, rtol=1e-9)
    np.testing.assert_allclose(fit.band_high_log, without_effect + half_width, rtol=1e-9)


def test_the_report_rounds_percentages_to_hundredths_and_the_error_to_five_places() -> None:
    estimate = Estimate.from_log("seasonal", 0.1237, 0.0345678, 2.25, 56)
    assert estimate.to_json() == {
        "method": "seasonal",
        "effect_pct": 13.17,
        "ci_low_pct": 4.7,
        "ci_high_pct": 22.32,
        "standard_error_log": 0.03457,
        "days": 56,
    }
