"""The three effect estimators, each a log-linear regression of daily visits (see
``regression`` for the inference):

* ``seasonal``: log visits on weekday fixed effects, a holiday regressor and a post-change
  indicator: the change in level after adjusting for the weekly cycle and holidays (the
  weekday x hour profile has already filled missing hours, see ``daily``).
* ``interrupted_time_series``: segmented regression, adding a linear trend and a change of
  trend after the change; the effect is the level change averaged over the after window
  (level shift + trend change x mean days since the change).
* ``difference_in_differences``: the log ratio of the unit to its comparison series (control
  stores that did not get the policy, or the same unit in the same windows of an earlier year)
  on weekday effects, both holiday regressors and the post indicator: the change of the unit
  minus the change of the comparison, i.e. the difference of log changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aggregator.analysis.impact.regression import EstimationError, Fit, fit_effect, weekday_design
from aggregator.analysis.impact.settings import Windows

SEASONAL = "seasonal"
INTERRUPTED_TIME_SERIES = "interrupted_time_series"
DIFFERENCE_IN_DIFFERENCES = "difference_in_differences"


@dataclass(frozen=True)
class UnitSeries:
    """Daily visits of one unit (a store or the pool of treated stores) on ``days`` (local
    days, consecutive), NaN where missing.

    ``holidays`` is the share of the unit's stores on a public holiday each day. ``control``
    is the comparison series on the same days (for the baseline year: the earlier year's
    values moved forward by the shift, so day d holds the value of d - shift)."""

    name: str
    days: pd.DatetimeIndex
    visits: np.ndarray
    holidays: np.ndarray
    control: np.ndarray | None = None
    control_holidays: np.ndarray | None = None

    def window(self, windows: Windows) -> slice:
        """Positions of the windows' days (which must lie inside ``days``)."""
        start = (pd.Timestamp(windows.first_day) - self.days[0]).days
        stop = (pd.Timestamp(windows.last_day) - self.days[0]).days + 1
        if start < 0 or stop > len(self.days):
            raise EstimationError(
                f"{self.name}: no data for {windows.first_day} .. {windows.last_day}"
            )
        return slice(start, stop)


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs: np.ndarray = np.log(values)
    return logs


def _post(days: pd.DatetimeIndex, windows: Windows) -> np.ndarray:
    return np.asarray(days >= pd.Timestamp(windows.change_date), dtype=np.float64)


@dataclass(frozen=True)
class Design:
    """One estimator's regression in one set of windows: log values (NaN where missing) on
    ``matrix``; the effect is sum(weight x coefficient) over ``contrast`` (column -> weight)."""

    method: str
    days: pd.DatetimeIndex
    values: np.ndarray
    matrix: np.ndarray
    contrast: dict[int, float]

    def fit(self) -> Fit:
        return fit_effect(self.method, self.days, self.values, self.matrix, self.contrast)


def seasonal_design(unit: UnitSeries, windows: Windows) -> Design:
    part = unit.window(windows)
    days = unit.days[part]
    matrix = np.column_stack([weekday_design(days), unit.holidays[part], _post(days, windows)])
    post_column = matrix.shape[1] - 1
    return Design(SEASONAL, days, _log(unit.visits[part]), matrix, {post_column: 1.0})


def interrupted_time_series_design(unit: UnitSeries, windows: Windows) -> Design:
    part = unit.window(windows)
    days = unit.days[part]
    post = _post(days, windows)
    elapsed = np.asarray((days - pd.Timestamp(windows.change_date)).days, dtype=np.float64)
    matrix = np.column_stack(
        [weekday_design(days), unit.holidays[part], elapsed, post, post * elapsed]
    )
    level, slope = matrix.shape[1] - 2, matrix.shape[1] - 1
    mean_elapsed = float(elapsed[post == 1].mean())
    return Design(
        INTERRUPTED_TIME_SERIES,
        days,
        _log(unit.visits[part]),
        matrix,
        {level: 1.0, slope: mean_elapsed},
    )


def difference_in_differences_design(unit: UnitSeries, windows: Windows) -> Design:
    if unit.control is None or unit.control_holidays is None:
        raise EstimationError(f"{unit.name}: difference-in-differences needs a comparison")
    part = unit.window(windows)
    days = unit.days[part]
    matrix = np.column_stack(
        [
            weekday_design(days),
            unit.holidays[part],
            unit.control_holidays[part],
            _post(days, windows),
        ]
    )
    log_ratio = _log(unit.visits[part]) - _log(unit.control[part])
    post_column = matrix.shape[1] - 1
    return Design(DIFFERENCE_IN_DIFFERENCES, days, log_ratio, matrix, {post_column: 1.0})


def seasonal_fit(unit: UnitSeries, windows: Windows) -> Fit:
    return seasonal_design(unit, windows).fit()


def interrupted_time_series_fit(unit: UnitSeries, windows: Windows) -> Fit:
    return interrupted_time_series_design(unit, windows).fit()


def difference_in_differences_fit(unit: UnitSeries, windows: Windows) -> Fit:
    return difference_in_differences_design(unit, windows).fit()


ESTIMATORS = {
    SEASONAL: seasonal_fit,
    INTERRUPTED_TIME_SERIES: interrupted_time_series_fit,
    DIFFERENCE_IN_DIFFERENCES: difference_in_differences_fit,
}
