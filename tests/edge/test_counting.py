"""LineCounter and ZoneCounter on scripted tracks: every rule of the hysteresis band."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.counting.counters import Direction, LineCounter, ZoneCounter
from edge.counting.geometry import DirectedLine, Polygon

VERTICAL = DirectedLine(start=(100, 0), end=(100, 200), inside=(50, 100))


def run_track(
    counter: LineCounter, path: list[tuple[float, float]], track_id: int = 7
) -> list[Direction]:
    directions: list[Direction] = []
    for point in path:
        crossings = counter.trigger(np.array([track_id]), np.array([point], dtype=np.float64))
        directions.extend(crossing.direction for crossing in crossings)
    return directions


E, X = Direction.ENTRY, Direction.EXIT


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # straight walk from outside (right) to inside (left): one entry
        ([(150, 100), (120, 100), (104, 100), (96, 100), (80, 100)], [E]),
        # the reverse: one exit
        ([(80, 100), (96, 100), (104, 100), (150, 100)], [X]),
        # lingering and jitter inside the ±5 px band: nothing
        ([(150, 100), (103, 100), (97, 100), (103, 100), (96, 100), (104, 100)], []),
        # U-turn inside the band: nothing
        ([(150, 100), (102, 100), (98, 100), (96, 100), (102, 100), (150, 100)], []),
        # in, then walking back out: an entry and an exit
        ([(150, 100), (90, 100), (60, 100), (110, 100), (150, 100)], [E, X]),
        # jump straight across the band in one frame
        ([(150, 100), (20, 100)], [E]),
        # passing beside the segment (below its end, y > 200 + margin): nothing
        ([(150, 260), (50, 260)], []),
        # starting inside the band then leaving on the same side: nothing
        ([(101, 100), (103, 100), (140, 100)], []),
        # crossing exactly at the end point within the margin tolerance counts
        ([(150, 203), (50, 203)], [E]),
        # three full crossings
        ([(150, 50), (50, 50), (150, 60), (50, 70)], [E, X, E]),
    ],
)
def test_vertical_line_paths(path: list[tuple[float, float]], expected: list[Direction]) -> None:
    assert run_track(LineCounter("door", VERTICAL, margin_px=5), path) == expected


@pytest.mark.parametrize("angle_degrees", [0, 17, 45, 90, 133, 180, 251, 315])
def test_direction_comes_from_the_normal_not_frame_axes(angle_degrees: float) -> None:
    """A line at any angle: walking along its normal toward ``inside`` is an entry."""
    angle = math.radians(angle_degrees)
    centre = np.array([400.0, 300.0])
    along = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-along[1], along[0]])
    line = DirectedLine(
        start=tuple(centre - 150 * along),
        end=tuple(centre + 150 * along),
        inside=tuple(centre + 80 * normal),
    )
    path = [tuple(centre - step * normal) for step in (60, 30, 10, -10, -30, -60)]
    assert run_track(LineCounter("l", line, 5), path) == [E]
    assert run_track(LineCounter("l", line, 5), list(reversed(path))) == [X]


def test_line_near_frame_edge() -> None:
    line = DirectedLine(start=(0, 2), end=(768, 2), inside=(384, 300))
    assert run_track(LineCounter("top", line, 1), [(300, -5), (300, 0), (300, 8), (300, 40)]) == [E]


def test_many_tracks_at_once_are_independent() -> None:
    counter = LineCounter("door", VERTICAL, 5)
    frames = [
        ([1, 2, 3], [(150, 10), (50, 20), (150, 30)]),
        ([1, 2, 3], [(120, 10), (80, 20), (103, 30)]),
        ([1, 2, 3], [(90, 10), (120, 20), (99, 30)]),
        ([1, 3], [(60, 10), (140, 30)]),
    ]
    events = []
    for ids, points in frames:
        events += counter.trigger(np.array(ids), np.array(points, dtype=np.float64))
    assert [(event.track_id, event.direction) for event in events] == [(1, E), (2, X)]
    assert counter.tracked_count == 3


def test_forget_bounds_state_and_a_new_track_starts_fresh() -> None:
    counter = LineCounter("door", VERTICAL, 5)
    for track_id in range(1000):
        counter.trigger(np.array([track_id]), np.array([[150.0, 10.0]]))
    assert counter.tracked_count == 1000
    counter.forget(range(999))
    assert counter.tracked_count == 1
    counter.forget([999, 12345])
    assert counter.tracked_count == 0
    # a forgotten id that reappears on the other side is a new track: no crossing
    assert run_track(counter, [(50, 10)], track_id=5) == []


def test_rejects_bad_lines() -> None:
    with pytest.raises(ValueError, match="shorter than 1 px"):
        DirectedLine(start=(1, 1), end=(1.2, 1.2), inside=(0, 50))
    with pytest.raises(ValueError, match="lies on the line"):
        DirectedLine(start=(0, 0), end=(100, 0), inside=(300, 0))
    with pytest.raises(ValueError, match="margin_px"):
        LineCounter("door", VERTICAL, -1)


def test_zone_counter_counts_points_inside_polygon() -> None:
    triangle = ZoneCounter("till", Polygon(((0, 0), (100, 0), (0, 100))))
    points = np.array([[10, 10], [60, 60], [49, 49], [-1, 5], [99, 0.5]], dtype=np.float64)
    assert triangle.trigger(points) == 3
    assert triangle.trigger(np.zeros((0, 2))) == 0
    with pytest.raises(ValueError, match="at least 3"):
        Polygon(((0, 0), (1, 1)))
