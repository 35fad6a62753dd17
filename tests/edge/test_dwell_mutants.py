"""Edges of zone dwell found by ``make mutation`` (issue 17), pinned on ``ZoneDwell`` directly:
a stay ends by the gap alone (no retirement needed) only once the gap is exceeded, not reached;
a person outside the zone does not stop the frame's other people from being counted; flush
ends every open stay; a gap of 0 is allowed (any frame outside ends the stay) and a negative
one is refused by name; person ids and points must pair up."""

from __future__ import annotations

import numpy as np
import pytest

from edge.counting.dwell import ZoneDwell
from edge.counting.geometry import Polygon

SQUARE = Polygon(((0, 0), (10, 0), (10, 10), (0, 10)))
INSIDE = (5.0, 5.0)
OUTSIDE = (50.0, 50.0)


def frame(zone: ZoneDwell, seconds: float, people: dict[int, tuple[float, float]]) -> list[float]:
    ids = np.array(list(people), dtype=np.int64)
    points = np.array(list(people.values()), dtype=np.float64).reshape(-1, 2)
    return zone.update(seconds, ids, points)


def test_a_stay_ends_once_the_gap_is_exceeded_without_a_retirement() -> None:
    zone = ZoneDwell("till", SQUARE)  # gap 2 s
    assert frame(zone, 0.0, {1: INSIDE}) == []
    assert frame(zone, 1.0, {1: INSIDE}) == []
    assert frame(zone, 3.0, {1: OUTSIDE}) == []  # 2 s since last inside: not more than 2
    assert frame(zone, 4.0, {1: INSIDE}) == []  # the same stay goes on
    assert frame(zone, 6.5, {}) == [4.0]  # 2.5 s unseen: ended, 0 to 4 s
    assert zone.tracked_count == 0


def test_someone_outside_does_not_hide_the_others_in_the_frame() -> None:
    zone = ZoneDwell("till", SQUARE)
    for seconds in (0.0, 1.0, 2.0):
        assert frame(zone, seconds, {1: OUTSIDE, 2: INSIDE, 3: OUTSIDE, 4: INSIDE}) == []
    assert zone.tracked_count == 2
    assert frame(zone, 3.0, {1: OUTSIDE, 2: INSIDE}) == []
    assert zone.flush() == [3.0, 2.0]
    assert zone.tracked_count == 0
    assert zone.flush() == []


def test_a_gap_of_zero_ends_a_stay_at_the_first_frame_outside() -> None:
    zone = ZoneDwell("till", SQUARE, gap_seconds=0.0)
    assert frame(zone, 0.0, {1: INSIDE}) == []
    assert frame(zone, 0.5, {1: INSIDE}) == []
    assert frame(zone, 1.0, {1: OUTSIDE}) == [0.5]
    assert ZoneDwell("till", SQUARE, gap_seconds=0.5).gap_seconds == 0.5


def test_a_negative_gap_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"zone 'till': gap_seconds must be >= 0, got -1.0"):
        ZoneDwell("till", SQUARE, gap_seconds=-1.0)


def test_person_ids_and_points_must_pair_up() -> None:
    zone = ZoneDwell("till", SQUARE)
    with pytest.raises(ValueError, match="zip"):
        zone.update(0.0, np.array([1, 2], dtype=np.int64), np.array([INSIDE]))
    with pytest.raises(ValueError, match="zip"):
        zone.update(0.0, np.array([1], dtype=np.int64), np.array([INSIDE, INSIDE]))
