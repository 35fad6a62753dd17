"""Edges of staff exclusion that make mutation (issue 17) found unpinned: a hold of zero
seconds (allowed: counted at once), every exclusion zone and every excluded crossing counted
(not only the last), a retirement of an unknown person among known ones, crossings of other
lines in the frame a held person is retired, crossings still held at shutdown, and a frame
whose person ids and points disagree (refused, not half read)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.counting.counters import Crossing, Direction
from edge.counting.geometry import Polygon
from edge.counting.roles import StaffExclusion

STOCKROOM = Polygon(((0, 0), (100, 0), (100, 300), (0, 300)))
OFFICE = Polygon(((0, 1700), (100, 1700), (100, 2000), (0, 2000)))
SHOP_FLOOR = (300.0, 1000.0)
NOBODY = np.zeros(0, dtype=np.int64)


def entry(person_id: int, line_id: str = "door") -> Crossing:
    return Crossing(line_id, person_id, Direction.ENTRY)


def test_a_hold_of_zero_seconds_counts_at_once_and_a_negative_one_is_refused() -> None:
    exclusion = StaffExclusion([STOCKROOM], ["door"], hold_seconds=0.0)
    assert exclusion.filter(5.0, np.array([7]), np.array([SHOP_FLOOR]), [entry(7)]) == [entry(7)]
    with pytest.raises(ValueError, match=r"hold_seconds must be >= 0, got -0.5"):
        StaffExclusion([STOCKROOM], ["door"], hold_seconds=-0.5)


def test_people_starting_in_either_zone_are_all_excluded() -> None:
    """Person 1 starts in the stockroom (the first zone), person 2 in the office (the
    second), person 3 on the shop floor; each crosses the door twice."""
    exclusion = StaffExclusion([STOCKROOM, OFFICE], ["door"])
    ids = np.array([1, 2, 3])
    assert (
        exclusion.filter(0.0, ids, np.array([(50.0, 150.0), (50.0, 1800.0), SHOP_FLOOR]), []) == []
    )
    crossings = [entry(1), entry(2), entry(3)]
    assert exclusion.filter(1.0, ids, np.array([SHOP_FLOOR] * 3), crossings) == []
    assert exclusion.excluded == 2
    assert exclusion.filter(2.0, ids, np.array([SHOP_FLOOR] * 3), crossings) == []
    assert exclusion.excluded == 4
    assert exclusion.filter(31.0, ids, np.array([SHOP_FLOOR] * 3), []) == [entry(3)]
    assert exclusion.filter(32.0, ids, np.array([SHOP_FLOOR] * 3), []) == [entry(3)]


def test_retiring_an_unknown_person_does_not_stop_the_others() -> None:
    exclusion = StaffExclusion([STOCKROOM], ["door"])
    assert exclusion.filter(0.0, np.array([8]), np.array([SHOP_FLOOR]), [entry(8)]) == []
    assert exclusion.filter(1.0, NOBODY, np.zeros((0, 2)), [], [99, 8]) == [entry(8)]
    assert exclusion.tracked_count == 0


def test_a_retirement_keeps_the_frames_other_crossings() -> None:
    exclusion = StaffExclusion([STOCKROOM], ["door"])
    assert exclusion.filter(0.0, np.array([8]), np.array([SHOP_FLOOR]), [entry(8)]) == []
    street = entry(9, "street")
    counted = exclusion.filter(1.0, np.array([9]), np.array([SHOP_FLOOR]), [street], [8])
    assert counted == [street, entry(8)]


def test_shutdown_counts_every_held_crossing() -> None:
    exclusion = StaffExclusion([STOCKROOM], ["door"])
    ids = np.array([4, 5])
    points = np.array([SHOP_FLOOR, SHOP_FLOOR])
    assert exclusion.filter(0.0, ids, points, [entry(4), entry(5)]) == []
    assert exclusion.filter(1.0, ids, points, [entry(4)]) == []
    assert exclusion.flush() == [entry(4), entry(4), entry(5)]
    assert exclusion.flush() == []
    assert exclusion.excluded == 0


def test_a_frame_whose_ids_and_points_disagree_is_refused() -> None:
    exclusion = StaffExclusion([STOCKROOM], ["door"])
    with pytest.raises(ValueError, match="zip"):
        exclusion.filter(0.0, np.array([1, 2]), np.array([SHOP_FLOOR]), [])
