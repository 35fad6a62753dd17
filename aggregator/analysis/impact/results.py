"""The result of an impact analysis, as plain data (JSON-ready) for the report and the plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.regression import Estimate
from aggregator.storage.measurements import POOLED_STORE

POOLED = POOLED_STORE
"""The unit of the estimate pooled over the treated stores; its ``store`` tag in InfluxDB."""


@dataclass(frozen=True)
class QualityWarning:
    """``kind``: missing_hours, camera_offline, occupancy_drift, holiday, excluded_store,
    zero_days, comparison_changed, placebo_effect, no_controls, no_holiday_calendar,
    estimation."""

    kind: str
    store: str | None
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "store": self.store, "message": self.message}


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 2)


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

    @property
    def raw_change_pct(self) -> float:
        if self.visits_per_day_before > 0:
            return (self.visits_per_day_after / self.visits_per_day_before - 1) * 100
        return math.nan

    @property
    def primary(self) -> Estimate | None:
        return self.estimates.get(self.primary_method) if self.primary_method else None

    def to_json(self) -> dict[str, Any]:
        primary = self.primary
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
            "placebo": self.placebo.to_json() if self.placebo else None,
            "excluded": self.excluded_reason,
        }


@dataclass(frozen=True)
class PlotSeries:
    """Daily visits of the pooled unit and its counterfactual (NaN before the change)."""

    days: pd.DatetimeIndex
    visits: np.ndarray
    counterfactual: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray


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

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "effective_date": self.change_date.isoformat(),
            "before_days": self.before_days,
            "after_days": self.after_days,
            "placebo_date": self.placebo_date.isoformat(),
            "comparison": self.comparison,
            "pooled": self.pooled.to_json(),
            "stores": [store.to_json() for store in self.stores],
            "warnings": [warning.to_json() for warning in self.warnings],
        }
