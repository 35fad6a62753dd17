"""Run one impact analysis: load the days needed, build daily series, choose the comparison,
estimate per store and pooled, run the placebo, collect data-quality warnings.

The *primary* estimate of a unit (``effect_pct`` in the report) is the difference-in-
differences when a comparison exists, else the seasonal estimate. The placebo check repeats the
primary method with the change moved to ``placebo_date``, using only days before the change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd

from aggregator.analysis.impact import quality
from aggregator.analysis.impact.baseline import (
    MAXIMUM_YEARS_BACK,
    BaselineCandidate,
    BaselineChoice,
    pick,
    window_change,
)
from aggregator.analysis.impact.comparison import (
    Comparison,
    HolidayTable,
    holiday_table,
    moved_forward,
)
from aggregator.analysis.impact.controls import (
    POOL_MINIMUM_DAYS,
    SCREENING_FACTOR,
    STORE_MINIMUM_DAYS,
    pooled_sum,
    screen_candidates,
    select_controls,
    usable_stores,
)
from aggregator.analysis.impact.daily import DailyVisits, Segment, daily_visits
from aggregator.analysis.impact.estimation import build_report, estimate_unit
from aggregator.analysis.impact.estimators import UnitSeries
from aggregator.analysis.impact.results import POOLED, ImpactReport, QualityWarning
from aggregator.analysis.impact.settings import ImpactSettings, SettingsError
from aggregator.analysis.impact.source import VisitData, VisitLoader
from aggregator.analysis.impact.synthetic_control import MAXIMUM_TREATED_STORES


def _segments(settings: ImpactSettings, shift_days: int, prefix: str) -> list[Segment]:
    shift = timedelta(days=shift_days)
    change = settings.effective_date - shift
    return [
        Segment(f"{prefix}before", settings.first_day - shift, change - timedelta(days=1)),
        Segment(f"{prefix}after", change, settings.last_day - shift),
    ]


def _days(settings: ImpactSettings, shift_days: int = 0) -> pd.DatetimeIndex:
    shift = pd.Timedelta(days=shift_days)
    first, last = pd.Timestamp(settings.first_day), pd.Timestamp(settings.last_day)
    return pd.date_range(first - shift, last - shift, freq="D")


def _timezones(settings: ImpactSettings, data: VisitData) -> dict[str, str]:
    stores = {str(store) for store in data.hourly["store"].unique()} | set(settings.stores)
    return {store: settings.timezone(store) for store in stores}


def _excluded_warnings(
    stores: Sequence[str], kept: Sequence[str], message: str
) -> list[QualityWarning]:
    return [
        QualityWarning("excluded_store", store, message) for store in stores if store not in kept
    ]


def _usable_treated(
    settings: ImpactSettings, adjusted: pd.DataFrame, warnings: list[QualityWarning]
) -> tuple[list[str], list[str]]:
    """Treated stores with enough days to estimate, and those with enough to pool."""
    treated = adjusted[settings.stores]
    estimable = usable_stores(treated, settings.windows, STORE_MINIMUM_DAYS)
    pool = usable_stores(treated, settings.windows, POOL_MINIMUM_DAYS)
    warnings += _excluded_warnings(
        settings.stores,
        estimable,
        f"visits on fewer than {STORE_MINIMUM_DAYS:.0%} of the days of a window: left out",
    )
    warnings += _excluded_warnings(
        estimable, pool, f"visits on fewer than {POOL_MINIMUM_DAYS:.0%} of the days: not pooled"
    )
    if not estimable:
        raise SettingsError(
            f"no treated store has visits on {STORE_MINIMUM_DAYS:.0%} of the days in "
            f"{settings.windows.first_day} .. {settings.windows.last_day}"
        )
    return estimable, pool


def _control_stores(
    settings: ImpactSettings,
    adjusted: pd.DataFrame,
    pool: Sequence[str],
    warnings: list[QualityWarning],
) -> list[str]:
    if settings.control_mode == "baseline":
        return []
    if settings.control_mode == "stores":
        named = adjusted.reindex(columns=settings.control_stores)
        chosen = usable_stores(named, settings.windows, POOL_MINIMUM_DAYS)
        warnings += _excluded_warnings(
            settings.control_stores, chosen, "control store without enough days: left out"
        )
        return chosen
    excluded = set(settings.stores) | set(settings.excluded_controls)
    candidates = [str(store) for store in adjusted.columns if store not in excluded]
    if not pool or not candidates:
        return []
    treated_pool = pooled_sum(adjusted, pool)
    return select_controls(
        adjusted, treated_pool, candidates, settings.windows, settings.max_auto_controls
    )


def _baseline_year(
    settings: ImpactSettings, loader: VisitLoader, timezones: dict[str, str], year: int
) -> Comparison:
    """The treated stores' own days in ``year`` (whole weeks earlier), moved forward."""
    shift = settings.baseline_shift_for(year)
    days = _days(settings, shift)
    data = loader.load(settings.stores, days[0].date(), days[-1].date())
    if data.hourly.empty:
        return Comparison("none")
    earlier = daily_visits(data, timezones, _segments(settings, shift, "baseline "))
    adjusted = earlier.adjusted.reindex(index=days, columns=settings.stores)
    holidays = holiday_table(
        settings.stores, timezones, settings.country, settings.subdivision, days
    )
    return Comparison(
        "baseline_year",
        baseline_year=year,
        shift_days=shift,
        adjusted=moved_forward(adjusted, shift),
        holidays=moved_forward(holidays.indicators, shift),
    )


