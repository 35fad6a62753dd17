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
from aggregator.analysis.impact.metrics import metric_label, ratio_metric
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
from aggregator.analysis.impact.synthetic_control import (
    SYNTHETIC_CONTROL,
    SyntheticControl,
    is_better,
    synthetic_control,
)


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
        f"something else moved {metric_label(settings.metric)} before the change; treat "
        "the estimate with care",
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


def _synthetic(
    unit: UnitSeries,
    settings: ImpactSettings,
    donors: pd.DataFrame | None,
    warnings: list[QualityWarning],
) -> SyntheticControl | None:
    if donors is None or donors.empty:
        return None
    try:
        return synthetic_control(unit.visits, donors, settings.windows, unit.control)
    except EstimationError as error:
        if settings.design == "synthetic":  # asked for: say why there is none
            warnings.append(QualityWarning("estimation", unit.name, str(error)))
        return None


def _primary(
    fits: dict[str, Fit], synthetic: SyntheticControl | None, settings: ImpactSettings
) -> str:
    if synthetic is not None and (settings.design == "synthetic" or is_better(synthetic)):
        return SYNTHETIC_CONTROL
    return DIFFERENCE_IN_DIFFERENCES if DIFFERENCE_IN_DIFFERENCES in fits else SEASONAL


def estimate_unit(
    unit: UnitSeries,
    members: Sequence[str],
    settings: ImpactSettings,
    comparison: Comparison,
    donors: pd.DataFrame | None = None,
) -> EstimatedUnit:
    """All estimators for one unit; ``donors`` (daily visits of untreated stores) adds a
    synthetic control, primary when asked for or when it fits the before window better."""
    fits: dict[str, Fit] = {}
    warnings = _comparison_warning(unit, settings, comparison)
    for method, estimator in ESTIMATORS.items():
        if method == DIFFERENCE_IN_DIFFERENCES and unit.control is None:
            continue
        try:
            fits[method] = estimator(unit, settings.windows)
        except EstimationError as error:
            warnings.append(QualityWarning("estimation", unit.name, str(error)))
    synthetic = _synthetic(unit, settings, donors, warnings)
    estimates = {method: fit.estimate for method, fit in fits.items()}
    if synthetic is not None:
        estimates[SYNTHETIC_CONTROL] = synthetic.estimate
    primary = _primary(fits, synthetic, settings)
    regression = DIFFERENCE_IN_DIFFERENCES if DIFFERENCE_IN_DIFFERENCES in fits else SEASONAL
    placebo = None
    if regression in fits:
        try:
            placebo = ESTIMATORS[regression](unit, settings.placebo_windows)
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
        estimates=estimates,
        primary_method=primary if primary in estimates else None,
        placebo=placebo.estimate if placebo else None,
        comparison=_described(primary, comparison, synthetic),
        cumulative=CumulativeEffect.from_estimate(
            estimates[primary], per_day_after, settings.after_days
        )
        if primary in estimates
        else None,
        synthetic_control=synthetic,
    )
    return EstimatedUnit(result, unit, fits, warnings)


def _described(primary: str, comparison: Comparison, synthetic: SyntheticControl | None) -> str:
    if primary == SYNTHETIC_CONTROL and synthetic is not None:
        stores = sorted(synthetic.weights.items(), key=lambda item: -item[1])[:3]
        mix = ", ".join(f"{store} {weight:.0%}" for store, weight in stores)
        return f"synthetic control ({mix}, ...)"
    return comparison.describe() if primary == DIFFERENCE_IN_DIFFERENCES else "none"


def _synthetic_series(
    synthetic: SyntheticControl,
    visits: np.ndarray,
    days: pd.DatetimeIndex,
    settings: ImpactSettings,
) -> PlotSeries:
    """The synthetic control as the counterfactual, its band from the placebo spread."""
    path = pd.Series(synthetic.counterfactual_log, index=synthetic.days).reindex(days).to_numpy()
    after = np.asarray(days >= pd.Timestamp(settings.effective_date))
    half_width = synthetic.estimate.standard_error * synthetic.estimate.critical_value
    counterfactual = np.where(after, np.exp(path), np.nan)
    return PlotSeries(
        days,
        visits,
        counterfactual,
        counterfactual * np.exp(-half_width),
        counterfactual * np.exp(half_width),
    )


def plot_series(estimated: EstimatedUnit, settings: ImpactSettings) -> PlotSeries:
    """Visits and the primary method's counterfactual (with its band) in visits per day."""
    unit = estimated.series
    inside = np.asarray(unit.days >= pd.Timestamp(settings.windows.first_day))
    days = unit.days[inside]
    empty = np.full(len(days), np.nan)
    synthetic = estimated.result.synthetic_control
    if estimated.result.primary_method == SYNTHETIC_CONTROL and synthetic is not None:
        return _synthetic_series(synthetic, unit.visits[inside], days, settings)
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
        else _excluded(store, f"not enough days with {metric_label(settings.metric)}")
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
        metric=settings.metric,
        ratio=ratio_metric(settings.metric),
    )
