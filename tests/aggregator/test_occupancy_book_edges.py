"""Occupancy edges found by the second ``make mutation`` run (issue 17): the business day of a
store whose clocks fall back across its midnight reset, the residual kept only across one
night, which lines of a version 2 interval move occupancy, live crossings that are distinct
although they share a frame or a sequence number, the skew tolerance of live crossings, and
a store marked changed (so its occupancy is published) exactly when a figure changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aggregator.config import AggregatorConfig
from aggregator.ingest.occupancy import (
    LIVE_GRACE_SECONDS,
    BusinessCalendar,
    OccupancyBook,
    StoreOccupancyTracker,
)
from protocol.messages import CountInterval, LineCount, LineRole, LiveCrossing
from tests.aggregator.test_live_occupancy import NOW, config, figures, interval, live, start_of
from tests.aggregator.test_occupancy_edges import RESET, registry, today
from tests.aggregator.test_occupancy_edges import interval as interval_at


def test_a_midnight_reset_on_a_night_the_clocks_fall_back_at_midnight() -> None:
    """St John's (before 2011) fell back at 00:01 to 23:01: after midnight's reset the local
    date is the previous one again for an hour, but the business day is the new one."""
    store = AggregatorConfig.model_validate(
        {
            "stores": [
                {"id": "nl", "timezone": "America/St_Johns", "daily_reset_local_time": "00:00"}
            ]
        }
    ).stores[0]
    calendar = BusinessCalendar(store.zone, store.daily_reset_local_time)
    reset = datetime(2010, 11, 7, 2, 30, tzinfo=UTC)  # 00:00 NDT
    assert calendar.reset_utc(date(2010, 11, 7)) == reset
    assert calendar.business_day(reset - timedelta(seconds=1)) == date(2010, 11, 6)
    assert calendar.business_day(reset) == date(2010, 11, 7)
    again = reset + timedelta(minutes=15)  # 23:16 NST on 6 November, after the reset
    assert again.astimezone(store.zone).date() == date(2010, 11, 6)
    assert calendar.business_day(again) == date(2010, 11, 7)
    assert calendar.business_day(reset + timedelta(hours=23, minutes=59)) == date(2010, 11, 7)
    tracker = StoreOccupancyTracker(store, again)
    assert (tracker.business_day, tracker.day_start_ns) == (
        date(2010, 11, 7),
        reset.timestamp() * 10**9,
    )


@pytest.mark.parametrize(("days", "residual"), [(1, 3), (2, 0)])
def test_the_residual_is_the_occupancy_left_at_the_reset_only_after_one_night(
    days: int, residual: int
) -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    book.apply_message(interval_at(RESET + timedelta(hours=1), {"entrance": (5, 2)}))
    assert today(book) == (3, 5, 2)
    book.take_changed(RESET)
    book.roll_over(RESET + timedelta(hours=2))  # the same business day: nothing changes
    assert book.take_changed(RESET) == []
    book.roll_over(RESET + timedelta(days=days, hours=1))
    (snapshot,) = book.take_changed(RESET + timedelta(days=days, hours=1))
    assert snapshot.business_day == date(2024, 5, 1) + timedelta(days=days)
    assert (snapshot.occupancy, snapshot.entries_today, snapshot.reset_residual) == (0, 0, residual)


def test_a_new_tracker_starts_with_nothing_and_a_restored_residual_applies_to_today_only() -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    (snapshot,) = book.snapshots(RESET + timedelta(hours=1))
    assert (snapshot.occupancy, snapshot.drift, snapshot.reset_residual) == (0, 0, 0)
    book.take_changed(RESET)
    book.set_reset_residual("s1", date(2024, 4, 30), 9)  # yesterday's: not today's figure
    assert book.take_changed(RESET) == []
    book.set_reset_residual("s1", date(2024, 5, 1), 4)
    (changed,) = book.take_changed(RESET)
    assert changed.reset_residual == 4


def test_a_store_first_heard_of_after_a_reset_starts_on_the_new_day() -> None:
    """A store missing from the registry gets its tracker when it first sends counts, on the
    business day of the book's latest clock, not the day the book was made."""
    book = OccupancyBook(AggregatorConfig.model_validate({}), RESET + timedelta(hours=1))
    book.roll_over(RESET + timedelta(days=1, hours=1))
    message = interval_at(RESET + timedelta(days=1, minutes=5), {"entrance": (2, 0)})
    assert len(book.apply_message(message.model_copy(update={"store_id": "new"}))) == 1
    (snapshot,) = book.snapshots(RESET + timedelta(days=1, hours=1))
    assert (snapshot.store_id, snapshot.business_day, snapshot.occupancy) == (
        "new",
        date(2024, 5, 2),
        2,
    )


def version_2(lines: dict[str, tuple[int, int, LineRole]]) -> CountInterval:
    message = interval_at(RESET + timedelta(minutes=5), {})
    return message.model_copy(
        update={
            "schema_version": 2,
            "lines": {
                line_id: LineCount(entries=entries, exits=exits, role=role)
                for line_id, (entries, exits, role) in lines.items()
            },
        }
    )


