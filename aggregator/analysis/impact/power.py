"""Power of the impact estimator before a trial: the minimum detectable effect (MDE) for a
trial length, and the trial length for an effect, from the stores' own history.

The estimator a trial would be read with (difference-in-differences against the comparison,
else the seasonal model) is run on *placebo dates*: every ``PLACEBO_STEP_DAYS`` days of the
history whose windows fit in it, where nothing was changed. At each date the real analysis
gives its estimate, standard error and calibrated critical value; its residuals give the
day-to-day noise: the lag-one autocorrelation rounded up as the analysis rounds it, and the
marginal variance ``RSS / tr(M R)`` (M the residual maker, R the AR(1) correlation), which
corrects for what the regression absorbs. An injected effect d moves the log estimate by
log(1 + d) and changes neither the standard error nor the critical value (OLS is linear), so
the power at d is the share of simulated AR(1) noise draws with that date's design for which
|b + log(1 + d)| > c x se, exactly the analysis's rule; averaged over the placebo dates. The
MDE is the smallest increase with 80% power at the 5% level (the interval excludes zero).

The same placebo dates also give a model-free check: the share of them at which the analysis
itself finds an "effect" (``false_alarm_rate``; 5% if the noise model holds) and the
*empirical* MDE, the smallest effect that, added at every placebo date, is detected at 80% of
them. On real histories with slow swings the false-alarm rate can be far above 5%; the plan
then says so and reports both MDEs.

At zero effect the rule rejects 5% of the draws by construction (the critical value is their
95% quantile), so the plan and the analysis agree on what "significant" means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from aggregator.analysis.impact.estimators import (
    Design,
    UnitSeries,
    difference_in_differences_design,
    seasonal_design,
)
from aggregator.analysis.impact.inference import (
    AUTOCORRELATION_STEP,
    MAXIMUM_AUTOCORRELATION,
    _ar1_draws,
    contrast_variance,
    lag_one_autocorrelation,
)
from aggregator.analysis.impact.regression import HAC_LAGS_DAYS, EstimationError
from aggregator.analysis.impact.settings import Windows

TARGET_POWER = 0.8
PLACEBO_STEP_DAYS = 7
MINIMUM_PLACEBO_DATES = 3
MAXIMUM_EFFECT = 3.0
"""Searched up to a +300% effect; beyond that the MDE is reported as not reachable."""


class PlanError(ValueError):
    """Too little history for the windows asked for."""


@dataclass(frozen=True)
class PlaceboNoise:
    """What one placebo date says about the estimator's noise (logs)."""

    change_date: date
    estimate: float
    standard_error: float
    critical_value: float
    autocorrelation: float
    noise_sd: float
    draws: np.ndarray
    """Per simulated draw: the estimate b and the threshold c x se, in units of ``noise_sd``."""
    thresholds: np.ndarray

    def power(self, log_effect: float) -> float:
        shift = log_effect / self.noise_sd
        return float(np.mean(np.abs(self.draws + shift) > self.thresholds))

    def detects(self, log_effect: float) -> bool:
        """Whether the analysis at this date, with ``log_effect`` added, finds it: an
        interval on the effect's side of zero (either side for a zero effect)."""
        margin = self.critical_value * self.standard_error
        shifted = self.estimate + log_effect
        if log_effect > 0:
            return shifted - margin > 0
        if log_effect < 0:
            return shifted + margin < 0
        return abs(shifted) > margin


@dataclass(frozen=True)
class PowerResult:
    method: str
    before_days: int
    after_days: int
    placebo: list[PlaceboNoise]

    def power(self, effect: float) -> float:
        """Mean power over the placebo dates for a relative effect (0.05 for +5%)."""
        log_effect = float(np.log1p(effect))
        return float(np.mean([one.power(log_effect) for one in self.placebo]))

    def minimum_detectable_effect(self, power: float = TARGET_POWER) -> float:
        """Smallest increase detected with ``power`` (NaN above ``MAXIMUM_EFFECT``)."""
        return _solve(self.power, power)

    def minimum_detectable_decrease(self, power: float = TARGET_POWER) -> float:
        return -_solve(lambda fall: self.power(-fall), power, upper=0.999)

    def empirical_power(self, effect: float) -> float:
        """Share of the placebo dates at which the analysis itself, with ``effect`` added to
        the after window, excludes zero: no noise model, but only as many independent
        answers as the history has non-overlapping windows."""
        log_effect = float(np.log1p(effect))
        return float(np.mean([one.detects(log_effect) for one in self.placebo]))

    @property
    def false_alarm_rate(self) -> float:
        """``empirical_power(0)``: well above 5% the history swings more slowly than the
        interval assumes, and the model-based MDE is optimistic."""
        return self.empirical_power(0.0)

    def to_json(self) -> dict[str, Any]:
        mde = self.minimum_detectable_effect()
        decrease = self.minimum_detectable_decrease()
        return {
            "method": self.method,
            "before_days": self.before_days,
            "after_days": self.after_days,
            "mde_pct": _percent(mde),
            "mde_decrease_pct": _percent(decrease),
            "power_at_zero": round(self.power(0.0), 4),
            "placebo_dates": len(self.placebo),
            "first_placebo_date": self.placebo[0].change_date.isoformat(),
            "last_placebo_date": self.placebo[-1].change_date.isoformat(),
            "noise_sd_log": round(float(np.median([one.noise_sd for one in self.placebo])), 5),
            "autocorrelation": round(
                float(np.median([one.autocorrelation for one in self.placebo])), 3
            ),
            "placebo_false_alarms": round(self.false_alarm_rate, 4),
            "mde_empirical_pct": _percent(_solve(self.empirical_power, TARGET_POWER)),
            "placebo_sd_pct": round(float(np.std([one.estimate for one in self.placebo]) * 100), 3),
        }


