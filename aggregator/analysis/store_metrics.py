"""What a store manager reads next to visits: conversion (transactions ÷ visits), visit
time by Little's law (mean occupancy ÷ entry rate) and capture rate (entries ÷ passers-by
counted on ``passing`` lines outside the shop front), per hour or per store-local day.

Pure computation over per-hour inputs (see :mod:`aggregator.analysis.store_metrics_source`
for where they come from): no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Resolution = Literal["hour", "day"]
HOUR = timedelta(hours=1)
MINIMUM_ENTRIES_FOR_VISIT_TIME = 20
"""Little's law holds for averages over a stable stretch; with fewer entries than this in the
period the ratio is mostly noise (and the period's edges dominate), so no visit time is given."""


@dataclass(frozen=True)
class HourInputs:
    """One store-hour: entries on entrance lines, till transactions (None: not imported),
    the time-weighted mean occupancy over the hour (None: no occupancy known) and the
    passers-by (crossings of ``passing`` lines, either direction)."""

    start_utc: datetime
    entries: int
    transactions: int | None
    mean_occupancy: float | None
    passers_by: int = 0


@dataclass(frozen=True)
class PeriodMetrics:
    start_utc: datetime
    label: str
    """The hour (ISO 8601, UTC) or the store-local date."""
    visits: int
    transactions: int | None
    conversion_percent: float | None
    """Transactions per 100 visits; None without transactions or without visits."""
    mean_occupancy: float | None
    visit_minutes: float | None
    """Mean time in store by Little's law; None below the entry minimum or without occupancy."""
    passers_by: int = 0
    capture_rate_percent: float | None = None
    """Entries per 100 passers-by; None without passers-by (no passing line counted)."""


def conversion_percent(transactions: int | None, visits: int) -> float | None:
    if transactions is None or visits <= 0:
        return None
    return 100.0 * transactions / visits


def capture_rate_percent(entries: int, passers_by: int) -> float | None:
    """Of the people passing the shop front, how many came in, in percent. Above 100 when
    people arrive from elsewhere (a car park, another entrance)."""
    if passers_by <= 0:
        return None
    return 100.0 * entries / passers_by


def visit_minutes(mean_occupancy: float | None, entries: int, seconds: float) -> float | None:
    """Little's law, W = L / λ: ``mean_occupancy`` people in store on average, ``entries``
    arrivals over ``seconds`` → minutes per visit."""
    if mean_occupancy is None or entries < MINIMUM_ENTRIES_FOR_VISIT_TIME or seconds <= 0:
        return None
    return mean_occupancy / (entries / seconds) / 60.0


def time_weighted_mean(
    changes: Sequence[tuple[datetime, float]], start: datetime, end: datetime
) -> float | None:
    """Mean of a step function over ``[start, end)``: each change holds until the next.
    ``changes`` are sorted by time; the last change at or before ``start`` gives the value at
    ``start``. None when nothing is known at ``start``."""
    if end <= start:
        raise ValueError(f"empty period {start} .. {end}")
    value: float | None = None
    moment = start
    area = 0.0
    for changed_at, new_value in changes:
        if changed_at <= start:
            value = new_value
            continue
        if changed_at >= end:
            break
        if value is None:
            return None
        area += value * (changed_at - moment).total_seconds()
        moment, value = changed_at, new_value
    if value is None:
        return None
    area += value * (end - moment).total_seconds()
    return area / (end - start).total_seconds()


def period_metrics(
    hours: Sequence[HourInputs], resolution: Resolution, zone: ZoneInfo
) -> list[PeriodMetrics]:
    """Per hour, or per store-local day (``zone``) summed from its hours."""
    if resolution == "hour":
        return [_metrics(hour.start_utc, hour.start_utc.isoformat(), [hour]) for hour in hours]
    days: dict[date, list[HourInputs]] = {}
    for hour in hours:
        days.setdefault(hour.start_utc.astimezone(zone).date(), []).append(hour)
    return [
        _metrics(members[0].start_utc, day.isoformat(), members) for day, members in days.items()
    ]


def _metrics(start_utc: datetime, label: str, hours: Sequence[HourInputs]) -> PeriodMetrics:
    visits = sum(hour.entries for hour in hours)
    known = [hour.transactions for hour in hours if hour.transactions is not None]
    transactions = sum(known) if known else None
    occupancies = [hour.mean_occupancy for hour in hours]
    mean = (
        None
        if any(value is None for value in occupancies)
        else math.fsum(value for value in occupancies if value is not None) / len(occupancies)
    )
    passers_by = sum(hour.passers_by for hour in hours)
    return PeriodMetrics(
        start_utc=start_utc,
        label=label,
        visits=visits,
        transactions=transactions,
        conversion_percent=conversion_percent(transactions, visits),
        mean_occupancy=mean,
        visit_minutes=visit_minutes(mean, visits, len(hours) * HOUR.total_seconds()),
        passers_by=passers_by,
        capture_rate_percent=capture_rate_percent(visits, passers_by),
    )
