"""The result of an impact analysis, as plain data (JSON-ready) for the report and the plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.metrics import MINIMUM_DENOMINATOR_PER_DAY, RatioMetric
from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.synthetic_control import SyntheticControl
from aggregator.storage.measurements import POOLED_STORE

POOLED = POOLED_STORE
"""The unit of the estimate pooled over the treated stores; its ``store`` tag in InfluxDB."""


@dataclass(frozen=True)
class QualityWarning:
    """``kind``: missing_hours, camera_offline, occupancy_drift, holiday, excluded_store,
    zero_days, ratio_days, comparison_changed, placebo_effect, no_controls,
    no_holiday_calendar, estimation."""

    kind: str
    store: str | None
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "store": self.store, "message": self.message}


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 2)


@dataclass(frozen=True)
class CumulativeEffect:
    """Visits gained (negative: lost) over the whole after window, with a 95% interval.

    With a log effect beta, the after window's counted visits V would have been V exp(-beta)
    without the change, so the gain is V (1 - exp(-beta)); the interval applies the same map
    to the effect's interval (it is monotone), so it excludes 0 exactly when the effect's does.
    V is the mean over the after days with visits times the window's days, so a missing day
    counts as an average one."""

    visits: float
    ci_low: float
    ci_high: float
    after_visits: float
    days: int

    @classmethod
    def from_estimate(
        cls, estimate: Estimate, visits_per_day_after: float, days: int
    ) -> CumulativeEffect:
        total = visits_per_day_after * days
        margin = estimate.critical_value * estimate.standard_error
        low, high = (
            total * -float(np.expm1(-log_effect))
            for log_effect in (estimate.log_effect - margin, estimate.log_effect + margin)
        )
        gained = total * -float(np.expm1(-estimate.log_effect))
        return cls(gained, low, high, total, days)

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "visits": _number(self.visits),
            "ci_low": _number(self.ci_low),
            "ci_high": _number(self.ci_high),
            "after_visits": _number(self.after_visits),
            "days": self.days,
        }


@dataclass(frozen=True)
class CountChange:
    """One count of a ratio (numerator or denominator) of a unit, on the ratio's days: its
    mean per day before and after, and its effect by the ratio's primary method (None when
    that method has no estimate)."""

    name: str
    per_day_before: float
    per_day_after: float
    estimate: Estimate | None

    def to_json(self) -> dict[str, Any]:
        estimate = self.estimate
        return {
            "name": self.name,
            "per_day_before": _number(self.per_day_before),
            "per_day_after": _number(self.per_day_after),
            "effect_pct": _number(estimate.effect_pct) if estimate else None,
            "ci_low_pct": _number(estimate.ci_low_pct) if estimate else None,
            "ci_high_pct": _number(estimate.ci_high_pct) if estimate else None,
        }


@dataclass(frozen=True)
class RatioSummary:
    """A unit's ratio metric: the ratio (a fraction) over the before and the after window's
    days (summed numerator ÷ summed denominator), and its two counts."""

    before: float
    after: float
    numerator: CountChange
    denominator: CountChange

    @property
    def raw_change_pct(self) -> float:
        if self.before > 0:
            return (self.after / self.before - 1) * 100
        return math.nan


@dataclass(frozen=True)
class UnitResult:
    """Results for one store, or for the pooled treated stores (``store`` = ``pooled``)."""

    store: str
    members: tuple[str, ...]
    visits_per_day_before: float
    visits_per_day_after: float
    estimates: dict[str, Estimate] = field(default_factory=dict)
    primary_method: str | None = None
    placebo: Estimate | None = None
    comparison: str = ""
    excluded_reason: str | None = None
    cumulative: CumulativeEffect | None = None
    """Of the primary estimate."""
    synthetic_control: SyntheticControl | None = None
    ratio: RatioSummary | None = None
    """For a ratio metric (then ``estimates`` are effects on the ratio, and the visits fields
    hold the mean daily ratio; read the ratio and its counts here)."""

    @property
    def raw_change_pct(self) -> float:
        if self.ratio is not None:
            return self.ratio.raw_change_pct
        if self.visits_per_day_before > 0:
            return (self.visits_per_day_after / self.visits_per_day_before - 1) * 100
        return math.nan

    @property
    def primary(self) -> Estimate | None:
        return self.estimates.get(self.primary_method) if self.primary_method else None

    def to_json(self) -> dict[str, Any]:
        primary = self.primary
        if self.ratio is not None:
            return self._ratio_json(self.ratio, primary)
        return {
            "store": self.store,
            "stores": list(self.members),
            "visits_per_day_before": _number(self.visits_per_day_before),
            "visits_per_day_after": _number(self.visits_per_day_after),
            "raw_change_pct": _number(self.raw_change_pct),
            "effect_pct": _number(primary.effect_pct) if primary else None,
            "ci_low_pct": _number(primary.ci_low_pct) if primary else None,
            "ci_high_pct": _number(primary.ci_high_pct) if primary else None,
            "method": self.primary_method,
            "comparison": self.comparison,
            "estimates": {name: value.to_json() for name, value in self.estimates.items()},
            "cumulative": self.cumulative.to_json() if self.cumulative else None,
            "synthetic_control": self.synthetic_control.to_json()
            if self.synthetic_control
            else None,
            "placebo": self.placebo.to_json() if self.placebo else None,
            "excluded": self.excluded_reason,
        }

    def _ratio_json(self, ratio: RatioSummary, primary: Estimate | None) -> dict[str, Any]:
        return {
            "store": self.store,
            "stores": list(self.members),
            "ratio_before_pct": _number(ratio.before * 100),
            "ratio_after_pct": _number(ratio.after * 100),
            "raw_change_pct": _number(self.raw_change_pct),
            "effect_pct": _number(primary.effect_pct) if primary else None,
            "ci_low_pct": _number(primary.ci_low_pct) if primary else None,
            "ci_high_pct": _number(primary.ci_high_pct) if primary else None,
            "method": self.primary_method,
            "comparison": self.comparison,
            "numerator": ratio.numerator.to_json(),
            "denominator": ratio.denominator.to_json(),
            "estimates": {name: value.to_json() for name, value in self.estimates.items()},
            "placebo": self.placebo.to_json() if self.placebo else None,
            "excluded": self.excluded_reason,
        }


@dataclass(frozen=True)
class PlotSeries:
    """Daily visits (or the daily ratio) of the pooled unit and its counterfactual (NaN
    before the change)."""

    days: pd.DatetimeIndex
    visits: np.ndarray
    counterfactual: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray


def cumulative_path(
    series: PlotSeries, change: date, estimate: Estimate
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Per after day, visits gained so far and its 95% band (``CumulativeEffect`` day by day;
    a missing day counts as an average after day, so the last value is the window's total)."""
    after = np.asarray(series.days >= pd.Timestamp(change))
    visits = series.visits[after]
    filled = np.where(np.isfinite(visits), visits, np.nanmean(visits) if after.any() else 0.0)
    running = np.cumsum(filled)
    margin = estimate.critical_value * estimate.standard_error
    low, high = (
        running * -float(np.expm1(-(estimate.log_effect + sign * margin))) for sign in (-1, 1)
    )
    gained = running * -float(np.expm1(-estimate.log_effect))
    return series.days[after], gained, low, high


@dataclass(frozen=True)
class ImpactReport:
    policy: str
    change_date: date
    change_utc: datetime
    before_days: int
    after_days: int
    placebo_date: date
    comparison: dict[str, Any]
    pooled: UnitResult
    stores: list[UnitResult]
    warnings: list[QualityWarning]
    plot: PlotSeries | None = None
    metric: str = "visits"
    ratio: RatioMetric | None = None
    """For a ratio metric: what it divides by what (None for visits)."""

    def to_json(self) -> dict[str, Any]:
        metric: dict[str, Any] = {}
        if self.ratio is not None:
            metric = {
                "metric": self.metric,
                "numerator": self.ratio.numerator_label,
                "denominator": self.ratio.denominator_label,
                "minimum_denominator_per_day": MINIMUM_DENOMINATOR_PER_DAY,
            }
        return {
            "policy": self.policy,
            **metric,
            "effective_date": self.change_date.isoformat(),
            "before_days": self.before_days,
            "after_days": self.after_days,
            "placebo_date": self.placebo_date.isoformat(),
            "comparison": self.comparison,
            "pooled": self.pooled.to_json(),
            "stores": [store.to_json() for store in self.stores],
            "warnings": [warning.to_json() for warning in self.warnings],
        }
