"""Estimates for one unit (all methods, the primary one, the placebo) and the final report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from aggregator.analysis.impact.baseline import is_disturbed, window_change
from aggregator.analysis.impact.comparison import Comparison
from aggregator.analysis.impact.controls import window_masks
from aggregator.analysis.impact.estimators import (
    DIFFERENCE_IN_DIFFERENCES,
    ESTIMATORS,
    SEASONAL,
    UnitSeries,
)
from aggregator.analysis.impact.regression import EstimationError, Fit
from aggregator.analysis.impact.results import (
    POOLED,
    CumulativeEffect,
    ImpactReport,
    PlotSeries,
    QualityWarning,
    UnitResult,
)
from aggregator.analysis.impact.settings import ImpactSettings


@dataclass(frozen=True)
class EstimatedUnit:
    result: UnitResult
    series: UnitSeries
    fits: dict[str, Fit]
    warnings: list[QualityWarning]


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    chosen = values[mask]
    chosen = chosen[np.isfinite(chosen)]
    return float(chosen.mean()) if chosen.size else float("nan")


def _placebo_warning(unit: UnitSeries, settings: ImpactSettings, fit: Fit) -> QualityWarning:
    placebo = fit.estimate
    return QualityWarning(
        "placebo_effect",
        unit.name,
        f"placebo change on {settings.placebo_windows.change_date} finds "
        f"{placebo.effect_pct:+.1f}% [{placebo.ci_low_pct:+.1f}, {placebo.ci_high_pct:+.1f}]: "
        "something else moved visits before the change; treat the estimate with care",
    )


def _comparison_warning(
    unit: UnitSeries, settings: ImpactSettings, comparison: Comparison
) -> list[QualityWarning]:
    if comparison.kind != "baseline_year" or unit.control is None:
        return []
    change = window_change(unit.control, unit.days, settings.windows)
    if not is_disturbed(change):
        return []
    return [
        QualityWarning(
            "comparison_changed",
            unit.name,
            f"the same windows in {comparison.baseline_year} changed by {change:+.1%} "
            "themselves: something happened then too; consider another --baseline-year",
        )
    ]


def estimate_unit(
    unit: UnitSeries, members: Sequence[str], settings: ImpactSettings, comparison: Comparison
) -> EstimatedUnit:
    fits: dict[str, Fit] = {}
    warnings = _comparison_warning(unit, settings, comparison)
    for method, estimator in ESTIMATORS.items():
        if method == DIFFERENCE_IN_DIFFERENCES and unit.control is None:
            continue
        try:
            fits[method] = estimator(unit, settings.windows)
        except EstimationError as error:
            warnings.append(QualityWarning("estimation", unit.name, str(error)))
    primary = DIFFERENCE_IN_DIFFERENCES if DIFFERENCE_IN_DIFFERENCES in fits else SEASONAL
    placebo = None
    if primary in fits:
        try:
            placebo = ESTIMATORS[primary](unit, settings.placebo_windows)
        except EstimationError as error:
            warnings.append(QualityWarning("estimation", unit.name, f"placebo: {error}"))
    if placebo is not None and placebo.estimate.excludes_zero:
        warnings.append(_placebo_warning(unit, settings, placebo))
    before, after = window_masks(unit.days, settings.windows)
    per_day_after = _mean(unit.visits, after)
    result = UnitResult(
        store=unit.name,
        members=tuple(members),
        visits_per_day_before=_mean(unit.visits, before),
        visits_per_day_after=per_day_after,
        estimates={method: fit.estimate for method, fit in fits.items()},
        primary_method=primary if primary in fits else None,
        placebo=placebo.estimate if placebo else None,
        comparison=comparison.describe() if primary == DIFFERENCE_IN_DIFFERENCES else "none",
        cumulative=CumulativeEffect.from_estimate(
            fits[primary].estimate, per_day_after, settings.after_days
        )
        if primary in fits
        else None,
    )
    return EstimatedUnit(result, unit, fits, warnings)


def plot_series(estimated: EstimatedUnit, settings: ImpactSettings) -> PlotSeries:
    """Visits and the primary method's counterfactual (with its band) in visits per day."""
    unit = estimated.series
    inside = np.asarray(unit.days >= pd.Timestamp(settings.windows.first_day))
    days = unit.days[inside]
    empty = np.full(len(days), np.nan)
    fit = estimated.fits.get(estimated.result.primary_method or "")
    if fit is None:
        return PlotSeries(days, unit.visits[inside], empty, empty, empty)
    offset = np.zeros(len(days))
    if fit.estimate.method == DIFFERENCE_IN_DIFFERENCES and unit.control is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.log(unit.control[inside])
    after = np.asarray(days >= pd.Timestamp(settings.effective_date))

    def as_visits(log_values: np.ndarray) -> np.ndarray:
        aligned = pd.Series(log_values, index=fit.days).reindex(days).to_numpy()
        return np.where(after, np.exp(aligned + offset), np.nan)

    return PlotSeries(
        days,
        unit.visits[inside],
        as_visits(fit.counterfactual_log),
        as_visits(fit.band_low_log),
        as_visits(fit.band_high_log),
    )


def _excluded(store: str, reason: str) -> UnitResult:
    return UnitResult(store, (store,), float("nan"), float("nan"), excluded_reason=reason)


def build_report(
    settings: ImpactSettings,
    estimated: Sequence[EstimatedUnit],
    comparison: Comparison,
    warnings: list[QualityWarning],
) -> ImpactReport:
    by_store = {unit.result.store: unit for unit in estimated}
    stores = [
        by_store[store].result
        if store in by_store
        else _excluded(store, "not enough days with visits")
        for store in settings.stores
    ]
    pooled = by_store.get(POOLED)
    zone = ZoneInfo(settings.timezone(settings.stores[0]))
    change_utc = datetime.combine(settings.effective_date, time(0), tzinfo=zone).astimezone(UTC)
    unit_warnings = [warning for unit in estimated for warning in unit.warnings]
    return ImpactReport(
        policy=settings.policy,
        change_date=settings.effective_date,
        change_utc=change_utc,
        before_days=settings.before_days,
        after_days=settings.after_days,
        placebo_date=settings.placebo_windows.change_date,
        comparison=comparison.to_json(),
        pooled=pooled.result if pooled else _excluded(POOLED, "no store with enough days"),
        stores=stores,
        warnings=[*unit_warnings, *warnings],
        plot=plot_series(pooled, settings) if pooled else None,
    )
