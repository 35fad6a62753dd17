"""Log-linear regression of daily visits with autocorrelation-robust inference.

Every estimator here is an OLS regression of log daily visits (or a log ratio) on weekday
fixed effects, a holiday regressor and a post-change indicator, fitted by statsmodels with
Newey-West (HAC, Bartlett kernel) standard errors over ``HAC_LAGS_DAYS`` days and the
small-sample correction n / (n - k). The critical value is calibrated for the design by
simulation (see ``inference``), because textbook values give intervals that are too narrow
for four weeks a side.

A log effect beta is reported as a percentage change exp(beta) - 1, with the interval
exp(beta +- c * se) - 1 (asymmetric in percent, symmetric in logs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aggregator.analysis.impact.inference import calibrated_critical_value

HAC_LAGS_DAYS = 7


class EstimationError(ValueError):
    """Too little data, or a design that cannot identify the effect."""


@dataclass(frozen=True)
class Estimate:
    """One effect estimate; ``*_pct`` are percentage changes in visits."""

    method: str
    effect_pct: float
    ci_low_pct: float
    ci_high_pct: float
    log_effect: float
    standard_error: float
    critical_value: float
    days: int

    @classmethod
    def from_log(
        cls, method: str, effect: float, standard_error: float, critical: float, days: int
    ) -> Estimate:
        """From a log effect, its standard error and the critical value."""
        low, high = effect - critical * standard_error, effect + critical * standard_error
        return cls(
            method=method,
            effect_pct=float(np.expm1(effect) * 100),
            ci_low_pct=float(np.expm1(low) * 100),
            ci_high_pct=float(np.expm1(high) * 100),
            log_effect=effect,
            standard_error=standard_error,
            critical_value=critical,
            days=days,
        )

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low_pct > 0 or self.ci_high_pct < 0

    def to_json(self) -> dict[str, float | int | str]:
        return {
            "method": self.method,
            "effect_pct": round(self.effect_pct, 2),
            "ci_low_pct": round(self.ci_low_pct, 2),
            "ci_high_pct": round(self.ci_high_pct, 2),
            "standard_error_log": round(self.standard_error, 5),
            "days": self.days,
        }


@dataclass(frozen=True)
class Fit:
    """An estimate plus what the plot needs: per day, the fitted log value without the effect
    (the counterfactual) and the band implied by the effect's interval."""

    estimate: Estimate
    days: pd.DatetimeIndex
    counterfactual_log: np.ndarray
    band_low_log: np.ndarray
    band_high_log: np.ndarray


def weekday_design(days: pd.DatetimeIndex) -> np.ndarray:
    """Intercept and six weekday dummies (Monday is the reference)."""
    weekday = np.asarray(days.day_of_week)
    dummies = (weekday[:, None] == np.arange(1, 7)[None, :]).astype(np.float64)
    return np.column_stack([np.ones(len(days)), dummies])


def _full_rank(design: np.ndarray, protected: list[int]) -> list[int]:
    """Columns to keep: drop constant non-intercept columns, then optional columns (right to
    left, never ``protected`` ones) until the design has full column rank."""
    keep = [
        column
        for column in range(design.shape[1])
        if column == 0 or column in protected or np.ptp(design[:, column]) > 0
    ]
    for column in reversed(list(keep)):
        if np.linalg.matrix_rank(design[:, keep]) == len(keep):
            break
        if column not in protected and column != 0:
            keep.remove(column)
    if np.linalg.matrix_rank(design[:, keep]) < len(keep):
        raise EstimationError("the effect is not identified (collinear design)")
    return keep


def fit_effect(
    method: str,
    days: pd.DatetimeIndex,
    log_values: np.ndarray,
    design: np.ndarray,
    contrast: dict[int, float],
) -> Fit:
    """OLS of ``log_values`` on ``design``; the effect is sum(weight * coefficient) over
    ``contrast`` (column -> weight). Rows with a non-finite value are left out."""
    import statsmodels.api as sm

    finite = np.isfinite(log_values)
    minimum = design.shape[1] + 5
    if finite.sum() < minimum:
        raise EstimationError(f"{method}: {int(finite.sum())} usable days, need {minimum}")
    keep = _full_rank(design[finite], list(contrast))
    model = sm.OLS(log_values[finite], design[finite][:, keep])
    lags = min(HAC_LAGS_DAYS, int(finite.sum()) - 1)
    result = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    weights = np.array([contrast.get(column, 0.0) for column in keep])
    effect = float(weights @ result.params)
    standard_error = float(np.sqrt(weights @ result.cov_params() @ weights))
    critical = calibrated_critical_value(
        design[finite][:, keep],
        weights,
        np.flatnonzero(finite),
        len(log_values),
        np.asarray(result.resid),
        lags,
    )
    estimate = Estimate.from_log(method, effect, standard_error, critical, int(finite.sum()))
    low, high = effect - critical * standard_error, effect + critical * standard_error
    fitted = design[:, keep] @ result.params
    counterfactual = fitted - _effect_path(design[:, keep], keep, contrast, result.params)
    return Fit(
        estimate=estimate,
        days=days,
        counterfactual_log=counterfactual,
        band_low_log=counterfactual + (effect - high),
        band_high_log=counterfactual + (effect - low),
    )


def _effect_path(
    design: np.ndarray, keep: list[int], contrast: dict[int, float], params: np.ndarray
) -> np.ndarray:
    """Per day, the part of the fitted value that the contrast's columns contribute."""
    columns = [position for position, column in enumerate(keep) if column in contrast]
    return np.asarray(design[:, columns] @ params[columns])
