"""The history a trial is planned on: the stores' pooled daily visits and the comparison the
trial would be read against, over ``history_days`` up to ``until`` (default: the last full
day with data). Same sources and daily series as ``impact``.

Comparison: named control stores; or ``auto``, the untreated stores whose log daily visits
correlate best with the pool over the history (screened on daily totals first, as ``impact``
does); or ``baseline``, the same stores 364 days earlier. Without any, the seasonal model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from aggregator.analysis.impact.comparison import holiday_table, moved_forward
from aggregator.analysis.impact.controls import (
    MINIMUM_CORRELATION_DAYS,
    POOL_MINIMUM_DAYS,
    SCREENING_FACTOR,
    pooled_sum,
    screen_candidates,
)
from aggregator.analysis.impact.daily import Segment, daily_visits
from aggregator.analysis.impact.estimators import UnitSeries
from aggregator.analysis.impact.power import PlanError
from aggregator.analysis.impact.results import POOLED
from aggregator.analysis.impact.settings import DAYS_PER_BASELINE_YEAR
from aggregator.analysis.impact.source import VisitLoader

PROFILE_BLOCK_DAYS = 28
"""The weekday x hour profile that fills missing hours is fitted per block of this many days."""
LOOKBACK_DAYS = 3 * 366


class PlanSettings(BaseModel):
    """One planning question: which stores would be treated, compared with what, over which
    history. Windows (weeks) are chosen by the caller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stores: Annotated[list[str], Field(min_length=1)]
    control_mode: Literal["auto", "baseline", "stores"] = "auto"
    control_stores: list[str] = Field(default_factory=list)
    max_auto_controls: Annotated[int, Field(ge=1)] = 10
    history_days: Annotated[int, Field(ge=28)] = DAYS_PER_BASELINE_YEAR
    until: date | None = None
    timezones: dict[str, str] = Field(default_factory=dict)
    default_timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None


@dataclass(frozen=True)
class PlanHistory:
    unit: UnitSeries
    stores: list[str]
    """Treated stores with visits on enough history days to pool."""
    comparison: str


def _last_day(loader: VisitLoader, until: date | None) -> date:
    if until is not None:
        return until
    today = date.today()
    totals = loader.daily_totals(today - timedelta(days=LOOKBACK_DAYS), today)
    if totals.empty:
        raise PlanError(f"no visits in the {LOOKBACK_DAYS} days up to {today}")
    # the last UTC day may be partial
    return pd.Timestamp(totals["time_utc"].max()).date() - timedelta(days=1)


def _segments(first: date, last: date, prefix: str = "") -> list[Segment]:
    segments, start = [], first
    while start <= last:
        end = min(start + timedelta(days=PROFILE_BLOCK_DAYS - 1), last)
        segments.append(Segment(f"{prefix}{start}", start, end))
        start = end + timedelta(days=1)
    return segments


def _daily(
    loader: VisitLoader, stores: Sequence[str], zones: dict[str, str], first: date, last: date
) -> pd.DataFrame:
    data = loader.load(list(stores), first, last)
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D")
    if data.hourly.empty:
        return pd.DataFrame(index=days, columns=list(stores), dtype=np.float64)
    daily = daily_visits(data, zones, _segments(first, last))
    return daily.adjusted.reindex(index=days, columns=list(stores))


def _poolable(adjusted: pd.DataFrame, stores: Sequence[str]) -> list[str]:
    values = adjusted.reindex(columns=list(stores)).to_numpy(dtype=np.float64)
    present = (np.isfinite(values) & (values > 0)).mean(axis=0)
    return [
        store for store, share in zip(stores, present, strict=True) if share >= POOL_MINIMUM_DAYS
    ]


