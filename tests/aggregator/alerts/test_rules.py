"""The alert state machine on tables: what each sequence of observations publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.alerts.rules import (
    AlertBook,
    AlertKey,
    Observation,
    camera_observation,
    capacity_observation,
)
from aggregator.api.models import EntranceCamera
from protocol.alerts import AlertEvent
from tests.aggregator.api.support import occupancy_message

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def run(observations: list[Observation]) -> list[tuple[int, str]]:
    """(index of the observation, fired|cleared) for every event the book published."""
    book = AlertBook()
    events = [(index, book.observe(observation)) for index, observation in enumerate(observations)]
    return [(index, event.state) for index, event in events if event is not None]


@pytest.mark.parametrize(
    ("occupancies", "expected"),
    [
        # capacity 10, clear margin 2: fires above 10, clears at 8 or below
        ([5, 9, 10], []),  # at capacity is not over
        ([10, 11, 12, 11, 10, 9], [(1, "fired")]),  # still firing above the clear level
        ([11, 8], [(0, "fired"), (1, "cleared")]),
        ([11, 9, 11, 8, 11], [(0, "fired"), (3, "cleared"), (4, "fired")]),  # hysteresis
        ([11, 10, 11, 10, 11], [(0, "fired")]),  # a busy door at the limit fires once
        ([12, 0], [(0, "fired"), (1, "cleared")]),  # the daily reset clears it
        ([8, 8, 8], []),  # nothing fired, nothing to clear
    ],
)
def test_capacity_hysteresis(occupancies: list[int], expected: list[tuple[int, str]]) -> None:
    observations = [
        capacity_observation(
            occupancy_message("shop-1", count, capacity=10), 2, START + timedelta(seconds=i)
        )
        for i, count in enumerate(occupancies)
    ]
    assert run(observations) == expected


def test_capacity_event_carries_the_numbers() -> None:
    book = AlertBook()
    fired = book.observe(
        capacity_observation(occupancy_message("shop-1", 13, capacity=10), 2, START)
    )
    later = START + timedelta(minutes=5)
    cleared = book.observe(
        capacity_observation(occupancy_message("shop-1", 7, capacity=10), 2, later)
    )
    assert fired is not None
    assert cleared is not None
    assert (fired.kind, fired.state, fired.store_id, fired.camera_id) == (
        "over_capacity",
        "fired",
        "shop-1",
        None,
    )
    assert fired.values == {"occupancy": 13, "capacity": 10, "clear_at": 8}
    assert fired.message == "shop-1: 13 people inside, capacity 10"
    assert (cleared.time_utc, cleared.fired_utc, cleared.values["occupancy"]) == (later, START, 7)


def test_removing_the_capacity_clears() -> None:
    book = AlertBook()
    assert book.observe(capacity_observation(occupancy_message("s", 11, capacity=10), 0, START))
    event = book.observe(capacity_observation(occupancy_message("s", 11), 0, START))
    assert event is not None
    assert event.state == "cleared"


def camera(state: str) -> EntranceCamera:
    return EntranceCamera.model_validate(
        {
            "camera_id": "door",
            "state": state,
            "last_report_utc": None if state == "unknown" else START,
            "reason": None if state == "counting" else f"door is {state}",
        }
    )


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["counting", "offline", "offline", "counting"], [(1, "fired"), (3, "cleared")]),
        (["counting", "silent", "offline", "silent"], [(1, "fired")]),  # one outage, one alert
        (["unknown", "unknown"], []),  # never reported: maybe not installed yet
        (["offline", "no_video", "counting"], [(0, "fired"), (2, "cleared")]),  # not yet counting
        (["no_video", "counting"], []),  # its device is online: not "offline"
    ],
)
def test_camera_offline(states: list[str], expected: list[tuple[int, str]]) -> None:
    observations = [
        camera_observation("shop-1", camera(state), 90.0, START + timedelta(seconds=i))
        for i, state in enumerate(states)
    ]
    assert run(observations) == expected


def test_camera_event_names_the_camera() -> None:
    event = AlertBook().observe(camera_observation("shop-1", camera("silent"), 90.0, START))
    assert event is not None
    assert (event.kind, event.camera_id, event.values["state"]) == (
        "camera_offline",
        "door",
        "silent",
    )
    assert event.message == "shop-1: door is silent"


def test_alerts_are_independent_per_key() -> None:
    book = AlertBook()
    first = Observation(AlertKey("visits_low", "a"), START, True, False, "a low")
    second = Observation(AlertKey("visits_low", "b"), START, True, False, "b low")
    assert [book.observe(o) is not None for o in (first, second, first, second)] == [
        True,
        True,
        False,
        False,
    ]
    assert book.firing() == [AlertKey("visits_low", "a"), AlertKey("visits_low", "b")]


def test_resume_from_retained_events() -> None:
    """After a restart the retained "fired" event makes the alert firing without a second
    "fired"; its clearing is announced with the original fired time."""
    book = AlertBook()
    earlier = START - timedelta(hours=1)
    book.resume(
        AlertEvent(
            kind="over_capacity",
            state="fired",
            store_id="shop-1",
            time_utc=earlier,
            fired_utc=earlier,
            message="x",
        )
    )
    still = capacity_observation(occupancy_message("shop-1", 12, capacity=10), 2, START)
    assert book.observe(still) is None
    over = capacity_observation(occupancy_message("shop-1", 3, capacity=10), 2, START)
    cleared = book.observe(over)
    assert cleared is not None
    assert (cleared.state, cleared.fired_utc) == ("cleared", earlier)


def test_observation_cannot_fire_and_clear() -> None:
    with pytest.raises(ValueError, match="cannot both fire and clear"):
        Observation(AlertKey("visits_low", "a"), START, True, True, "?")


def test_camera_alert_needs_a_camera() -> None:
    with pytest.raises(ValueError, match="camera_id is required for camera_offline"):
        AlertEvent(
            kind="camera_offline",
            state="fired",
            store_id="s",
            time_utc=START,
            fired_utc=START,
            message="x",
        )
