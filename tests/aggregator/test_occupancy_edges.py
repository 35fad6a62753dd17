"""Occupancy edges found by ``make mutation`` (issue 17): an interval that starts exactly at
the reset belongs to the new day and one that starts at the next reset does not; every
entrance line of a message counts, whatever lines come before it; the business day turns
exactly at the reset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aggregator.config import AggregatorConfig
from aggregator.ingest.occupancy import BusinessCalendar, OccupancyBook
from protocol.messages import CountInterval, LineCount

RESET = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)


def registry() -> AggregatorConfig:
    return AggregatorConfig.model_validate(
        {
            "stores": [
                {
                    "id": "s1",
                    "timezone": "UTC",
                    "daily_reset_local_time": "04:00",
                    "cameras": [{"id": "door", "entrance_lines": ["entrance", "side"]}],
                }
            ]
        }
    )


def interval(start: datetime, lines: dict[str, tuple[int, int]]) -> CountInterval:
    return CountInterval(
        store_id="s1",
        camera_id="door",
        sequence=int(start.timestamp()),
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=60,
        lines={line: LineCount(entries=e, exits=x) for line, (e, x) in lines.items()},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def today(book: OccupancyBook) -> tuple[int, int, int]:
    (snapshot,) = book.snapshots(RESET + timedelta(hours=1))
    return snapshot.occupancy, snapshot.entries_today, snapshot.exits_today


def test_an_interval_at_the_reset_is_the_new_day_and_one_at_the_next_reset_is_not() -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    book.apply_message(interval(RESET, {"entrance": (3, 0)}))
    book.apply_message(interval(RESET - timedelta(minutes=1), {"entrance": (50, 0)}))
    book.apply_message(interval(RESET + timedelta(days=1), {"entrance": (70, 0)}))
    assert today(book) == (3, 3, 0)


def test_every_entrance_line_counts_whatever_comes_before_it() -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    lines = {"aisle": (9, 9), "entrance": (4, 1), "stairs": (7, 0), "side": (2, 0)}
    book.apply_message(interval(RESET + timedelta(minutes=5), lines))
    assert today(book) == (5, 6, 1)


def test_the_business_day_turns_exactly_at_the_reset() -> None:
    calendar = BusinessCalendar(registry().stores[0].zone, RESET.time())
    assert calendar.business_day(RESET - timedelta(microseconds=1)) == date(2024, 4, 30)
    assert calendar.business_day(RESET) == date(2024, 5, 1)
    assert calendar.business_day(RESET + timedelta(days=1)) == date(2024, 5, 2)
    assert calendar.business_day(RESET + timedelta(days=1, microseconds=-1)) == date(2024, 5, 1)