def _percent(value: float) -> float | None:
    return None if not np.isfinite(value) else round(value * 100, 2)


def _solve(power: Callable[[float], float], target: float, upper: float = MAXIMUM_EFFECT) -> float:
    """Bisection for the effect in (0, upper] whose power is ``target`` (power rises with it)."""
    if power(upper) < target:
        return float("nan")
    low, high = 0.0, upper
    for _ in range(40):
        middle = (low + high) / 2
        if power(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _rounded_autocorrelation(residuals: np.ndarray) -> float:
    observed = float(np.clip(lag_one_autocorrelation(residuals), 0.0, MAXIMUM_AUTOCORRELATION))
    rounded = np.ceil(observed / AUTOCORRELATION_STEP) * AUTOCORRELATION_STEP
    return round(float(min(rounded, MAXIMUM_AUTOCORRELATION)), 4)


def placebo_noise(design: Design, change: date) -> PlaceboNoise:
    """Run the estimator at one placebo date and simulate its noise there."""
    fitted = design.fit().estimate
    finite = np.isfinite(design.values)
    rows = np.flatnonzero(finite)
    matrix = design.matrix[finite]
    varying = [col for col in range(matrix.shape[1]) if col == 0 or np.ptp(matrix[:, col]) > 0]
    contrast = np.array([design.contrast.get(col, 0.0) for col in varying])
    matrix = matrix[:, varying]
    pseudo_inverse = np.linalg.pinv(matrix)
    parameters = int(np.linalg.matrix_rank(matrix))
    values = design.values[finite]
    residuals = values - matrix @ (pseudo_inverse @ values)
    coefficient = _rounded_autocorrelation(residuals)
    lags = min(HAC_LAGS_DAYS, len(rows) - 1)
    positions = rows[:, None] - rows[None, :]
    correlation = coefficient ** np.abs(positions)
    residual_maker = np.eye(len(rows)) - matrix @ pseudo_inverse
    noise_sd = float(np.sqrt(residuals @ residuals / np.trace(residual_maker @ correlation)))
    influence = pseudo_inverse.T @ contrast
    errors = _ar1_draws(len(design.days), coefficient)[:, rows]
    estimates = errors @ influence
    simulated_residuals = errors @ residual_maker.T
    variance = contrast_variance(influence, simulated_residuals, lags, parameters)
    return PlaceboNoise(
        change_date=change,
        estimate=fitted.log_effect,
        standard_error=fitted.standard_error,
        critical_value=fitted.critical_value,
        autocorrelation=coefficient,
        noise_sd=noise_sd,
        draws=estimates,
        thresholds=fitted.critical_value * np.sqrt(variance),
    )


def placebo_dates(first_day: date, last_day: date, before_days: int, after_days: int) -> list[date]:
    """Change dates whose windows lie inside [first_day, last_day], latest first."""
    latest = last_day - timedelta(days=after_days - 1)
    earliest = first_day + timedelta(days=before_days)
    dates = []
    change = latest
    while change >= earliest:
        dates.append(change)
        change -= timedelta(days=PLACEBO_STEP_DAYS)
    return dates


def plan_power(unit: UnitSeries, before_days: int, after_days: int) -> PowerResult:
    """The estimator's power for these window lengths over ``unit``'s days (its history)."""
    design_for = difference_in_differences_design if unit.control is not None else seasonal_design
    first, last = unit.days[0].date(), unit.days[-1].date()
    noises = []
    for change in placebo_dates(first, last, before_days, after_days):
        design = design_for(unit, Windows(change, before_days, after_days))
        try:
            noises.append(placebo_noise(design, change))
        except EstimationError:
            continue
    if len(noises) < MINIMUM_PLACEBO_DATES:
        raise PlanError(
            f"{len(noises)} placebo dates with data for {before_days} + {after_days} days in "
            f"{first} .. {last}; need {MINIMUM_PLACEBO_DATES}: use more history or fewer weeks"
        )
    method = design_for(unit, Windows(noises[0].change_date, before_days, after_days)).method
    return PowerResult(method, before_days, after_days, sorted(noises, key=_by_date))


def _by_date(noise: PlaceboNoise) -> date:
    return noise.change_date


def weeks_needed(
    unit: UnitSeries, effect: float, before_days: int | None, maximum_weeks: int
) -> tuple[int | None, list[PowerResult]]:
    """The fewest whole weeks after the change (before: ``before_days``, default the same)
    whose MDE is at most ``effect``; None when even ``maximum_weeks`` is not enough."""
    results = []
    for weeks in range(1, maximum_weeks + 1):
        after = 7 * weeks
        try:
            result = plan_power(unit, before_days or after, after)
        except PlanError:
            continue  # too short to estimate (1 week) or too long for the history
        results.append(result)
        mde = result.minimum_detectable_effect()
        if np.isfinite(mde) and mde <= effect:
            return weeks, results
    return None, results


def sequence_json(results: Sequence[PowerResult]) -> list[dict[str, Any]]:
    return [
        {"weeks": result.after_days // 7, "mde_pct": _percent(result.minimum_detectable_effect())}
        for result in results
    ]
