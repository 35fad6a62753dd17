"""Seed data for the Footfall dashboard's store metrics row, beside ``seed.py``'s: a passing
line outside north's main door, till transactions of both stores and dwell buckets of a
counting zone at north, over the same six weeks and opening hours. Written as schema
version 2 points through the aggregator's own point conversion (only the ``line_counts`` and
``zone_dwell`` points of each interval: the camera coverage of ``seed.py`` stays as it is).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from aggregator.storage.influx import InfluxClient
from aggregator.storage.line_protocol import Point
from aggregator.storage.measurements import LINE_COUNTS, ZONE_DWELL
from aggregator.storage.points import interval_points, transaction_point
from protocol.messages import (
    CountInterval,
    DwellCounts,
    LineCount,
    LineRole,
    ZoneOccupancy,
    ZoneRole,
)
from tests.dashboards.seed import (
    DAYS,
    FIRST_DAY,
    INTERVAL_MINUTES,
    INTERVAL_SECONDS,
    ZONE,
    opening_hours,
)

PASSING_ENTRIES, PASSING_EXITS = 20, 10
"""Per interval on north's pavement line: 30 passers-by, 120 per opening hour."""
TRANSACTIONS_PER_HOUR = {"north": 10, "south": 6}
DWELL = DwellCounts(under_30_seconds=1, from_30_to_120_seconds=2, from_120_to_600_seconds=1)
"""Per interval in north's tills zone."""


def passers_by(day: date) -> int:
    return (
        (PASSING_ENTRIES + PASSING_EXITS) * len(INTERVAL_MINUTES) * len(opening_hours("north", day))
    )


def transactions(store: str, day: date) -> int:
    return TRANSACTIONS_PER_HOUR[store] * len(opening_hours(store, day))


def _interval(start: datetime, sequence: int) -> CountInterval:
    return CountInterval(
        schema_version=2,
        store_id="north",
        camera_id="door-cam",
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(seconds=INTERVAL_SECONDS),
        frames=600,
        lines={
            "pavement": LineCount(
                entries=PASSING_ENTRIES, exits=PASSING_EXITS, role=LineRole.PASSING
            )
        },
        zones={"tills": ZoneOccupancy(mean=1.0, max=2, role=ZoneRole.COUNTING, dwell=DWELL)},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def seed_metrics(client: InfluxClient) -> None:
    points: list[Point] = []
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for store, per_hour in TRANSACTIONS_PER_HOUR.items():
            for hour in opening_hours(store, day):
                start = datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)
                points.append(transaction_point(store, start, per_hour))
        for hour in opening_hours("north", day):
            for minute in INTERVAL_MINUTES:
                start = datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)
                points += [
                    point
                    for point in interval_points(_interval(start, offset), None)
                    if point.measurement in (LINE_COUNTS, ZONE_DWELL)
                ]
    for first in range(0, len(points), 5000):
        client.write(points[first : first + 5000])
