"""Edges of the line and zone geometry that make mutation (issue 17) found unpinned: the
1 px limits of a line and of a polygon's area (exactly 1 is accepted), the inside point's
distance measured from a line that does not pass through the origin, a crossing met exactly
``tolerance_px`` beyond either end of the segment, a crossing judged where the movement meets
the line (not where it starts), a batch mixing movements that do and do not change side, and
a zone tested at the height of one of its vertices (the half-open rule counts it once)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.counting.geometry import DirectedLine, Polygon


def test_a_line_one_pixel_long_with_inside_one_pixel_away_is_accepted() -> None:
    line = DirectedLine(start=(0, 0), end=(1, 0), inside=(0, 1))
    assert line.length == 1.0
    assert line.signed_distance(np.array([[0.0, 1.0], [5.0, -3.0]])).tolist() == [1.0, -3.0]


def test_the_inside_point_is_measured_from_the_line_itself() -> None:
    """A diagonal line away from the origin: an inside point on it, or half a pixel from it,
    is refused; one 1.5 px from it is accepted."""
    with pytest.raises(ValueError, match="lies on the line"):
        DirectedLine(start=(100, 0), end=(110, 10), inside=(105, 5))
    with pytest.raises(ValueError, match="lies on the line"):
        DirectedLine(start=(100, 0), end=(110, 0), inside=(105, 0.5))
    line = DirectedLine(start=(100, 0), end=(110, 0), inside=(105, 1.5))
    assert line.signed_distance(np.array([[105.0, 1.5]])).tolist() == [1.5]


def test_crossings_at_the_tolerance_beyond_either_end_count() -> None:
    """A line from x = 0 to x = 10 (inside: y > 0), 2 px of tolerance."""
    line = DirectedLine(start=(0, 0), end=(10, 0), inside=(0, 5))
    movements = [
        ((-2.0, -1.0), (-2.0, 1.0), True),  # meets the line 2 px before its start
        ((12.0, -1.0), (12.0, 1.0), True),  # 2 px past its end
        ((1.0, 1.0), (1.0, -1.0), True),  # 1 px in from the start, the other way
        ((-20.0, -5.0), (20.0, 5.0), True),  # starts far out, meets the line at x = 0
        ((5.0, 1.0), (5.0, 3.0), False),  # stays on one side
        ((-2.5, -1.0), (-2.5, 1.0), False),  # 2.5 px before the start
        ((12.5, -1.0), (12.5, 1.0), False),  # 2.5 px past the end
        ((-30.0, -5.0), (-10.0, 5.0), False),  # meets the line at x = -20
    ]
    before = np.array([movement[0] for movement in movements])
    after = np.array([movement[1] for movement in movements])
    result = line.crossing_within_segment(before, after, tolerance_px=2.0)
    assert result.tolist() == [movement[2] for movement in movements]


def test_a_polygon_of_exactly_one_square_pixel_is_accepted() -> None:
    assert Polygon(((0, 0), (2, 0), (0, 1))).area == 1.0
    square = Polygon(((0, 0), (1, 0), (1, 1), (0, 1)))
    assert square.contains(np.array([[0.5, 0.5], [1.5, 0.5]])).tolist() == [True, False]
    with pytest.raises(ValueError, match=r"polygon \(\(0, 0\), \(1, 0\), \(0, 1\)\) has no area"):
        Polygon(((0, 0), (1, 0), (0, 1)))


def test_points_at_the_height_of_a_vertex() -> None:
    """A diamond with vertices at (0, 5) and (10, 5): points on the row y = 5 between them
    are inside, beyond them outside (the ray from each passes through a vertex)."""
    diamond = Polygon(((0, 5), (5, 0), (10, 5), (5, 10)))
    points = np.array([[2.0, 5.0], [8.0, 5.0], [12.0, 5.0], [-1.0, 5.0], [5.0, 9.0]])
    assert diamond.contains(points).tolist() == [True, True, False, False, True]
