"""Live crossings in occupancy: provisional at once, replaced by their interval, never twice,
never lost for good (issue 9, finding 1). Tables for each rule, then properties over random
streams with live crossings lost, duplicated, reordered and late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import AggregatorConfig
from aggregator.ingest.occupancy import LIVE_GRACE_SECONDS, OccupancyBook, StoreOccupancyTracker
from protocol.messages import CountInterval, LineCount, LiveCrossing

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DAY_START = NOW.replace(hour=5)
LINES = ("door", "side")


def config() -> AggregatorConfig:
    store = {
        "id": "s1",
        "daily_reset_local_time": "04:00",
        "capacity": 50,
        "cameras": [
            {"id": "cam", "entrance_lines": list(LINES)},
            {"id": "cam2", "entrance_lines": ["door"]},
        ],
    }
    return AggregatorConfig.model_validate({"stores": [store]})


def start_of(minute: int) -> datetime:
    return DAY_START + timedelta(minutes=minute)


def live(
    minute: int,
    sequence: int,
    direction: Literal["entry", "exit"] = "entry",
    *,
    line: str = "door",
    camera: str = "cam",
) -> LiveCrossing:
    start = start_of(minute)
    return LiveCrossing(
        store_id="s1",
        camera_id=camera,
        line_id=line,
        direction=direction,
        time_utc=start + timedelta(seconds=sequence % 60),
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        sequence=sequence,
    )


def interval(
    minute: int, counts: dict[str, tuple[int, int]], *, camera: str = "cam"
) -> CountInterval:
    start = start_of(minute)
    return CountInterval(
        store_id="s1",
        camera_id=camera,
        sequence=minute,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=60,
        lines={line: LineCount(entries=e, exits=x) for line, (e, x) in counts.items()},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def figures(book: OccupancyBook) -> tuple[int, int, int, int, int]:
    """occupancy, entries, exits, provisional entries, provisional exits."""
    snapshot = book.snapshots(NOW)[0]
    return (
        snapshot.occupancy,
        snapshot.entries_today,
        snapshot.exits_today,
        snapshot.provisional_entries,
        snapshot.provisional_exits,
    )


Step = LiveCrossing | CountInterval


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param([live(0, 0)], (1, 1, 0, 1, 0), id="live entry counts at once"),
        pytest.param(
            [live(0, 0), live(0, 1), live(0, 2, "exit")], (1, 2, 1, 2, 1), id="live in and out"
        ),
        pytest.param(
            [live(0, 0), interval(0, {"door": (1, 0), "side": (0, 0)})],
            (1, 1, 0, 0, 0),
            id="interval replaces its live crossing",
        ),
        pytest.param(
            [live(0, 0), interval(0, {"door": (3, 1), "side": (0, 0)})],
            (2, 3, 1, 0, 0),
            id="lost live crossings restored by the interval",
        ),
        pytest.param([live(0, 0), live(0, 0), live(0, 0)], (1, 1, 0, 1, 0), id="duplicates once"),
        pytest.param(
            [interval(0, {"door": (1, 0)}), live(0, 0), live(0, 1)],
            (1, 1, 0, 0, 0),
            id="late live crossings of a closed interval ignored",
        ),
        pytest.param(
            [live(0, 0), live(1, 0), interval(1, {"door": (1, 0)})],
            (1, 1, 0, 0, 0),
            id="a later interval drops the earlier lost one's live crossings",
        ),
        pytest.param(
            [live(0, 0), live(1, 0), interval(0, {"door": (1, 0)})],
            (2, 2, 0, 1, 0),
            id="the next interval's live crossings stay provisional",
        ),
        pytest.param(
            [live(0, 0, line="side"), interval(0, {"door": (0, 0)})],
            (0, 0, 0, 0, 0),
            id="an interval closes every line of its camera",
        ),
        pytest.param(
            [live(0, 0, camera="cam2"), interval(0, {"door": (0, 0)})],
            (1, 1, 0, 1, 0),
            id="another camera's live crossing stays",
        ),
        pytest.param(
            [live(0, 0, line="till", camera="cam2")], (0, 0, 0, 0, 0), id="not an entrance"
        ),
        pytest.param(
            [live(0, 0, "exit"), live(0, 1, "exit")], (0, 0, 2, 0, 2), id="clamped at zero"
        ),
        pytest.param(
            [interval(0, {"door": (2, 0)}), interval(0, {"door": (2, 0)}), live(1, 0)],
            (3, 3, 0, 1, 0),
            id="redelivered interval, then live",
        ),
    ],
)
def test_live_crossing_rules(steps: list[Step], expected: tuple[int, ...]) -> None:
    book = OccupancyBook(config(), NOW)
    for step in steps:
        if isinstance(step, LiveCrossing):
            book.apply_live(step, NOW)
        else:
            book.apply_message(step, NOW)
    assert figures(book) == expected


def test_unarrived_intervals_expire_after_the_grace_period() -> None:
    book = OccupancyBook(config(), NOW)
    book.apply_live(live(0, 0))
    end = start_of(1)
    book.roll_over(end + timedelta(seconds=LIVE_GRACE_SECONDS - 1))
    assert figures(book) == (1, 1, 0, 1, 0)
    book.roll_over(end + timedelta(seconds=LIVE_GRACE_SECONDS + 1))
    assert figures(book) == (0, 0, 0, 0, 0)
    book.apply_live(live(0, 1))  # forgotten interval: its late crossings stay out
    assert figures(book) == (0, 0, 0, 0, 0)
    book.apply_message(interval(0, {"door": (4, 0)}))  # its interval still counts in full
    assert figures(book) == (4, 4, 0, 0, 0)


def test_live_crossings_from_a_clock_far_ahead_are_ignored() -> None:
    book = OccupancyBook(config(), NOW)
    early = NOW - timedelta(minutes=30)  # the edge's clock runs 30 min ahead of this one
    assert not book.apply_live(live(60 * 7, 0), early)  # interval of 12:00 seen at 11:30
    assert book.apply_live(live(0, 0), NOW)
    assert figures(book) == (1, 1, 0, 1, 0)


def test_last_update_is_when_counts_last_arrived() -> None:
    book = OccupancyBook(config(), NOW)
    assert book.snapshots(NOW)[0].last_update_utc is None
    book.take_changed(NOW)
    book.apply_live(live(0, 0), NOW + timedelta(seconds=3.7))
    book.apply_message(interval(0, {"door": (1, 0)}), NOW + timedelta(seconds=2))
    (changed,) = book.take_changed(NOW)
    assert changed.last_update_utc == NOW + timedelta(seconds=3)
    book.apply_message(interval(0, {"door": (1, 0)}), NOW + timedelta(seconds=9))
    assert [s.last_update_utc for s in book.take_changed(NOW)] == [NOW + timedelta(seconds=9)]
    message = book.snapshots(NOW)[0].to_message()
    assert message.last_update_utc == NOW + timedelta(seconds=9)


def test_replica_records_replace_live_crossings_and_are_not_shared_provisionally() -> None:
    first, second = OccupancyBook(config(), NOW), OccupancyBook(config(), NOW)
    for book in (first, second):  # every replica takes every live crossing
        book.apply_live(live(0, 0))
        book.apply_live(live(0, 1))
    records = first.apply_message(interval(0, {"door": (3, 0), "side": (0, 0)}))
    assert first.records() == records  # what a replica shares: interval counts only
    second.apply_records(records)
    assert figures(first) == figures(second) == (3, 3, 0, 0, 0)


# -- properties ------------------------------------------------------------------------------

crossing_stream = st.lists(
    st.tuples(
        st.integers(0, 5),  # minute
        st.sampled_from(["cam", "cam2"]),
        st.sampled_from(LINES),
        st.sampled_from(["entry", "exit"]),
    ),
    max_size=40,
)


def truth(
    crossings: list[tuple[int, str, str, str]],
) -> tuple[dict[tuple[str, int], list[LiveCrossing]], list[CountInterval]]:
    """The live crossings each camera-interval produced and its count intervals."""
    live_by_interval: dict[tuple[str, int], list[LiveCrossing]] = {}
    for minute, camera, drawn_line, direction in crossings:
        line = "door" if camera == "cam2" else drawn_line
        events = live_by_interval.setdefault((camera, minute), [])
        events.append(
            live(minute, len(events), direction, line=line, camera=camera)  # type: ignore[arg-type]
        )
    intervals = []
    for (camera, minute), events in sorted(live_by_interval.items()):
        counts = {line: [0, 0] for line in (LINES if camera == "cam" else ("door",))}
        for event in events:
            counts[event.line_id][event.direction == "exit"] += 1
        intervals.append(
            interval(minute, {k: (v[0], v[1]) for k, v in counts.items()}, camera=camera)
        )
    return live_by_interval, intervals


def intervals_only(intervals: list[CountInterval]) -> tuple[int, ...]:
    book = OccupancyBook(config(), NOW)
    for message in intervals:
        book.apply_message(message)
    return figures(book)


@settings(max_examples=300, deadline=None)
@given(crossing_stream, st.data())
def test_live_then_intervals_equals_intervals_alone(
    crossings: list[tuple[int, str, str, str]], data: st.DataObject
) -> None:
    """Live crossings lost, duplicated and shuffled, intervals arriving in camera order with
    late live crossings mixed in: the end state is exactly the intervals' totals."""
    live_by_interval, intervals = truth(crossings)
    delivered = [
        event
        for events in live_by_interval.values()
        for event in events
        for _ in range(data.draw(st.integers(0, 2)))  # lost, once or duplicated
    ]
    delivered = data.draw(st.permutations(delivered))
    book = OccupancyBook(config(), NOW)
    steps: list[Step] = [*delivered]
    for message in intervals:  # each interval after some of the live crossings
        steps.insert(data.draw(st.integers(0, len(steps))), message)
    cameras_in_order = {
        camera: [m for m in steps if isinstance(m, CountInterval) and m.camera_id == camera]
        for camera in ("cam", "cam2")
    }
    ordered = iter([*cameras_in_order["cam"]])
    ordered2 = iter([*cameras_in_order["cam2"]])
    for step in steps:
        if isinstance(step, LiveCrossing):
            book.apply_live(step)
        else:  # the edge publishes a camera's intervals in order
            book.apply_message(next(ordered if step.camera_id == "cam" else ordered2))
    assert figures(book) == intervals_only(intervals)


@settings(max_examples=200, deadline=None)
@given(crossing_stream, st.data())
def test_before_the_intervals_live_counts_each_distinct_crossing_once(
    crossings: list[tuple[int, str, str, str]], data: st.DataObject
) -> None:
    live_by_interval, intervals = truth(crossings)
    events = [event for group in live_by_interval.values() for event in group]
    kept = [event for event in events if data.draw(st.booleans())]
    delivered = data.draw(st.permutations(kept + kept[: data.draw(st.integers(0, len(kept)))]))
    tracker = StoreOccupancyTracker(config().store("s1"), NOW)
    for event in delivered:
        tracker.apply_live(event)
    entries = sum(event.direction == "entry" for event in kept)
    assert (tracker.entries_today, tracker.exits_today) == (entries, len(kept) - entries)
    assert tracker.ledger.provisional_entries == entries
    assert intervals_only(intervals)[1] == sum(e.direction == "entry" for e in events)
