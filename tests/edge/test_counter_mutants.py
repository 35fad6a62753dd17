"""LineCounter edges pinned from make mutation's survivors (issue 17): a point exactly on the
band's edge is inside the band, the defaults (no person-scaled band, no swap pairing), margins
of 0 and below 1 px, a person-scaled band of a whole height and without heights, an
unreliable point skipping only its own track, and the exact crossings a paired swap yields
(which id, which direction).

The door is a vertical line at x = 100 (y 0 to 200) with the store on the left: a positive
signed distance is inside, so distances are exact.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from edge.counting.counters import Crossing, Direction, LineCounter
from edge.counting.geometry import DirectedLine

VERTICAL = DirectedLine(start=(100, 0), end=(100, 200), inside=(50, 100))
E, X = Direction.ENTRY, Direction.EXIT


def directions(counter: LineCounter, xs: list[float], height: float | None = None) -> list[str]:
    """One track (id 7) at y = 100 through the given x; its crossings' directions."""
    found: list[str] = []
    for x in xs:
        heights = None if height is None else np.array([height])
        crossings = counter.trigger(np.array([7]), np.array([[x, 100.0]]), heights)
        found += [crossing.direction for crossing in crossings]
    return found


@pytest.mark.parametrize(
    ("xs", "expected"),
    [
        ([150.0, 95.0, 150.0], []),  # to the inside edge of the 5 px band and back
        ([50.0, 105.0, 50.0], []),  # to the outside edge and back
        ([150.0, 94.5, 150.0], [E, X]),  # 0.5 px past the inside edge: in and out
        ([50.0, 105.5, 50.0], [X, E]),
    ],
)
def test_a_point_on_the_band_edge_is_inside_the_band(xs: list[float], expected: list[str]) -> None:
    assert directions(LineCounter("door", VERTICAL, margin_px=5), xs) == expected


def test_by_default_the_band_is_the_margin_even_with_heights() -> None:
    """No band_height_fraction: a 100 px person 20 px past the line has crossed a 5 px band."""
    counter = LineCounter("door", VERTICAL, margin_px=5)
    assert directions(counter, [150.0, 80.0], height=100.0) == [E]


@pytest.mark.parametrize(
    ("xs", "expected"),
    [
        ([150.0, 50.0], []),  # 50 px either side: within a band of one 100 px height
        ([250.0, -50.0], [E]),
    ],
)
def test_a_band_of_a_whole_height(xs: list[float], expected: list[str]) -> None:
    counter = LineCounter("door", VERTICAL, margin_px=5, band_height_fraction=1.0)
    assert directions(counter, xs, height=100.0) == expected


def test_a_person_scaled_band_without_heights_is_the_margin() -> None:
    counter = LineCounter("door", VERTICAL, margin_px=5, band_height_fraction=0.5)
    assert counter.bands_px(None, 2).tolist() == [5.0, 5.0]
    assert directions(counter, [150.0, 94.0]) == [E]


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margins_below_one_pixel_are_allowed(margin: float) -> None:
    counter = LineCounter("door", VERTICAL, margin_px=margin)
    assert directions(counter, [101.0, 99.0, 101.0]) == [E, X]


def test_rejects_a_negative_band_height_fraction_by_name() -> None:
    message = "'door': band_height_fraction must be >= 0, got -0.1"
    with pytest.raises(ValueError, match=re.escape(message)):
        LineCounter("door", VERTICAL, margin_px=5, band_height_fraction=-0.1)


def test_an_unreliable_point_skips_only_its_own_track() -> None:
    counter = LineCounter("door", VERTICAL, margin_px=5)
    ids = np.array([1, 2])
    counter.trigger(ids, np.array([[150.0, 10.0], [150.0, 50.0]]))
    crossings = counter.trigger(
        ids, np.array([[50.0, 10.0], [50.0, 50.0]]), reliable=np.array([False, True])
    )
    assert crossings == [Crossing("door", 2, E)]


def swapped_ids(counter: LineCounter) -> list[Crossing]:
    """Id 1 comes from the outside (right) to 1 px before the line, id 2 from the inside to
    1 px before it, 10 px apart along it, and each turns back (the tracker swapped them): 100
    px people, band 8 px."""
    path_1 = [150.0, 104.0, 101.0, 150.0]
    path_2 = [50.0, 96.0, 99.0, 50.0]
    found: list[Crossing] = []
    for step, (x_1, x_2) in enumerate(zip(path_1, path_2, strict=True)):
        found += counter.trigger(
            np.array([1, 2]),
            np.array([[x_1, 100.0], [x_2, 110.0]]),
            np.array([100.0, 100.0]),
            timestamp_seconds=10.0 + step / 10,
        )
    return found


def test_a_swap_counts_the_crossings_the_people_made() -> None:
    """Id 2 turned back inside: its person went out; id 1 turned back outside: its person
    came in."""
    counter = LineCounter("door", VERTICAL, 5, band_height_fraction=0.08, pair_swaps=True)
    assert swapped_ids(counter) == [Crossing("door", 2, X), Crossing("door", 1, E)]


def test_swaps_are_not_paired_by_default() -> None:
    assert swapped_ids(LineCounter("door", VERTICAL, 5, band_height_fraction=0.08)) == []
    counter = LineCounter("door", VERTICAL, 5, band_height_fraction=0.08, pair_swaps=False)
    assert swapped_ids(counter) == []
