"""Staggered roll-outs: stores adopt a policy on different dates (5 in March, 10 in May).

Pooling every treated store around one date is biased: stores that adopt later count as
untreated after the first date, and stores already treated act as controls for later ones,
so effects that differ between waves (or grow over time) leak into each other. The estimator
here follows Callaway & Sant'Anna (2021): each *group* (stores sharing an adoption date g) is
compared only with stores that are not treated anywhere in g's windows — never-treated stores
and stores of later groups whose own date comes after g's after window (*not yet treated*) —
by the same difference-in-differences as a single-date analysis (log ratio of the group's
summed daily visits to its controls', weekday and holiday terms, calibrated HAC interval).
That gives the group effect and the group-time effects ATT(g, week k) for each week after g.

The aggregate is the group-size-weighted mean of the group effects (Callaway & Sant'Anna's
"group" aggregation, in logs). Groups share control stores and calendar days, so their errors
are correlated; the aggregate's interval adds the groups' half-widths with the same weights
(the perfectly correlated bound), which never understates it.

Why not ``differences`` / ``csdid`` (PyPI): both implement ATT(g, t) per period against one
base period with a unit-clustered multiplier bootstrap. On daily store counts that means
per-day cells with weekday-mismatched base days, and clustering that needs dozens of stores
per group; a roll-out wave is 5-10 stores, whose serial correlation this project already
handles with the calibrated HAC interval. The estimand (group-time effects against clean
controls, group-size aggregation) is theirs; the per-group estimator is this package's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.comparison import holiday_table
from aggregator.analysis.impact.controls import (
    POOL_MINIMUM_DAYS,
    SCREENING_FACTOR,
    pooled_sum,
    screen_candidates,
    select_controls,
    usable_stores,
)
from aggregator.analysis.impact.daily import Segment, daily_visits
from aggregator.analysis.impact.estimators import UnitSeries, difference_in_differences_design
from aggregator.analysis.impact.regression import (
    Estimate,
    EstimationError,
    fit_effect,
    weekday_design,
)
from aggregator.analysis.impact.settings import ImpactSettings, SettingsError, Windows
from aggregator.analysis.impact.source import VisitLoader

STAGGERED = "callaway_santanna"
NAIVE_POOLED = "naive_pooled"
PROFILE_BLOCK_DAYS = 28


@dataclass(frozen=True)
class GroupResult:
    """One adoption wave: its stores, their controls, the effect and ATT(g, week k)."""

    adoption_date: date
    stores: list[str]
    controls: list[str]
    estimate: Estimate | None
    weeks: list[Estimate] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "adoption_date": self.adoption_date.isoformat(),
            "stores": self.stores,
            "controls": self.controls,
            "estimate": self.estimate.to_json() if self.estimate else None,
            "weeks": [
                {"week": number + 1, **week.to_json()} for number, week in enumerate(self.weeks)
            ],
        }


@dataclass(frozen=True)
class StaggeredReport:
    policy: str
    before_days: int
    after_days: int
    groups: list[GroupResult]
    aggregate: Estimate | None
    naive_pooled: Estimate | None
    """All treated stores pooled around the first date: the biased answer, for contrast."""
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "design": "staggered",
            "method": STAGGERED,
            "before_days": self.before_days,
            "after_days": self.after_days,
            "aggregate": self.aggregate.to_json() if self.aggregate else None,
            "groups": [group.to_json() for group in self.groups],
            "naive_pooled": self.naive_pooled.to_json() if self.naive_pooled else None,
            "warnings": self.warnings,
        }


def _segments(first: date, last: date) -> list[Segment]:
    segments, start = [], first
    while start <= last:
        end = min(start + timedelta(days=PROFILE_BLOCK_DAYS - 1), last)
        segments.append(Segment(str(start), start, end))
        start = end + timedelta(days=1)
    return segments


def _weekly_effects(unit: UnitSeries, windows: Windows) -> list[Estimate]:
    """ATT(g, week k): the post indicator split by week after the adoption date."""
    design = difference_in_differences_design(unit, windows)
    elapsed = np.asarray((design.days - pd.Timestamp(windows.change_date)).days)
    post_column = max(design.contrast)
    base = np.delete(design.matrix, post_column, axis=1)
    weeks = -(-windows.after_days // 7)
    dummies = np.column_stack(
        [(elapsed >= 7 * week) & (elapsed < 7 * week + 7) for week in range(weeks)]
    ).astype(np.float64)
    # the week dummies before the holiday columns: when the treated and control holidays
    # coincide, the rank check drops a holiday column (from the right), never a week
    weekday_columns = weekday_design(design.days).shape[1]
    matrix = np.column_stack([base[:, :weekday_columns], dummies, base[:, weekday_columns:]])
    estimates = []
    for week in range(weeks):
        column = weekday_columns + week
        fit = fit_effect(STAGGERED, design.days, design.values, matrix, {column: 1.0})
        estimates.append(fit.estimate)
    return estimates


class _Panel:
    """Daily visits and holidays of every store over the span of all groups' windows."""

    def __init__(self, settings: ImpactSettings, loader: VisitLoader, stores: list[str]) -> None:
        groups = settings.adoption_groups()
        self.first = min(groups) - timedelta(days=settings.before_days)
        self.last = max(groups) + timedelta(days=settings.after_days - 1)
        data = loader.load(stores, self.first, self.last)
        zones = {store: settings.timezone(store) for store in stores}
        self.days = pd.date_range(pd.Timestamp(self.first), pd.Timestamp(self.last), freq="D")
        daily = daily_visits(data, zones, _segments(self.first, self.last))
        self.adjusted = daily.adjusted.reindex(index=self.days, columns=stores)
        self.holidays = holiday_table(
            stores, zones, settings.country, settings.subdivision, self.days
        ).indicators

    def unit(self, name: str, stores: Sequence[str], controls: Sequence[str]) -> UnitSeries:
        def mean_holidays(members: Sequence[str]) -> np.ndarray:
            shares: np.ndarray = self.holidays[list(members)].to_numpy(dtype=np.float64)
            return np.asarray(shares.mean(axis=1))

        return UnitSeries(
            name,
            self.days,
            pooled_sum(self.adjusted, stores),
            mean_holidays(stores),
            pooled_sum(self.adjusted, controls),
            mean_holidays(controls),
        )