def test_entrances_and_staff_doors_of_a_version_2_interval_move_occupancy() -> None:
    """The registry lists ``entrance`` and ``side``. The edge's roles decide, except that
    the registry narrows entrances: ``aisle``, an entrance it does not list, is internal;
    ``side``, listed but internal at the edge, is internal; a staff door moves occupancy."""
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    changed = book.apply_message(
        version_2(
            {
                "entrance": (4, 1, LineRole.ENTRANCE),
                "side": (9, 0, LineRole.INTERNAL),
                "stock": (2, 3, LineRole.STAFF),
                "street": (20, 20, LineRole.PASSING),
                "aisle": (5, 0, LineRole.ENTRANCE),
            }
        )
    )
    assert sorted((r.line_id, r.entries, r.exits) for r in changed) == [
        ("entrance", 4, 1),
        ("stock", 2, 3),
    ]
    assert today(book)[0] == 2


def test_the_same_interval_again_changes_nothing_and_publishes_nothing() -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    message = interval_at(RESET + timedelta(minutes=5), {"entrance": (4, 1)})
    assert len(book.apply_message(message)) == 1
    book.take_changed(RESET)
    assert book.apply_message(message) == []
    assert book.take_changed(RESET) == []
    assert today(book) == (3, 4, 1)


def test_live_crossings_of_other_days_and_other_lines_count_nothing() -> None:
    book = OccupancyBook(config(), NOW)
    assert not book.apply_live(live(-61, 0))  # interval 03:59, yesterday's business day
    assert not book.apply_live(live(24 * 60 - 60, 1))  # interval at the next reset
    assert not book.apply_live(live(0, 2, line="corridor"))  # not an entrance
    assert book.apply_live(live(-60, 3))  # interval starting at the reset: today
    assert figures(book) == (1, 1, 0, 1, 0)


@pytest.mark.parametrize(
    ("sequence", "seconds", "line"),
    [(1, 0, "door"), (0, 5, "door"), (0, 0, "side")],
    ids=["two people in one frame", "a number used again by a restarted worker", "other line"],
)
def test_distinct_live_crossings_both_count_and_a_repeat_once(
    sequence: int, seconds: int, line: str
) -> None:
    book = OccupancyBook(config(), NOW)

    def crossing(sequence: int, seconds: int, line: str) -> LiveCrossing:
        made = live(0, sequence, line=line)
        return made.model_copy(update={"time_utc": start_of(0) + timedelta(seconds=seconds)})

    one, other = crossing(0, 0, "door"), crossing(sequence, seconds, line)
    for message in (one, other, one, other):
        book.apply_live(message)
    assert figures(book) == (2, 2, 0, 2, 0)


def test_a_live_crossing_is_refused_only_beyond_the_skew_tolerance() -> None:
    """The tolerance is 300 s (default): an interval ending that far after the crossing was
    received is kept, one ending a second later is not (its interval would be refused)."""
    book = OccupancyBook(config(), NOW)
    received = start_of(0) + timedelta(seconds=20)  # mid-interval: it ends in 40 s
    assert book.apply_live(live(0, 0), received)
    edge = start_of(1) - timedelta(seconds=300)
    assert book.apply_live(live(0, 1), edge)
    assert not book.apply_live(live(0, 2), edge - timedelta(seconds=1))
    assert figures(book) == (2, 2, 0, 2, 0)


def test_replica_records_update_the_store_and_are_returned_once() -> None:
    first, second = OccupancyBook(config(), NOW), OccupancyBook(config(), NOW)
    records = first.apply_message(interval(0, {"door": (3, 1)}))
    second.take_changed(NOW)
    received = NOW + timedelta(seconds=2, milliseconds=300)
    assert second.apply_records(records, received) == records
    (snapshot,) = second.take_changed(NOW)
    assert snapshot.last_update_utc == NOW + timedelta(seconds=2)
    assert second.apply_records(records, received + timedelta(milliseconds=500)) == []
    assert second.take_changed(NOW) == []  # same second, same counts: nothing to publish


def test_the_published_message_carries_every_figure() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_message(interval(0, {"door": (2, 5)}))  # 3 below zero: drift
    book.apply_live(live(1, 0))
    book.apply_live(live(1, 1, "exit"))
    book.apply_live(live(1, 2))
    (snapshot,) = book.snapshots(NOW)
    message = snapshot.to_message()
    assert (message.occupancy, message.entries_today, message.exits_today) == (1, 4, 6)
    assert (message.capacity, message.over_capacity, message.drift) == (50, False, 3)
    assert (message.provisional_entries, message.provisional_exits) == (2, 1)
    assert message.business_day == "2024-05-01"


def test_expired_live_crossings_publish_the_lower_occupancy() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_live(live(0, 0))
    book.take_changed(NOW)
    book.roll_over(start_of(1) + timedelta(seconds=LIVE_GRACE_SECONDS - 1))
    assert book.take_changed(NOW) == []  # nothing expired yet: nothing to publish
    book.roll_over(start_of(1) + timedelta(seconds=LIVE_GRACE_SECONDS + 1))
    (snapshot,) = book.take_changed(NOW)
    assert (snapshot.occupancy, snapshot.provisional_entries) == (0, 0)


def test_an_interval_of_another_day_or_a_repeated_crossing_changes_nothing() -> None:
    book = OccupancyBook(registry(), RESET + timedelta(hours=1))
    book.take_changed(RESET)
    yesterday = interval_at(RESET - timedelta(minutes=1), {"entrance": (50, 0)})
    assert book.apply_message(yesterday) == []
    assert book.take_changed(RESET) == []
    live_book = OccupancyBook(config(), NOW)
    assert live_book.apply_live(live(0, 0))
    live_book.take_changed(NOW)
    assert not live_book.apply_live(live(0, 0))  # the same crossing again
    assert live_book.take_changed(NOW) == []
    assert figures(live_book) == (1, 1, 0, 1, 0)
