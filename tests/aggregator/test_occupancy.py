"""Live occupancy: business days across DST, clamping and drift, idempotency, roll-over."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import AggregatorConfig
from aggregator.ingest.occupancy import (
    BusinessCalendar,
    LineRecord,
    OccupancyBook,
    StoreOccupancyTracker,
)
from aggregator.storage.line_protocol import aware_to_nanoseconds
from protocol.messages import CountInterval, LineCount

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def config(**store: object) -> AggregatorConfig:
    entry = {
        "id": "s1",
        "timezone": "UTC",
        "daily_reset_local_time": "04:00",
        "capacity": 5,
        "cameras": [{"id": "door", "entrance_lines": ["entrance"]}],
    }
    entry.update(store)
    return AggregatorConfig.model_validate({"stores": [entry]})


def message(
    minute: int,
    entries: int,
    exits: int,
    *,
    camera: str = "door",
    line: str = "entrance",
    sequence: int | None = None,
    merged_minutes: list[int] | None = None,
    length_minutes: int = 1,
) -> CountInterval:
    start = NOW.replace(hour=5) + timedelta(minutes=minute)
    merged = [start + timedelta(minutes=m - minute) for m in merged_minutes or []]
    return CountInterval(
        store_id="s1",
        camera_id=camera,
        sequence=minute + 10_000 if sequence is None else sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=length_minutes),
        frames=60,
        lines={line: LineCount(entries=entries, exits=exits)},
        software_version="0.1.0",
        config_fingerprint="0123abcd",
        merged_starts_utc=merged,
    )


@pytest.mark.parametrize(
    ("zone", "reset", "day", "expected_utc"),
    [
        ("UTC", time(4, 0), date(2024, 5, 1), datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("Europe/London", time(4, 0), date(2024, 1, 15), datetime(2024, 1, 15, 4, 0, tzinfo=UTC)),
        ("Europe/London", time(4, 0), date(2024, 7, 15), datetime(2024, 7, 15, 3, 0, tzinfo=UTC)),
        # Spring forward in New York: 02:30 does not exist on 10 March; it becomes 03:30 EDT.
        (
            "America/New_York",
            time(2, 30),
            date(2024, 3, 10),
            datetime(2024, 3, 10, 7, 30, tzinfo=UTC),
        ),
        # Fall back in London: 01:30 happens twice on 27 October; the first (BST) is used.
        (
            "Europe/London",
            time(1, 30),
            date(2024, 10, 27),
            datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        ),
        (
            "Pacific/Auckland",
            time(4, 0),
            date(2024, 5, 1),
            datetime(2024, 4, 30, 16, 0, tzinfo=UTC),
        ),
    ],
)
def test_reset_instants(zone: str, reset: time, day: date, expected_utc: datetime) -> None:
    calendar = BusinessCalendar(ZoneInfo(zone), reset)
    assert calendar.reset_utc(day) == expected_utc
    assert calendar.business_day(expected_utc) == day
    assert calendar.business_day(expected_utc - timedelta(microseconds=1)) == day - timedelta(1)


@pytest.mark.parametrize(
    ("zone", "reset", "day", "hours"),
    [
        ("America/New_York", time(2, 30), date(2024, 3, 9), 24),  # ends in the gap: 03:30 EDT
        ("America/New_York", time(2, 30), date(2024, 3, 10), 23),
        ("America/New_York", time(4, 0), date(2024, 3, 9), 23),
        ("Europe/London", time(4, 0), date(2024, 10, 26), 25),
        ("Europe/London", time(1, 30), date(2024, 10, 26), 24),  # ends at the first 01:30
        ("Europe/London", time(4, 0), date(2024, 5, 1), 24),
    ],
)
def test_business_day_length_follows_dst(zone: str, reset: time, day: date, hours: int) -> None:
    calendar = BusinessCalendar(ZoneInfo(zone), reset)
    length = calendar.reset_utc(day + timedelta(1)) - calendar.reset_utc(day)
    assert length == timedelta(hours=hours)


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    reset_minutes=st.integers(0, 24 * 60 - 1),
    moment=st.datetimes(datetime(2023, 1, 1), datetime(2026, 1, 1), timezones=st.just(UTC)),
)
def test_every_instant_lies_in_its_business_day(
    zone: str, reset_minutes: int, moment: datetime
) -> None:
    calendar = BusinessCalendar(ZoneInfo(zone), time(reset_minutes // 60, reset_minutes % 60))
    day = calendar.business_day(moment)
    assert calendar.reset_utc(day) <= moment < calendar.reset_utc(day + timedelta(1))


@pytest.mark.parametrize(
    ("intervals", "occupancy", "drift"),
    [
        ([(3, 0), (0, 1)], 2, 0),
        ([(0, 2), (3, 0)], 3, 2),  # two phantom exits first: clamped, then three come in
        ([(2, 0), (0, 5), (1, 0)], 1, 3),
        ([(5, 5)], 0, 0),
        ([(0, 1), (0, 1), (2, 0)], 2, 2),
    ],
)
def test_clamped_running_occupancy_and_drift(
    intervals: list[tuple[int, int]], occupancy: int, drift: int
) -> None:
    book = OccupancyBook(config(), NOW)
    for minute, (entries, exits) in enumerate(intervals):
        book.apply_message(message(minute, entries, exits))
    snapshot = book.snapshots(NOW)[0]
    assert (snapshot.occupancy, snapshot.drift) == (occupancy, drift)
    assert snapshot.entries_today == sum(entries for entries, _ in intervals)
    assert snapshot.exits_today == sum(exits for _, exits in intervals)


def test_out_of_order_arrival_gives_the_interval_order_result() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(1, 3, 0))
    book.apply_message(message(0, 0, 2))  # arrives late, but happened first
    snapshot = book.snapshots(NOW)[0]
    assert (snapshot.occupancy, snapshot.drift) == (3, 2)


def test_redelivery_changes_nothing_and_a_correction_applies_the_difference() -> None:
    book = OccupancyBook(config(), NOW)
    assert book.apply_message(message(0, 4, 1))
    assert book.apply_message(message(0, 4, 1)) == []
    book.apply_message(message(0, 6, 1))  # same interval, corrected counts
    snapshot = book.snapshots(NOW)[0]
    assert (snapshot.entries_today, snapshot.exits_today, snapshot.occupancy) == (6, 1, 5)


def test_merged_interval_replaces_the_intervals_it_covers() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(0, 2, 0))
    book.apply_message(message(1, 3, 1))
    merged = message(0, 5, 1, sequence=99, merged_minutes=[0, 1], length_minutes=2)
    book.apply_message(merged)
    snapshot = book.snapshots(NOW)[0]
    assert (snapshot.entries_today, snapshot.exits_today, snapshot.occupancy) == (5, 1, 4)


def test_only_entrance_lines_count() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(0, 4, 0))
    book.apply_message(message(0, 9, 9, line="aisle"))
    assert book.snapshots(NOW)[0].entries_today == 4


def test_intervals_outside_today_are_ignored() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(-120, 7, 0))  # 03:00, before the 04:00 reset
    book.apply_message(message(24 * 60, 7, 0))  # tomorrow
    assert book.snapshots(NOW)[0].entries_today == 0


def test_over_capacity() -> None:
    book = OccupancyBook(config(capacity=5), NOW)
    book.apply_message(message(0, 5, 0))
    assert not book.snapshots(NOW)[0].over_capacity
    book.apply_message(message(1, 1, 0))
    snapshot = book.snapshots(NOW)[0]
    assert snapshot.over_capacity
    assert snapshot.to_message().over_capacity
    assert snapshot.to_point().fields["capacity"] == 5


def test_roll_over_starts_from_zero_and_records_the_residual() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(0, 5, 2))
    book.take_changed(NOW)
    next_morning = NOW.replace(hour=4) + timedelta(days=1)
    book.roll_over(next_morning)
    [snapshot] = book.take_changed(next_morning)
    assert snapshot.business_day == date(2024, 5, 2)
    assert (snapshot.occupancy, snapshot.entries_today, snapshot.reset_residual) == (0, 0, 3)
    assert snapshot.to_point().fields["reset_residual"] == 3


def test_seed_does_not_override_live_counts() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(message(0, 4, 1))
    start_ns = aware_to_nanoseconds(message(0, 0, 0).interval_start_utc)
    later_ns = aware_to_nanoseconds(message(1, 0, 0).interval_start_utc)
    stored = [
        LineRecord("s1", "door", "entrance", start_ns, 1, 1),  # older value: ignored
        LineRecord("s1", "door", "entrance", later_ns, 2, 0),  # only in InfluxDB: applied
    ]
    assert book.seed(stored) == 1
    assert book.snapshots(NOW)[0].entries_today == 6


def test_unconfigured_store_uses_the_default_time_zone() -> None:
    book = OccupancyBook(AggregatorConfig(default_timezone="Asia/Tokyo"), NOW)
    tracker = book.tracker("elsewhere")
    assert tracker.calendar.zone == ZoneInfo("Asia/Tokyo")
    assert tracker.business_day == date(2024, 5, 1)  # 21:00 in Tokyo


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_any_arrival_order_with_duplicates_gives_the_same_figures(
    counts: list[tuple[int, int]], seed: int
) -> None:
    messages = [
        message(minute % 30, entries, exits, camera=f"cam{minute // 30}", sequence=minute)
        for minute, (entries, exits) in enumerate(counts)
    ]
    ordered = OccupancyBook(config(cameras=[]), NOW)
    for one in messages:
        ordered.apply_message(one)
    shuffled_book = OccupancyBook(config(cameras=[]), NOW)
    deliveries = messages + random.Random(seed).sample(messages, len(messages) // 2)
    random.Random(seed + 1).shuffle(deliveries)
    for one in deliveries:
        shuffled_book.apply_message(one)
    assert ordered.snapshots(NOW) == shuffled_book.snapshots(NOW)


def test_tracker_bounds_its_memory_to_one_day() -> None:
    tracker = StoreOccupancyTracker(config().stores[0], NOW)
    start_ns = tracker.day_start_ns
    for minute in range(24 * 60):
        tracker.set_counts("door", "entrance", start_ns + minute * 60 * 10**9, 1, 1)
    tracker.roll_over(NOW + timedelta(days=1))
    assert tracker.entries_today == 0
    assert not tracker.knows("door", "entrance", start_ns)