def _pool_change(settings: ImpactSettings, comparison: Comparison, pool: Sequence[str]) -> float:
    """The baseline windows' own change for the pooled stores that have baseline days."""
    if comparison.adjusted is None:
        return float("nan")
    members = usable_stores(comparison.adjusted[list(pool)], settings.windows, POOL_MINIMUM_DAYS)
    if not members:
        return float("nan")
    series = pooled_sum(comparison.adjusted, members)
    return window_change(series, pd.DatetimeIndex(comparison.adjusted.index), settings.windows)


def _baseline(
    settings: ImpactSettings, loader: VisitLoader, timezones: dict[str, str], pool: Sequence[str]
) -> Comparison:
    """The requested baseline year, else the nearest undisturbed earlier year (``baseline``)."""
    if settings.baseline_year is not None:
        comparison = _baseline_year(settings, loader, timezones, settings.baseline_year)
        candidate = BaselineCandidate(
            settings.baseline_year, _pool_change(settings, comparison, pool)
        )
        return replace(comparison, choice=BaselineChoice("requested", (candidate,)))
    candidates: list[BaselineCandidate] = []
    comparisons: dict[int, Comparison] = {}
    for back in range(1, MAXIMUM_YEARS_BACK + 1):
        year = settings.effective_date.year - back
        comparison = _baseline_year(settings, loader, timezones, year)
        if comparison.adjusted is None:
            break
        candidate = BaselineCandidate(year, _pool_change(settings, comparison, pool))
        candidates.append(candidate)
        comparisons[year] = comparison
        if math.isfinite(candidate.change) and not candidate.disturbed:
            break
    if not comparisons:
        return Comparison("none")
    picked = pick(candidates)
    chosen, reason = picked if picked else (candidates[0], "default")
    return replace(comparisons[chosen.year], choice=BaselineChoice(reason, tuple(candidates)))


def _comparison(
    settings: ImpactSettings,
    loader: VisitLoader,
    *,
    adjusted: pd.DataFrame,
    pool: list[str],
    timezones: dict[str, str],
    warnings: list[QualityWarning],
) -> Comparison:
    """Control stores when there are usable ones, else the baseline year. With the baseline
    year, ``pool`` loses the stores that lack baseline days (in place)."""
    controls = _control_stores(settings, adjusted, pool, warnings)
    if controls:
        return Comparison("control_stores", stores=controls)
    if settings.control_mode != "baseline":
        warnings.append(
            QualityWarning(
                "no_controls", None, "no usable control store: comparing with an earlier year"
            )
        )
    comparison = _baseline(settings, loader, timezones, pool)
    if comparison.adjusted is None:
        warnings.append(
            QualityWarning(
                "no_controls",
                None,
                "no data in the baseline year either: seasonal and time-series estimates only",
            )
        )
        return comparison
    with_baseline = usable_stores(comparison.adjusted[pool], settings.windows, POOL_MINIMUM_DAYS)
    warnings += _excluded_warnings(
        pool,
        with_baseline,
        f"visits on fewer than {POOL_MINIMUM_DAYS:.0%} of the baseline "
        f"days ({comparison.baseline_year}): not pooled",
    )
    pool[:] = with_baseline
    return comparison


