"""Edges of the per-camera counter that make mutation (issue 17) found unpinned: which lines
move occupancy, everything a frame returns (crossings, zone counts, people, points, boxes,
person ids), a second exit on the same line, the reference point and keypoint confidence
taken from the counting settings, the frame times handed to the lines (a long stay at the
door is not a swap), stays ended when the stitcher forgets a retired person (not 2 s later),
the interval start after a restart, the people scale, and the end of a flushed interval.

Scene as in ``test_roles``: a door at x = 400 (store on the left), people 100 px tall, 10
frames per second, starting on an interval boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from edge.config import parse_config
from edge.counting.camera import CameraCounter
from edge.counting.counters import Crossing, Direction
from edge.counting.tracking import TrackUpdate
from edge.vision.detections import LEFT_ANKLE, RIGHT_ANKLE, People
from tests.edge.test_roles import DOOR, FPS, HEIGHT, START_SECONDS, STREET, line, play

TILLS = {"id": "tills", "polygon": [[0, 400], [300, 400], [300, 600], [0, 600]]}


def camera(
    lines: list[dict[str, Any]],
    zones: list[dict[str, Any]],
    counting: dict[str, Any] | None = None,
    not_before_utc: datetime | None = None,
) -> CameraCounter:
    config = parse_config(
        {
            "store_id": "s",
            "cameras": [{"id": "c", "source": {"uri": "x"}, "lines": lines, "zones": zones}],
            "counting": counting or {},
        }
    )
    return CameraCounter(config.cameras[0], config.counting, not_before_utc=not_before_utc)


def people(feet: list[tuple[int, float, float]], keypoints: Any = None) -> People:
    """(track id, x, y of the feet) per person, boxes 30 × 100 px standing on the feet."""
    return People(
        boxes=np.array([(x - 15, y - HEIGHT, x + 15, y) for _, x, y in feet]).reshape(-1, 4),
        scores=np.ones(len(feet)),
        keypoints=keypoints,
        track_ids=np.array([track_id for track_id, *_ in feet], dtype=np.int64),
    )


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(START_SECONDS + seconds, tz=UTC)


def test_occupancy_lines_are_the_entrances_and_staff_doors() -> None:
    staff = {"id": "staff", "points": [[0, 300], [100, 300]], "inside": [50, 600], "role": "staff"}
    internal = {"id": "aisle", "points": [[0, 700], [300, 700]], "inside": [0, 0]}
    lines: list[dict[str, Any]] = [
        DOOR,
        {**STREET, "role": "passing"},
        staff,
        {**internal, "entrance": False},
    ]
    assert camera(lines, []).occupancy_line_ids == frozenset({"door", "staff"})


def test_a_frame_returns_what_happened_in_it() -> None:
    """Person 1 steps in through the door while person 2 stands at the tills."""
    counter = camera([DOOR], [TILLS])
    counter.process(START_SECONDS, TrackUpdate(people([(11, 420, 1000), (12, 100, 500)]), []))
    frame = people([(11, 380, 1000), (12, 100, 500)])
    counts = counter.process(START_SECONDS + 1 / FPS, TrackUpdate(frame, []))
    assert counts.person_ids.tolist() == [1, 2]
    assert counts.crossings == [Crossing("door", 1, Direction.ENTRY)]
    assert counts.zone_counts == {"tills": 1}
    assert counts.tracked_people == 2
    assert counts.points.tolist() == [[380.0, 1000.0], [100.0, 500.0]]
    assert counts.boxes.tolist() == [[365.0, 900.0, 395.0, 1000.0], [85.0, 400.0, 115.0, 500.0]]
    assert counts.finished_intervals == []


def test_every_entry_and_exit_adds_to_the_totals() -> None:
    counter = camera([DOOR], [])
    walk_in, walk_out = line((600, 1500), (200, 1500), 40), line((200, 1200), (600, 1200), 40)
    play(counter, {1: (0, walk_in), 2: (0, walk_out), 3: (50, walk_out), 4: (100, walk_out)})
    assert (counter.totals["door"].entries, counter.totals["door"].exits) == (1, 3)


def ankle_frame(confidence: float) -> People:
    """One person whose box bottom (100, 200) is below the tills and whose ankles, at
    ``confidence``, are at (100, 500), inside them."""
    keypoints = np.zeros((1, 17, 3))
    keypoints[0, [LEFT_ANKLE, RIGHT_ANKLE]] = [[95.0, 500.0, confidence], [105.0, 500.0, 0.0]]
    return people([(1, 100.0, 200.0)], keypoints)


@pytest.mark.parametrize(
    ("counting", "confidence", "point", "at_the_tills"),
    [
        ({}, 0.9, [100.0, 200.0], 0),  # the default: the box bottom, whatever the ankles
        ({"reference_point": "ankles"}, 0.5, [95.0, 500.0], 1),
        ({"reference_point": "ankles"}, 0.4, [100.0, 200.0], 0),
        ({"reference_point": "ankles", "keypoint_confidence": 0.3}, 0.4, [95.0, 500.0], 1),
        ({"reference_point": "ankles", "keypoint_confidence": 0.3}, 0.2, [100.0, 200.0], 0),
    ],
)
def test_the_reference_point_follows_the_counting_settings(
    counting: dict[str, Any], confidence: float, point: list[float], at_the_tills: int
) -> None:
    counts = camera([], [TILLS], counting).process(
        START_SECONDS, TrackUpdate(ankle_frame(confidence), [])
    )
    assert counts.points.tolist() == [point]
    assert counts.zone_counts == {"tills": at_the_tills}


def at_the_door(stay_frames: int) -> dict[int, tuple[int, list[tuple[float, float]]]]:
    """Two people reach the door from either side 50 px apart, stay 2 px from the line for
    ``stay_frames`` and turn back (seen alone: their tracker ids swapped at the line)."""
    outside = line((500, 1000), (402, 1000), 10)
    inside = line((300, 1050), (398, 1050), 10)
    return {
        1: (0, outside + [outside[-1]] * stay_frames + outside[::-1]),
        2: (0, inside + [inside[-1]] * stay_frames + inside[::-1]),
    }


def test_a_swap_counts_but_a_long_stay_at_the_door_does_not() -> None:
    swap, talk = camera([DOOR], []), camera([DOOR], [])
    play(swap, at_the_door(5))  # at the line for 0.6 s
    play(talk, at_the_door(50))  # 5.1 s, longer than the 2 s a swap may take
    assert (swap.totals["door"].entries, swap.totals["door"].exits) == (1, 1)
    assert (talk.totals["door"].entries, talk.totals["door"].exits) == (0, 0)


def test_a_stay_ends_when_its_person_is_forgotten() -> None:
    """At the tills from 50.0 s to 58.0 s, retired at once: the stitcher forgets the person
    at 59.6 s (1.5 s unseen), in the first interval; the 2 s gap would end it at 60.1 s."""
    counter = camera([], [TILLS])
    intervals = play(counter, {1: (500, [(100.0, 500.0)] * 81)}, retire_frames=0)
    assert [totals.zone_dwell_seconds["tills"] for totals in intervals] == [[8.0], []]


def test_after_a_restart_the_first_interval_starts_where_the_last_one_ended() -> None:
    counter = camera([DOOR], [], not_before_utc=utc(20))
    with pytest.raises(ValueError, match="before the end of this camera's last interval"):
        counter.process(START_SECONDS + 10, TrackUpdate(People(), []))
    counter.process(START_SECONDS + 20, TrackUpdate(People(), []))
    assert counter.open_interval_utc == (utc(20), utc(60))
    [finished] = counter.process(START_SECONDS + 60, TrackUpdate(People(), [])).finished_intervals
    assert (finished.start_utc, finished.end_utc, finished.frames) == (utc(20), utc(60), 1)


def test_zone_occupancy_is_scaled_by_the_people_scale() -> None:
    counter = camera([], [TILLS], {"people_scale": 1.25})
    three = people([(1, 50, 500), (2, 150, 500), (3, 250, 500)])
    counter.process(START_SECONDS, TrackUpdate(three, []))
    [totals] = counter.flush()
    assert (totals.zone_max("tills"), totals.zone_mean("tills")) == (4, 3.75)


def test_a_flush_ends_the_interval_at_the_given_time() -> None:
    counter = camera([DOOR], [])
    counter.process(START_SECONDS + 5, TrackUpdate(People(), []))
    [totals] = counter.flush(START_SECONDS + 30)
    assert (totals.start_utc, totals.end_utc) == (utc(0), utc(30))
