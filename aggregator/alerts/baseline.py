"""The usual visits of a store-local hour, from the same weekday and hour of previous weeks,
and the threshold below which an hour's visits are "far below" it.

Why median and MAD: a store's history holds holidays, closures and camera outages; one such
week moves a mean and a standard deviation a lot, the median and the median absolute
deviation (MAD) hardly at all. 1.4826 × MAD estimates the standard deviation of normal data.
Counts of people are at least Poisson-noisy (variance = mean), so the spread is never taken
below √median: a store whose last weeks happened to match exactly does not alert on a dip of
a few visits. Threshold = median − k × max(1.4826 × MAD, √median), k = ``mad_multiplier``.

Pure, apart from :func:`hour_visits`, which reads one window's visits from InfluxDB.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.alert_settings import VisitsLowSettings
from aggregator.alerts.rules import AlertKey, Observation
from aggregator.storage.influx import InfluxClient, quote_identifier, quote_string
from aggregator.storage.measurements import ENTRANCE_TRUE, LINE_COUNTS, LineCountsField, Tag
from protocol.alerts import AlertValue

MAD_TO_STANDARD_DEVIATION = 1.4826


@dataclass(frozen=True)
class SeasonalBand:
    """The usual of one weekday-hour and the visits below which it is far below."""

    median: float
    spread: float
    """max(1.4826 × MAD, √median)."""
    threshold: float
    weeks: int


def seasonal_band(
    history: Sequence[int | None], settings: VisitsLowSettings
) -> SeasonalBand | None:
    """The band from previous weeks' visits (None: that week has no counts), or None when
    there are too few weeks or the usual is too small to judge."""
    known = [float(visits) for visits in history if visits is not None]
    if len(known) < settings.minimum_history_weeks:
        return None
    median = statistics.median(known)
    if median < settings.minimum_median_visits or median <= 0:
        return None
    mad = statistics.median(abs(visits - median) for visits in known)
    spread = max(MAD_TO_STANDARD_DEVIATION * mad, math.sqrt(median))
    return SeasonalBand(median, spread, median - settings.mad_multiplier * spread, len(known))


def same_hour_previous_weeks(
    hour_start_utc: datetime, zone: ZoneInfo, weeks: int
) -> list[tuple[datetime, datetime]]:
    """The UTC windows of the same store-local weekday and hour 1..``weeks`` weeks earlier,
    newest first (local wall-clock arithmetic: across a DST change the same local hour)."""
    local = hour_start_utc.astimezone(zone)
    windows = []
    for week in range(1, weeks + 1):
        start = (local.replace(tzinfo=None) - timedelta(weeks=week)).replace(tzinfo=zone)
        windows.append((start.astimezone(UTC), (start + timedelta(hours=1)).astimezone(UTC)))
    return windows


def hour_visits(
    influx: InfluxClient, store_id: str, start_utc: datetime, end_utc: datetime
) -> int | None:
    """Entries on the store's entrance lines counted in intervals starting in
    [start, end); None when no interval of the store was stored for it."""
    entries = LineCountsField.ENTRIES
    statement = (
        f"SELECT sum({quote_identifier(entries)}) AS visits, count({quote_identifier(entries)}) "
        f"AS points FROM {quote_identifier(LINE_COUNTS)} "
        f"WHERE {quote_identifier(Tag.STORE)} = {quote_string(store_id)} "
        f"AND {quote_identifier(Tag.ENTRANCE)} = {quote_string(ENTRANCE_TRUE)} "
        f"AND time >= '{_rfc3339(start_utc)}' AND time < '{_rfc3339(end_utc)}'"
    )
    for series in influx.query(statement):
        for row in series.rows():
            if row.get("points"):
                return int(row["visits"] or 0)
    return None


def visits_observation(
    store_id: str,
    hour_start_utc: datetime,
    visits: int | None,
    history: Sequence[int | None],
    settings: VisitsLowSettings,
    now_utc: datetime,
) -> Observation:
    """Fires when the hour's visits are below the band's threshold; clears on a later hour at
    or above it; neither when the band cannot be computed, nor when no counts at all were
    stored for the hour: the cameras were not counting (the camera alert says so), and
    claiming visits fell would be a guess."""
    key = AlertKey("visits_low", store_id)
    band = seasonal_band(history, settings)
    values: dict[str, AlertValue] = {
        "visits": visits,
        "hour_start_utc": hour_start_utc.isoformat(),
        "history_weeks": band.weeks if band else sum(v is not None for v in history),
    }
    if visits is None:
        message = f"{store_id}: no counts stored for the hour from {hour_start_utc:%H:%M} UTC"
        return Observation(key, now_utc, False, False, message, values)
    if band is None:
        message = f"{store_id}: too little history to judge visits of {hour_start_utc:%H:%M} UTC"
        return Observation(key, now_utc, False, False, message, values)
    values.update(median=band.median, spread=band.spread, threshold=round(band.threshold, 2))
    low = visits < band.threshold
    message = (
        f"{store_id}: {visits} visits in the hour from {hour_start_utc:%Y-%m-%d %H:%M} UTC, "
        f"usual {band.median:g} (alert below {band.threshold:.1f}, {band.weeks} weeks)"
    )
    return Observation(key, now_utc, low, not low, message, values)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