def _ranked_controls(
    adjusted: pd.DataFrame, target: np.ndarray, candidates: Sequence[str], keep: int
) -> list[str]:
    with np.errstate(divide="ignore", invalid="ignore"):
        reference = np.log(target)
        values = np.log(adjusted[list(candidates)].to_numpy(dtype=np.float64))
    scored = []
    for position, store in enumerate(candidates):
        both = np.isfinite(values[:, position]) & np.isfinite(reference)
        if both.sum() >= MINIMUM_CORRELATION_DAYS:
            correlation = float(np.corrcoef(values[both, position], reference[both])[0, 1])
            if np.isfinite(correlation) and correlation > 0:
                scored.append((correlation, store))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [store for _, store in scored[:keep]]


def plan_history(settings: PlanSettings, loader: VisitLoader) -> PlanHistory:
    last = _last_day(loader, settings.until)
    first = last - timedelta(days=settings.history_days - 1)
    treated = settings.stores
    candidates: list[str] = list(settings.control_stores)
    if settings.control_mode == "auto":
        totals = loader.daily_totals(first, last)
        keep = SCREENING_FACTOR * settings.max_auto_controls
        candidates = screen_candidates(totals, treated, set(treated), keep)
    zones = {
        store: settings.timezones.get(store, settings.default_timezone)
        for store in [*treated, *candidates]
    }
    adjusted = _daily(loader, [*treated, *candidates], zones, first, last)
    pool = _poolable(adjusted, treated)
    if not pool:
        raise PlanError(
            f"no store of {', '.join(treated)} has visits on {POOL_MINIMUM_DAYS:.0%} of the "
            f"days {first} .. {last}"
        )
    days = pd.DatetimeIndex(adjusted.index)
    holidays = holiday_table(
        [*treated, *candidates], zones, settings.country, settings.subdivision, days
    )
    visits = pooled_sum(adjusted, pool)
    unit_holidays = holidays.indicators[pool].to_numpy(dtype=np.float64).mean(axis=1)
    controls = _poolable(adjusted, candidates)
    if settings.control_mode == "auto":
        controls = _ranked_controls(adjusted, visits, controls, settings.max_auto_controls)
    if controls:
        control = pooled_sum(adjusted, controls)
        control_holidays = holidays.indicators[controls].to_numpy(dtype=np.float64).mean(axis=1)
        unit = UnitSeries(POOLED, days, visits, unit_holidays, control, control_holidays)
        return PlanHistory(unit, pool, f"control stores {', '.join(controls)}")
    if settings.control_mode == "baseline":
        return _with_baseline(settings, loader, zones, pool, first, last, visits, unit_holidays)
    unit = UnitSeries(POOLED, days, visits, unit_holidays)
    return PlanHistory(unit, pool, "none (seasonal model)")


def _with_baseline(
    settings: PlanSettings,
    loader: VisitLoader,
    zones: dict[str, str],
    pool: list[str],
    first: date,
    last: date,
    visits: np.ndarray,
    unit_holidays: np.ndarray,
) -> PlanHistory:
    """The same stores 364 days earlier, moved forward onto the history's days."""
    shift = timedelta(days=DAYS_PER_BASELINE_YEAR)
    earlier = _daily(loader, pool, zones, first - shift, last - shift)
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D")
    if not _poolable(earlier, pool):
        unit = UnitSeries(POOLED, days, visits, unit_holidays)
        return PlanHistory(unit, pool, "none (no data a year earlier; seasonal model)")
    moved = moved_forward(earlier, DAYS_PER_BASELINE_YEAR)
    holidays = holiday_table(
        pool, zones, settings.country, settings.subdivision, pd.DatetimeIndex(earlier.index)
    )
    control_holidays = moved_forward(holidays.indicators, DAYS_PER_BASELINE_YEAR)[pool]
    unit = UnitSeries(
        POOLED,
        days,
        visits,
        unit_holidays,
        pooled_sum(moved, pool),
        control_holidays.to_numpy(dtype=np.float64).mean(axis=1),
    )
    return PlanHistory(unit, pool, "same weekdays a year earlier (364 days)")
