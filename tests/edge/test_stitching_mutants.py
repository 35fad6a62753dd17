"""TrackStitcher edges pinned from make mutation's survivors (issue 17): the stitching radius,
the stitching window and the forgetting deadlines at their exact bounds, a person seen in the
same instant is not lost, nearest-first linking of several lost people and new tracks, the
smoothed velocity the prediction uses, the 5-box height window and the size change after 3
inconsistent boxes, the height tolerance at its bound and 0 (off), and the dtypes of what the
line counters receive.

Times and distances are chosen so every bound is met exactly in floating point.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from edge.counting.stitching import MAX_UNSEEN_SECONDS, StitchedPeople, TrackStitcher

# One track in a frame: track id, x, y, box height (px).
Track = tuple[int, float, float, float]


def stitcher(
    stitch_seconds: float = 1.5, radius: float = 0.5, tolerance: float = 0.35
) -> TrackStitcher:
    return TrackStitcher(
        stitch_seconds=stitch_seconds, radius_height_fraction=radius, height_tolerance=tolerance
    )


def frame(
    people: TrackStitcher, seconds: float, *tracks: Track, retired: tuple[int, ...] = ()
) -> StitchedPeople:
    return people.stitch(
        seconds,
        np.array([track[0] for track in tracks], dtype=np.int64),
        np.array([track[1:3] for track in tracks], dtype=np.float64).reshape(-1, 2),
        np.array([track[3] for track in tracks], dtype=np.float64),
        list(retired),
    )


def test_ids_are_integers_and_reliability_booleans() -> None:
    people = stitcher()
    result = frame(people, 0.0, (7, 10.0, 0.0, 100.0), (8, 500.0, 0.0, 100.0))
    assert result.person_ids.dtype == np.int64
    assert result.reliable.dtype == np.bool_
    assert result.person_ids.tolist() == [1, 2]
    assert result.heights_px.tolist() == [100.0, 100.0]  # one box: the person's height


def test_rejects_negative_settings_by_name() -> None:
    for name in ("stitch_seconds", "radius_height_fraction", "height_tolerance"):
        settings = {"stitch_seconds": 1.0, "radius_height_fraction": 1.0, "height_tolerance": 1.0}
        settings[name] = -0.5
        with pytest.raises(ValueError, match=re.escape(f"{name} must be >= 0, got -0.5")):
            TrackStitcher(**settings)


@pytest.mark.parametrize(("offset", "linked"), [(50.0, True), (50.5, False)])
def test_a_new_track_exactly_the_radius_away_is_stitched(offset: float, linked: bool) -> None:
    """Radius 0.5 heights of a 100 px person: 50 px from the (still) person's last point."""
    people = stitcher(radius=0.5)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    result = frame(people, 0.5, (2, 200.0 + offset, 300.0, 100.0), retired=(1,))
    assert result.person_ids.tolist() == ([1] if linked else [2])
    assert people.links == (1 if linked else 0)


@pytest.mark.parametrize(("seconds", "linked"), [(2.0, True), (2.25, False)])
def test_a_new_track_exactly_the_window_after_is_stitched(seconds: float, linked: bool) -> None:
    """Last seen at 0.5 s, stitch window 1.5 s: a track at 2.0 s still continues the person."""
    people = stitcher(stitch_seconds=1.5)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    frame(people, 0.5, (1, 200.0, 300.0, 100.0))
    result = frame(people, seconds, (2, 210.0, 300.0, 100.0))
    assert result.person_ids.tolist() == ([1] if linked else [2])


def test_a_person_whose_track_lives_on_unseen_is_not_stitched_after_the_window() -> None:
    """Track 1 not retired but unseen for 2 s (window 1.5 s): track 2 at the same place is
    someone else, and person 1 is kept (its track may come back) and continues it."""
    people = stitcher(stitch_seconds=1.5)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    late = frame(people, 2.0, (2, 200.0, 300.0, 100.0))
    assert late.person_ids.tolist() == [2]
    assert late.forgotten_ids == []
    back = frame(people, 2.5, (2, 200.0, 300.0, 100.0), (1, 200.0, 300.0, 100.0))
    assert back.person_ids.tolist() == [2, 1]
    assert people.links == 0


