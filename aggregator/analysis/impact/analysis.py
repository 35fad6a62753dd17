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
    screen_candidates,
    select_controls,
    usable_stores,
)
from aggregator.analysis.impact.daily import DailyVisits, Segment, daily_visits
from aggregator.analysis.impact.estimation import build_report, estimate_unit
from aggregator.analysis.impact.estimators import UnitSeries
from aggregator.analysis.impact.metrics import metric_label, ratio_metric
from aggregator.analysis.impact.panel import DailyPanel, Part, daily_panel, ratio_day_warnings
from aggregator.analysis.impact.ratio import with_counts
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
    settings: ImpactSettings, values: pd.DataFrame, warnings: list[QualityWarning]
) -> tuple[list[str], list[str]]:
    """Treated stores with enough days to estimate, and those with enough to pool."""
    treated = values[settings.stores]
    estimable = usable_stores(treated, settings.windows, STORE_MINIMUM_DAYS)
    pool = usable_stores(treated, settings.windows, POOL_MINIMUM_DAYS)
    measured = metric_label(settings.metric)
    warnings += _excluded_warnings(
        settings.stores,
        estimable,
        f"{measured} on fewer than {STORE_MINIMUM_DAYS:.0%} of the days of a window: left out",
    )
    warnings += _excluded_warnings(
        estimable,
        pool,
        f"{measured} on fewer than {POOL_MINIMUM_DAYS:.0%} of the days: not pooled",
    )
    if not estimable:
        raise SettingsError(
            f"no treated store has {measured} on {STORE_MINIMUM_DAYS:.0%} of the days in "
            f"{settings.windows.first_day} .. {settings.windows.last_day}"
        )
    return estimable, pool


def _control_stores(
    settings: ImpactSettings,
    panel: DailyPanel,
    pool: Sequence[str],
    warnings: list[QualityWarning],
) -> list[str]:
    adjusted = panel.values
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
    treated_pool = panel.pooled(pool)
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
    segments = _segments(settings, shift, "baseline ")
    earlier = daily_visits(data, timezones, segments)
    panel = daily_panel(settings.metric, loader, data, earlier, timezones, segments)
    holidays = holiday_table(
        settings.stores, timezones, settings.country, settings.subdivision, days
    )
    return Comparison(
        "baseline_year",
        baseline_year=year,
        shift_days=shift,
        panel=panel.reindex(days, settings.stores).moved_forward(shift),
        holidays=moved_forward(holidays.indicators, shift),
    )


def _pool_change(settings: ImpactSettings, comparison: Comparison, pool: Sequence[str]) -> float:
    """The baseline windows' own change for the pooled stores that have baseline days."""
    if comparison.panel is None:
        return float("nan")
    values = comparison.panel.values
    members = usable_stores(values[list(pool)], settings.windows, POOL_MINIMUM_DAYS)
    if not members:
        return float("nan")
    series = comparison.panel.pooled(members)
    return window_change(series, pd.DatetimeIndex(values.index), settings.windows)


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
        if comparison.panel is None:
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
    panel: DailyPanel,
    pool: list[str],
    timezones: dict[str, str],
    warnings: list[QualityWarning],
) -> Comparison:
    """Control stores when there are usable ones, else the baseline year. With the baseline
    year, ``pool`` loses the stores that lack baseline days (in place)."""
    controls = _control_stores(settings, panel, pool, warnings)
    if controls:
        return Comparison("control_stores", stores=controls)
    if settings.control_mode != "baseline":
        warnings.append(
            QualityWarning(
                "no_controls", None, "no usable control store: comparing with an earlier year"
            )
        )
    comparison = _baseline(settings, loader, timezones, pool)
    if comparison.panel is None:
        warnings.append(
            QualityWarning(
                "no_controls",
                None,
                "no data in the baseline year either: seasonal and time-series estimates only",
            )
        )
        return comparison
    earlier = comparison.panel.values[pool]
    with_baseline = usable_stores(earlier, settings.windows, POOL_MINIMUM_DAYS)
    warnings += _excluded_warnings(
        pool,
        with_baseline,
        f"{metric_label(settings.metric)} on fewer than {POOL_MINIMUM_DAYS:.0%} of the "
        f"baseline days ({comparison.baseline_year}): not pooled",
    )
    pool[:] = with_baseline
    return comparison


