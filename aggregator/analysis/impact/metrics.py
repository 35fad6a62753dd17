"""What an impact analysis measures (``footfall impact --metric``): daily visits, or the daily
ratio of two counts — conversion (transactions ÷ visits) and capture rate (entries ÷
passers-by, the crossings of ``passing`` lines outside the shop front). The definitions are
those of :mod:`aggregator.analysis.store_metrics`; this module names the metrics and says how
a ratio is analysed (the daily values: :mod:`aggregator.analysis.impact.panel`).

A ratio's effect is estimated on its log, log(numerator) − log(denominator): the numerator
modelled with the denominator as an offset (its coefficient fixed at 1), by the same designs
as visits (seasonal, interrupted time series, difference-in-differences against the control
stores' own ratio). So "+10% conversion" is the change in transactions per visit, not
confounded by a change in visits alone, and because the designs are linear in the log, the
ratio's effect is exactly the numerator's effect less the denominator's on the same days
(1 + ratio = (1 + numerator) / (1 + denominator)); both are reported beside it.

A store-day enters a ratio only when both counts are known, the numerator is above 0 and the
denominator is at least ``MINIMUM_DENOMINATOR_PER_DAY``; other days are left out, not
weighted. Why dropping rather than weighting by the denominator: the intervals come from
unweighted OLS with a critical value calibrated by simulation for that design (see
``inference``), which weights would invalidate; above the minimum a day's sampling noise
(about 1/numerator + 1/denominator in the log) is small beside the day-to-day behaviour the
regression models, so weights would change little; a pooled unit's ratio is already the ratio
of its stores' sums (weighted by their counts); and a day with a handful of visits, or none,
carries almost no information about a rate and would swamp the fit with noise (log 0 is not
even defined).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

MINIMUM_DENOMINATOR_PER_DAY = 20.0
"""Fewest visits (conversion) or passers-by (capture rate) a store-day needs to enter a ratio:
with 20, a ratio near 20% rests on about 4 transactions, a log standard error near 0.5 — the
day still adds something; below it the day is mostly noise."""


class Count(StrEnum):
    """The hourly counts a metric is made of."""

    VISITS = "visits"
    """Entries on entrance lines."""
    TRANSACTIONS = "transactions"
    """Till transactions (``footfall import transactions``)."""
    PASSERS_BY = "passers_by"
    """Crossings of ``passing`` lines, either direction."""


VISITS: Final = "visits"
CONVERSION: Final = "conversion"
CAPTURE_RATE: Final = "capture_rate"
MetricName = Literal["visits", "conversion", "capture_rate"]
METRIC_NAMES: tuple[MetricName, ...] = (VISITS, CONVERSION, CAPTURE_RATE)


@dataclass(frozen=True)
class RatioMetric:
    """A ratio of two counts and the words a report uses for it."""

    name: str
    label: str
    numerator: Count
    denominator: Count
    numerator_label: str
    denominator_label: str

    @property
    def definition(self) -> str:
        return f"{self.label} = {self.numerator_label} ÷ {self.denominator_label}"


RATIO_METRICS = {
    CONVERSION: RatioMetric(
        CONVERSION, "conversion", Count.TRANSACTIONS, Count.VISITS, "transactions", "visits"
    ),
    CAPTURE_RATE: RatioMetric(
        CAPTURE_RATE, "capture rate", Count.VISITS, Count.PASSERS_BY, "entries", "passers-by"
    ),
}

MISSING_COUNT_HINTS = {
    Count.TRANSACTIONS: "import them with footfall import transactions",
    Count.PASSERS_BY: (
        "count them on a line with role: passing (edge config) on the pavement outside the "
        "shop front"
    ),
}
COUNT_LABELS = {
    Count.VISITS: "visits",
    Count.TRANSACTIONS: "transactions",
    Count.PASSERS_BY: "passers-by",
}


def ratio_metric(name: str) -> RatioMetric | None:
    """The ratio behind ``name``; None for visits."""
    return RATIO_METRICS.get(name)


def metric_label(name: str) -> str:
    """The metric in a report's words: ``visits``, ``conversion``, ``capture rate``."""
    ratio = ratio_metric(name)
    return VISITS if ratio is None else ratio.label