def test_a_track_in_the_same_instant_as_the_last_sighting_is_someone_else() -> None:
    """Two frames with the same timestamp (a repeated clock reading): the person was seen
    at that instant, so a new track next to them is not their continuation."""
    people = stitcher()
    frame(people, 1.0, (1, 200.0, 300.0, 100.0))
    result = frame(people, 1.0, (2, 200.0, 300.0, 100.0))
    assert result.person_ids.tolist() == [2]
    assert people.links == 0


def test_a_lost_person_is_found_behind_one_still_in_view() -> None:
    """Person 1 is still in view (and comes first); person 2 was lost and track 3 continues
    them."""
    people = stitcher()
    frame(people, 0.0, (1, 100.0, 300.0, 100.0), (2, 600.0, 300.0, 100.0))
    result = frame(people, 0.5, (1, 100.0, 300.0, 100.0), (3, 610.0, 300.0, 100.0), retired=(2,))
    assert result.person_ids.tolist() == [1, 2]
    assert people.links == 1


def test_two_new_tracks_near_one_lost_person_take_the_person_once() -> None:
    """The nearer track (10 px) continues person 1; the other (30 px) is a new person."""
    people = stitcher()
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    result = frame(people, 0.5, (2, 230.0, 300.0, 100.0), (3, 210.0, 300.0, 100.0), retired=(1,))
    assert result.person_ids.tolist() == [2, 1]
    assert people.links == 1


def test_one_new_track_near_two_lost_people_continues_the_nearer_only() -> None:
    people = stitcher()
    frame(people, 0.0, (1, 200.0, 300.0, 100.0), (2, 240.0, 300.0, 100.0))
    result = frame(people, 0.5, (3, 230.0, 300.0, 100.0), retired=(1, 2))
    assert result.person_ids.tolist() == [2]
    assert people.links == 1


def test_nearest_pairs_first_then_the_rest() -> None:
    """Lost people at x = 200 and 260, new tracks at 205 and 228: both tracks are nearest to
    the first person; 205 (5 px) takes them, and 228 is then left with the second (32 px)."""
    people = stitcher()
    frame(people, 0.0, (1, 200.0, 300.0, 100.0), (2, 260.0, 300.0, 100.0))
    result = frame(people, 0.5, (3, 205.0, 300.0, 100.0), (4, 228.0, 300.0, 100.0), retired=(1, 2))
    # candidates by gap: (5, track 3, person 1), (28, track 4, person 1), (32, track 4, person 2)
    assert result.person_ids.tolist() == [1, 2]
    assert people.links == 2


def test_a_stitched_track_stays_with_its_person_and_links_once() -> None:
    people = stitcher()
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    for step in range(1, 6):
        result = frame(people, 0.5 + step / 10, (2, 210.0, 300.0, 100.0), retired=(1,))
        assert result.person_ids.tolist() == [1]
    assert people.links == 1
    assert people.person_count == 1


def test_the_old_track_coming_back_after_a_link_is_someone_else() -> None:
    """Track 1 is missed for one frame (not retired) and track 2 continues the person; when
    track 1 is back next to track 2, it is another person, not a second copy of person 1."""
    people = stitcher()
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    frame(people, 0.1, (2, 205.0, 300.0, 100.0))
    result = frame(people, 0.2, (2, 205.0, 300.0, 100.0), (1, 200.0, 300.0, 100.0))
    assert result.person_ids.tolist() == [1, 2]


def test_a_person_with_a_live_track_is_kept_within_max_unseen() -> None:
    """Track 1 never retired: kept up to exactly MAX_UNSEEN_SECONDS, then forgotten, and the
    track coming back later is a new person."""
    people = stitcher(stitch_seconds=1.5)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    assert frame(people, 2.0).forgotten_ids == []
    assert frame(people, MAX_UNSEEN_SECONDS).forgotten_ids == []
    assert frame(people, MAX_UNSEEN_SECONDS + 0.5).forgotten_ids == [1]
    assert people.person_count == 0
    back = frame(people, MAX_UNSEEN_SECONDS + 1.0, (1, 200.0, 300.0, 100.0))
    assert back.person_ids.tolist() == [2]


def test_a_retired_person_is_kept_for_exactly_the_stitch_window() -> None:
    people = stitcher(stitch_seconds=1.5)
    frame(people, 0.5, (1, 200.0, 300.0, 100.0))
    assert frame(people, 1.0, retired=(1,)).forgotten_ids == []
    assert frame(people, 2.0).forgotten_ids == []
    assert frame(people, 2.25).forgotten_ids == [1]