def _unit(
    name: str,
    members: Sequence[str],
    adjusted: pd.DataFrame,
    holidays: HolidayTable,
    comparison: Comparison,
) -> UnitSeries:
    indicators = holidays.indicators
    unit_holidays = indicators[list(members)].to_numpy(dtype=np.float64).mean(axis=1)
    control = control_holidays = None
    if comparison.kind == "control_stores":
        control = pooled_sum(adjusted, comparison.stores)
        control_holidays = indicators[comparison.stores].to_numpy(dtype=np.float64).mean(axis=1)
    elif comparison.adjusted is not None and comparison.holidays is not None:
        control = pooled_sum(comparison.adjusted, members)
        earlier = comparison.holidays[list(members)].to_numpy(dtype=np.float64)
        control_holidays = earlier.mean(axis=1)
    visits = pooled_sum(adjusted, members)
    days = pd.DatetimeIndex(adjusted.index)
    return UnitSeries(name, days, visits, unit_holidays, control, control_holidays)


def _quality(
    settings: ImpactSettings,
    data: VisitData,
    daily: DailyVisits,
    holidays: HolidayTable,
    comparison: Comparison,
) -> list[QualityWarning]:
    checked = [*settings.stores, *comparison.stores]
    first, last = settings.windows.first_day, settings.windows.last_day
    ranges = [("analysis windows", first, last)]
    if comparison.kind == "baseline_year":
        shift = timedelta(days=comparison.shift_days)
        ranges.append(("baseline windows", first - shift, last - shift))
    return [
        *quality.missing_hour_warnings(daily.hours, checked),
        *quality.camera_offline_warnings(data.coverage, checked),
        *quality.drift_warnings(data.occupancy, checked),
        *holidays.warnings,
        *quality.holiday_warnings(holidays.names, ranges),
        *quality.zero_day_warnings(daily.adjusted, checked, _days(settings)),
    ]


def _stores_to_load(settings: ImpactSettings, loader: VisitLoader) -> list[str]:
    """Treated stores and the named controls, or for ``auto`` the screened candidates."""
    if settings.control_mode != "auto":
        return [*settings.stores, *settings.control_stores]
    change = settings.effective_date
    totals = loader.daily_totals(settings.windows.first_day, change - timedelta(days=1))
    excluded = set(settings.stores) | set(settings.excluded_controls)
    keep = SCREENING_FACTOR * settings.max_auto_controls
    return [*settings.stores, *screen_candidates(totals, settings.stores, excluded, keep)]


def _donors(settings: ImpactSettings, adjusted: pd.DataFrame) -> pd.DataFrame | None:
    """Untreated stores with visits on every window day, for a synthetic control (None when
    the design does not call for one)."""
    few = len(settings.stores) <= MAXIMUM_TREATED_STORES
    if settings.design == "did" or (settings.design == "auto" and not few):
        return None
    excluded = set(settings.stores) | set(settings.excluded_controls)
    candidates = [str(store) for store in adjusted.columns if store not in excluded]
    usable = usable_stores(adjusted[candidates], settings.windows, POOL_MINIMUM_DAYS)
    return adjusted[usable] if usable else None


def run_impact(settings: ImpactSettings, loader: VisitLoader) -> ImpactReport:
    """The whole analysis; raises ``SettingsError`` when no treated store has data."""
    days = _days(settings)
    data = loader.load(_stores_to_load(settings, loader), settings.first_day, settings.last_day)
    timezones = _timezones(settings, data)
    daily = daily_visits(data, timezones, _segments(settings, 0, ""))
    columns = sorted({str(store) for store in daily.adjusted.columns} | set(settings.stores))
    adjusted = daily.adjusted.reindex(index=days, columns=columns)
    warnings: list[QualityWarning] = []
    estimable, pool = _usable_treated(settings, adjusted, warnings)
    comparison = _comparison(
        settings, loader, adjusted=adjusted, pool=pool, timezones=timezones, warnings=warnings
    )
    holidays = holiday_table(
        sorted({*settings.stores, *comparison.stores}),
        timezones,
        settings.country,
        settings.subdivision,
        days,
    )
    units = [(store, [store]) for store in estimable] + ([(POOLED, pool)] if pool else [])
    donors = _donors(settings, adjusted)
    estimated = [
        estimate_unit(
            _unit(name, members, adjusted, holidays, comparison),
            members,
            settings,
            comparison,
            donors,
        )
        for name, members in units
    ]
    warnings += _quality(settings, data, daily, holidays, comparison)
    return build_report(settings, estimated, comparison, warnings)