def _unit(
    name: str,
    members: Sequence[str],
    panel: DailyPanel,
    holidays: HolidayTable,
    comparison: Comparison,
    part: Part = "value",
) -> UnitSeries:
    """The pooled daily series of ``members`` and of its comparison: the metric, or (``part``)
    one of a ratio's counts on the ratio's days."""
    indicators = holidays.indicators
    unit_holidays = indicators[list(members)].to_numpy(dtype=np.float64).mean(axis=1)
    control = control_holidays = None
    if comparison.kind == "control_stores":
        control = panel.pooled(comparison.stores, part)
        control_holidays = indicators[comparison.stores].to_numpy(dtype=np.float64).mean(axis=1)
    elif comparison.panel is not None and comparison.holidays is not None:
        control = comparison.panel.pooled(members, part)
        earlier = comparison.holidays[list(members)].to_numpy(dtype=np.float64)
        control_holidays = earlier.mean(axis=1)
    visits = panel.pooled(members, part)
    days = pd.DatetimeIndex(panel.numerator.index)
    return UnitSeries(name, days, visits, unit_holidays, control, control_holidays)


def _quality(
    settings: ImpactSettings,
    data: VisitData,
    daily: DailyVisits,
    holidays: HolidayTable,
    comparison: Comparison,
    panel: DailyPanel,
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
        *_ratio_days(settings, panel, checked),
    ]


def _ratio_days(
    settings: ImpactSettings, panel: DailyPanel, stores: Sequence[str]
) -> list[QualityWarning]:
    ratio = ratio_metric(settings.metric)
    return [] if ratio is None else ratio_day_warnings(panel, ratio, stores, _days(settings))


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
    the design does not call for one; a ratio metric never does: its weights would mix
    rates, not counts)."""
    few = len(settings.stores) <= MAXIMUM_TREATED_STORES
    if settings.design == "did" or (settings.design == "auto" and not few):
        return None
    if ratio_metric(settings.metric) is not None:
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
    segments = _segments(settings, 0, "")
    daily = daily_visits(data, timezones, segments)
    columns = sorted({str(store) for store in daily.adjusted.columns} | set(settings.stores))
    panel = daily_panel(
        settings.metric, loader, data, daily, timezones, segments, settings.stores
    ).reindex(days, columns)
    warnings: list[QualityWarning] = []
    estimable, pool = _usable_treated(settings, panel.values, warnings)
    comparison = _comparison(
        settings, loader, panel=panel, pool=pool, timezones=timezones, warnings=warnings
    )
    holidays = holiday_table(
        sorted({*settings.stores, *comparison.stores}),
        timezones,
        settings.country,
        settings.subdivision,
        days,
    )
    units = [(store, [store]) for store in estimable] + ([(POOLED, pool)] if pool else [])
    donors = _donors(settings, panel.values)
    estimated = [
        estimate_unit(
            _unit(name, members, panel, holidays, comparison),
            members,
            settings,
            comparison,
            donors,
        )
        for name, members in units
    ]
    ratio = ratio_metric(settings.metric)
    if ratio is not None:
        estimated = [
            with_counts(
                unit,
                _unit(name, members, panel, holidays, comparison, "numerator"),
                _unit(name, members, panel, holidays, comparison, "denominator"),
                ratio,
                settings.windows,
            )
            for unit, (name, members) in zip(estimated, units, strict=True)
        ]
    warnings += _quality(settings, data, daily, holidays, comparison, panel)
    return build_report(settings, estimated, comparison, warnings)