def test_the_prediction_uses_the_average_of_the_last_two_velocities() -> None:
    """x = 0, 10, 40 at 0, 1, 2 s: velocities 10 and 30 px/s, smoothed to 20; 1 s after the
    last sighting the person is predicted at x = 60. Radius 0.05 × 100 px = 5 px."""
    people = stitcher(stitch_seconds=1.5, radius=0.05)
    for seconds, x in ((0.0, 0.0), (1.0, 10.0), (2.0, 40.0)):
        frame(people, seconds, (1, x, 300.0, 100.0))
    result = frame(people, 3.0, (2, 60.0, 300.0, 100.0), retired=(1,))
    assert result.person_ids.tolist() == [1]


def test_a_repeated_instant_does_not_break_the_prediction() -> None:
    """The same frame twice (same timestamp): no velocity from a zero interval, the person is
    still predicted at x = 30 one second later (10 px/s)."""
    people = stitcher(stitch_seconds=1.5, radius=0.05)
    for seconds, x in ((0.0, 10.0), (1.0, 20.0), (1.0, 20.0)):
        frame(people, seconds, (1, x, 300.0, 100.0))
    result = frame(people, 2.0, (2, 30.0, 300.0, 100.0), retired=(1,))
    assert result.person_ids.tolist() == [1]


def test_a_size_change_is_taken_after_three_inconsistent_boxes() -> None:
    """100 px, then 200, 240, 210 (all > 35% off): the first two are unreliable, the third
    makes them the person's heights (median 210), and 210 is then consistent."""
    people = stitcher(tolerance=0.35)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    reliable, heights = [], []
    for step, height in enumerate((200.0, 240.0, 210.0, 210.0), start=1):
        result = frame(people, step / 10, (1, 200.0 + step, 300.0, height))
        reliable += result.reliable.tolist()
        heights += result.heights_px.tolist()
    assert reliable == [False, False, True, True]
    assert heights == [100.0, 100.0, 100.0, 210.0]


def test_a_size_change_restarts_the_velocity() -> None:
    """Moving 10 px/s, then a size change after which the person moves 40 px/s: the prediction
    uses the new motion alone, not an average with the old."""
    people = stitcher(stitch_seconds=1.5, radius=0.05)
    frame(people, 0.0, (1, 0.0, 300.0, 100.0))
    frame(people, 1.0, (1, 10.0, 300.0, 100.0))
    for seconds in (1.25, 1.5):  # unreliable: point and time stay at 10 px, 1 s
        frame(people, seconds, (1, 999.0, 300.0, 200.0))
    frame(people, 2.0, (1, 50.0, 300.0, 200.0))  # third: velocity (50 - 10) / 1 s
    result = frame(people, 3.0, (2, 90.0, 300.0, 200.0), retired=(1,))
    assert result.person_ids.tolist() == [1]


def test_the_height_is_the_median_of_the_last_five_boxes() -> None:
    """Five boxes of 100 px then five of 130 (each within 35%): the height is 130."""
    people = stitcher(tolerance=0.35)
    for step in range(5):
        frame(people, step / 10, (1, 200.0, 300.0, 100.0))
    for step in range(5, 10):
        frame(people, step / 10, (1, 200.0, 300.0, 130.0))
    assert frame(people, 1.0, (1, 200.0, 300.0, 130.0)).heights_px.tolist() == [130.0]


@pytest.mark.parametrize(("height", "reliable"), [(125.0, True), (75.0, True), (126.0, False)])
def test_a_box_exactly_the_tolerance_off_is_consistent(height: float, reliable: bool) -> None:
    people = stitcher(tolerance=0.25)
    frame(people, 0.0, (1, 200.0, 300.0, 100.0))
    assert frame(people, 0.1, (1, 200.0, 300.0, height)).reliable.tolist() == [reliable]


@pytest.mark.parametrize("tolerance", [0.0, 1.0])
def test_tolerance_zero_turns_the_height_check_off(tolerance: float) -> None:
    """Boxes 100, 250, 100, 260 px: with tolerance 0 all are reliable; with tolerance 1
    (100% change allowed) the 250 and 260 px boxes are not."""
    people = stitcher(tolerance=tolerance)
    flags = []
    for step, height in enumerate((100.0, 250.0, 100.0, 260.0)):
        flags += frame(people, step / 10, (1, 200.0, 300.0, height)).reliable.tolist()
    assert flags == ([True] * 4 if tolerance == 0 else [True, False, True, False])