def _candidates(settings: ImpactSettings, loader: VisitLoader) -> list[str]:
    if settings.control_mode == "stores":
        return list(settings.control_stores)
    if settings.control_mode == "baseline":
        raise SettingsError("a staggered roll-out needs control stores (--controls auto or S7,S8)")
    first = min(settings.adoption_groups()) - timedelta(days=settings.before_days)
    totals = loader.daily_totals(first, min(settings.adoption_groups()) - timedelta(days=1))
    excluded = set(settings.stores) | set(settings.excluded_controls)
    keep = SCREENING_FACTOR * settings.max_auto_controls
    return screen_candidates(totals, settings.stores, excluded, keep)


def _clean_controls(
    settings: ImpactSettings, windows: Windows, never_treated: list[str]
) -> list[str]:
    """Never-treated stores, and treated stores whose own date is after ``windows``."""
    later = [
        store for store, adopted in settings.effective_dates.items() if adopted > windows.last_day
    ]
    return [*never_treated, *later]


def _group(
    settings: ImpactSettings,
    panel: _Panel,
    adoption: date,
    stores: list[str],
    never_treated: list[str],
) -> tuple[GroupResult, UnitSeries | None]:
    windows = Windows(adoption, settings.before_days, settings.after_days)
    pool = usable_stores(panel.adjusted[stores], windows, POOL_MINIMUM_DAYS)
    clean = _clean_controls(settings, windows, never_treated)
    if not pool or not clean:
        return GroupResult(adoption, stores, [], None), None
    chosen = usable_stores(panel.adjusted[clean], windows, POOL_MINIMUM_DAYS)
    if settings.control_mode == "auto":
        treated_sum = pooled_sum(panel.adjusted, pool)
        chosen = select_controls(
            panel.adjusted, treated_sum, chosen, windows, settings.max_auto_controls
        )
    if not chosen:
        return GroupResult(adoption, stores, [], None), None
    unit = panel.unit(f"group {adoption}", pool, chosen)
    estimate = difference_in_differences_design(unit, windows).fit().estimate
    return GroupResult(adoption, pool, chosen, estimate, _weekly_effects(unit, windows)), unit


def _aggregate(groups: Sequence[GroupResult]) -> Estimate:
    """Group-size-weighted mean of the groups' log effects. Its interval adds the groups'
    half-widths with the same weights, as if their errors were perfectly correlated: they
    share control stores (and calendar shocks), and that bound never understates."""
    estimates = [group.estimate for group in groups if group.estimate is not None]
    weights = np.array(
        [len(group.stores) for group in groups if group.estimate is not None], dtype=np.float64
    )
    weights /= weights.sum()
    effect = float(weights @ [one.log_effect for one in estimates])
    standard_error = float(weights @ [one.standard_error for one in estimates])
    half_width = float(weights @ [one.critical_value * one.standard_error for one in estimates])
    critical = half_width / standard_error if standard_error > 0 else 0.0
    days = sum(one.days for one in estimates)
    return Estimate.from_log(STAGGERED, effect, standard_error, critical, days)


def _naive(settings: ImpactSettings, panel: _Panel, never_treated: list[str]) -> Estimate | None:
    """Every treated store pooled around the first adoption date, never-treated controls."""
    windows = Windows(min(settings.adoption_groups()), settings.before_days, settings.after_days)
    pool = usable_stores(panel.adjusted[settings.stores], windows, POOL_MINIMUM_DAYS)
    controls = usable_stores(panel.adjusted[never_treated], windows, POOL_MINIMUM_DAYS)
    if not pool or not controls:
        return None
    unit = panel.unit(NAIVE_POOLED, pool, controls)
    try:
        return difference_in_differences_design(unit, windows).fit().estimate
    except EstimationError:
        return None


def run_staggered(settings: ImpactSettings, loader: VisitLoader) -> StaggeredReport:
    never_treated = [
        store for store in _candidates(settings, loader) if store not in settings.stores
    ]
    panel = _Panel(settings, loader, [*settings.stores, *never_treated])
    warnings = []
    estimated = []
    results = []
    for adoption, stores in sorted(settings.adoption_groups().items()):
        try:
            result, unit = _group(settings, panel, adoption, stores, never_treated)
        except EstimationError as error:
            result, unit = GroupResult(adoption, stores, [], None), None
            warnings.append(f"group {adoption}: {error}")
        if unit is None or result.estimate is None:
            warnings.append(f"group {adoption}: no usable stores or clean controls; left out")
        else:
            estimated.append((result, unit))
        results.append(result)
    aggregate = _aggregate([group for group, _ in estimated]) if estimated else None
    return StaggeredReport(
        settings.policy,
        settings.before_days,
        settings.after_days,
        results,
        aggregate,
        _naive(settings, panel, never_treated),
        warnings,
    )
