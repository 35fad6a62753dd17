"""Daily values per store of the metric an impact analysis measures: visits, or the two
counts of a ratio masked to the days the ratio is defined (see ``metrics``); how they are
made from the loaded hours, and the notes on the days a ratio leaves out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from aggregator.analysis.impact.controls import pooled_sum
from aggregator.analysis.impact.daily import DailyVisits, Segment, daily_sums, daily_visits
from aggregator.analysis.impact.metrics import (
    COUNT_LABELS,
    MINIMUM_DENOMINATOR_PER_DAY,
    MISSING_COUNT_HINTS,
    Count,
    RatioMetric,
    ratio_metric,
)
from aggregator.analysis.impact.results import QualityWarning
from aggregator.analysis.impact.settings import SettingsError
from aggregator.analysis.impact.source import CountLoader, VisitData, VisitLoader

LISTED_DAYS = 5


Part = Literal["value", "numerator", "denominator"]


@dataclass(frozen=True)
class DailyPanel:
    """Daily values of the analysed metric per store (index: local days; one column per
    store). For visits, ``numerator`` holds the daily visits and ``denominator`` is None; for
    a ratio, both counts on the same days and stores, and the value is their ratio on the days
    it is defined (see the module docstring), NaN elsewhere. The counts of a ratio are masked
    to the same days, so a fit on either uses exactly the ratio's days."""

    numerator: pd.DataFrame
    denominator: pd.DataFrame | None = None

    def part(self, part: Part = "value") -> pd.DataFrame:
        if self.denominator is None:
            if part == "denominator":
                raise ValueError("visits have no denominator")
            return self.numerator
        valid = (self.numerator > 0) & (self.denominator >= MINIMUM_DENOMINATOR_PER_DAY)
        numerator = self.numerator.where(valid)
        denominator = self.denominator.where(valid)
        if part == "numerator":
            return numerator
        if part == "denominator":
            return denominator
        return numerator / denominator

    @property
    def values(self) -> pd.DataFrame:
        return self.part("value")

    def pooled(self, stores: Sequence[str], part: Part = "value") -> np.ndarray:
        """Per day over ``stores``: the sum of visits, or the ratio of the summed counts; a
        day missing for any store is missing (NaN)."""
        if self.denominator is None or part != "value":
            return pooled_sum(self.part(part), stores)
        ratio: np.ndarray = pooled_sum(self.part("numerator"), stores) / pooled_sum(
            self.part("denominator"), stores
        )
        return ratio

    def reindex(self, index: pd.DatetimeIndex, columns: Sequence[str]) -> DailyPanel:
        return DailyPanel(
            self.numerator.reindex(index=index, columns=list(columns)),
            None
            if self.denominator is None
            else self.denominator.reindex(index=index, columns=list(columns)),
        )

    def moved_forward(self, days: int) -> DailyPanel:
        """The same values on days ``days`` later (a baseline year onto the change year)."""
        shift = pd.Timedelta(days=days)
        numerator = self.numerator.set_axis(self.numerator.index + shift, axis=0)
        if self.denominator is None:
            return DailyPanel(numerator)
        return DailyPanel(
            numerator, self.denominator.set_axis(self.denominator.index + shift, axis=0)
        )


def _listed(days: pd.Index) -> str:
    shown = ", ".join(f"{day:%Y-%m-%d}" for day in days[:LISTED_DAYS])
    return shown + (", ..." if len(days) > LISTED_DAYS else "")


def ratio_day_warnings(
    panel: DailyPanel, metric: RatioMetric, stores: Sequence[str], days: pd.DatetimeIndex
) -> list[QualityWarning]:
    """Per store, the days with one of the two counts that the ratio leaves out, and why: the
    other count has no data that day, the denominator is too small, or the numerator is 0."""
    if panel.denominator is None:
        return []
    warnings = []
    for store in stores:
        if store not in panel.numerator.columns:
            continue
        numerator = panel.numerator[store].reindex(days)
        denominator = panel.denominator[store].reindex(days)
        few = MINIMUM_DENOMINATOR_PER_DAY
        reasons = [
            (denominator.notna() & numerator.isna(), f"without {metric.numerator_label} data"),
            (numerator.notna() & denominator.isna(), f"without {metric.denominator_label} data"),
            (
                numerator.notna() & (denominator < few),
                f"with fewer than {few:.0f} {metric.denominator_label}",
            ),
            ((numerator == 0) & (denominator >= few), f"with no {metric.numerator_label}"),
        ]
        parts = [
            f"{int(mask.sum())} day(s) {why} ({_listed(mask[mask].index)})"
            for mask, why in reasons
            if mask.any()
        ]
        if parts:
            warnings.append(
                QualityWarning(
                    "ratio_days",
                    store,
                    f"{metric.label} left out on {'; '.join(parts)}",
                )
            )
    return warnings


def _missing(
    hourly: pd.DataFrame, required: Sequence[str], count: Count, first: date, last: date
) -> None:
    """Refuse a ratio for treated stores without a single hour of its other count."""
    missing = [store for store in required if store not in set(hourly["store"])]
    if not missing:
        return
    who = f"store {missing[0]} has" if len(missing) == 1 else f"stores {', '.join(missing)} have"
    raise SettingsError(
        f"{who} no {COUNT_LABELS[count]} in {first}..{last}: {MISSING_COUNT_HINTS[count]}"
    )


def daily_panel(
    metric: str,
    loader: VisitLoader,
    visits: VisitData,
    daily: DailyVisits,
    timezones: Mapping[str, str],
    segments: Sequence[Segment],
    required: Sequence[str] = (),
) -> DailyPanel:
    """The metric's daily values over ``segments`` for the stores of ``daily`` (``visits``
    made daily) and ``required``: visits as they are, or with a ratio's other count loaded
    and made daily. Passers-by are made daily like visits (the same camera coverage; missing
    hours filled from the profile); transactions are summed per local day, an hour without a
    row counting as none (a till lists the hours it sold in) and a day without any row
    missing. Every ``required`` store must have some of that count, else ``SettingsError``
    names it and what is missing."""
    ratio = ratio_metric(metric)
    if ratio is None:
        return DailyPanel(daily.adjusted)
    if not isinstance(loader, CountLoader):
        raise SettingsError(f"--metric {metric} needs InfluxDB: {ratio.definition}")
    count = ratio.numerator if ratio.denominator is Count.VISITS else ratio.denominator
    first = min(segment.first_day for segment in segments)
    last = max(segment.last_day for segment in segments)
    stores = sorted({str(store) for store in daily.adjusted.columns} | set(required))
    hourly = loader.hourly_counts(count, stores, first, last)
    _missing(hourly, required, count, first, last)
    index = daily.adjusted.index
    counted = pd.DataFrame(index=index, columns=stores, dtype=np.float64)
    if not hourly.empty and count is Count.TRANSACTIONS:
        counted = daily_sums(hourly, timezones, first, last).reindex(index=index, columns=stores)
    elif not hourly.empty:
        passing = VisitData(hourly, visits.coverage)
        made_daily = daily_visits(passing, timezones, segments).adjusted
        counted = made_daily.reindex(index=index, columns=stores)
    visit_days = daily.adjusted.reindex(columns=stores)
    if count is ratio.numerator:
        return DailyPanel(counted, visit_days)
    return DailyPanel(visit_days, counted)
