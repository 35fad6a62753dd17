"""SwapPairing edges pinned from make mutation's survivors (issue 17): a U-turn reaching exactly
half the band, a stay at the line of exactly the swap window, a remembered U-turn exactly the
window old, two stays that only touch in time, two U-turns exactly a person's height apart,
the deepest point of a stay along the line being its first, and U-turns from the same side
or of the same track never pairing.

Each U-turn is driven through ``extend`` / ``turned_back`` as LineCounter drives them, with
times and distances that meet every bound exactly in floating point.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.counting.swaps import SWAP_WINDOW_SECONDS, BandVisit, SwapPairing

BAND = 10.0
SIZE = 40.0


def u_turn(
    pairing: SwapPairing,
    track_id: int,
    side: int,
    entered: float,
    left: float,
    stops: list[tuple[float, float, float]],
) -> BandVisit | None:
    """A track from ``side`` in the band from ``entered`` to ``left`` at ``stops`` (x along
    the line, y, depth toward the other side in px, positive: not yet at the line); returns
    the partner ``turned_back`` pairs it with."""
    visit = None
    for x, y, depth in stops:
        visit = pairing.extend(
            visit,
            track_id,
            side,
            np.array([x, y]),
            signed_distance_px=side * depth,
            band_px=BAND,
            size_px=SIZE,
            timestamp_seconds=entered,
        )
    assert visit is not None
    return pairing.turned_back(visit, left)


def pair(
    first: tuple[int, int, float, float, float],
    second: tuple[int, int, float, float, float],
    gap_px: float = 0.0,
) -> tuple[BandVisit | None, int]:
    """Two U-turns (track, side, entered, left, depth), the second ``gap_px`` along the line
    from the first; its partner and how many U-turns are left remembered."""
    pairing = SwapPairing()
    track, side, entered, left, depth = first
    assert u_turn(pairing, track, side, entered, left, [(100.0, 0.0, depth)]) is None
    track, side, entered, left, depth = second
    partner = u_turn(pairing, track, side, entered, left, [(100.0 + gap_px, 0.0, depth)])
    return partner, pairing.remembered


def test_two_overlapping_u_turns_at_the_line_pair() -> None:
    partner, remembered = pair((1, 1, 0.0, 1.0, 0.0), (2, -1, 0.5, 1.2, -1.0))
    assert partner is not None
    assert (partner.track_id, partner.side, partner.left_seconds) == (1, 1, 1.0)
    assert remembered == 0


@pytest.mark.parametrize(("depth", "pairs"), [(5.0, True), (5.5, False), (3.0, True)])
def test_a_u_turn_reaching_half_the_band_is_one_half_of_a_swap(depth: float, pairs: bool) -> None:
    """Band 10 px: coming within 5 px of the line is reaching it; a U-turn that does not is
    not remembered either."""
    partner, remembered = pair((1, 1, 0.0, 1.0, depth), (2, -1, 0.5, 1.2, depth))
    assert (partner is not None) == pairs
    assert remembered == 0


@pytest.mark.parametrize(("left", "pairs"), [(2.5, True), (2.75, False)])
def test_a_stay_of_exactly_the_window_can_be_half_of_a_swap(left: float, pairs: bool) -> None:
    """The second stay lasts from 0.5 s to ``left``; the window is 2 s."""
    assert SWAP_WINDOW_SECONDS == 2.0
    partner, _ = pair((1, 1, 0.0, 0.5, 0.0), (2, -1, 0.5, left, 0.0))
    assert (partner is not None) == pairs


@pytest.mark.parametrize(("left", "pairs"), [(3.0, True), (3.25, False)])
def test_a_u_turn_exactly_the_window_old_is_remembered(left: float, pairs: bool) -> None:
    """The first U-turn left at 1 s; the second (1 s to ``left``) ends exactly 2 s later.
    Later, the first is dropped (and the second stayed too long to be remembered)."""
    partner, remembered = pair((1, 1, 0.0, 1.0, 0.0), (2, -1, 1.0, left, 0.0))
    assert (partner is not None) == pairs
    assert remembered == 0


@pytest.mark.parametrize(("entered", "pairs"), [(1.0, True), (1.25, False)])
def test_stays_that_touch_in_time_pair(entered: float, pairs: bool) -> None:
    """The first U-turn left at 1 s; the second entered the band at ``entered``."""
    partner, remembered = pair((1, 1, 0.0, 1.0, 0.0), (2, -1, entered, 2.0, 0.0))
    assert (partner is not None) == pairs
    assert remembered == (0 if pairs else 2)


@pytest.mark.parametrize(("gap", "pairs"), [(SIZE, True), (SIZE + 0.5, False)])
def test_u_turns_exactly_a_height_apart_pair(gap: float, pairs: bool) -> None:
    partner, _ = pair((1, 1, 0.0, 1.0, 0.0), (2, -1, 0.5, 1.2, 0.0), gap_px=gap)
    assert (partner is not None) == pairs


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((1, 1, 0.0, 1.0, 0.0), (2, 1, 0.5, 1.2, 0.0)),  # both from the inside
        ((1, -1, 0.0, 1.0, 0.0), (2, -1, 0.5, 1.2, 0.0)),  # both from the outside
        ((1, 1, 0.0, 1.0, 0.0), (1, -1, 0.5, 1.2, 0.0)),  # one track, both sides
    ],
)
def test_u_turns_from_one_side_or_of_one_track_do_not_pair(
    first: tuple[int, int, float, float, float], second: tuple[int, int, float, float, float]
) -> None:
    partner, remembered = pair(first, second)
    assert partner is None
    assert remembered == 2


def test_the_deepest_point_of_a_stay_along_the_line_is_the_first() -> None:
    """Track 1 reaches the line at y = 0 and walks along it (same depth) to y = 100; track 2
    turns back at y = 100. Their deepest points are 100 px apart (more than a 40 px height):
    not a swap."""
    pairing = SwapPairing()
    along = [(100.0, y, 0.0) for y in (0.0, 50.0, 100.0)]
    assert u_turn(pairing, 1, 1, 0.0, 1.0, along) is None
    assert u_turn(pairing, 2, -1, 0.5, 1.2, [(100.0, 100.0, 0.0)]) is None
    assert pairing.remembered == 2
