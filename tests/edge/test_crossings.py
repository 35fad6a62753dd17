"""The whole pure counting stack (stitching, person-scaled band, box-height check, swap
pairing) on scripted tracks, with the shipped counting defaults: every failure mode of issue 13
for people 20 px and 200 px tall."""

from __future__ import annotations

import numpy as np
import pytest

from edge.config import CountingConfig, parse_config
from edge.counting.camera import CameraCounter
from edge.counting.stitching import TrackStitcher
from edge.counting.tracking import TrackUpdate
from edge.vision.detections import People
from protocol.settings import ConfigError

LINE_X = 400.0
"""A vertical door at x = 400 from y = 0 to y = 2000; the store is on the left."""
FRAMES_PER_SECOND = 10.0

# One observation: track id, x of the feet, y of the feet, box height (all in px).
Observation = tuple[int, float, float, float]


def camera_counter(**counting: object) -> CameraCounter:
    config = parse_config(
        {
            "store_id": "s",
            "cameras": [
                {
                    "id": "c",
                    "source": {"uri": "x"},
                    "lines": [
                        {"id": "door", "points": [[LINE_X, 0], [LINE_X, 2000]], "inside": [0, 500]}
                    ],
                }
            ],
            "counting": counting,
        }
    )
    return CameraCounter(config.cameras[0], config.counting)


def run(frames: list[list[Observation]], retire_after_frames: int = 5) -> tuple[int, int]:
    """Feed frames at 10 fps; a track missing for ``retire_after_frames`` is retired."""
    counter = camera_counter()
    last_seen: dict[int, int] = {}
    for index, observations in enumerate(frames):
        boxes = [
            (x - height / 6, y - height, x + height / 6, y) for _, x, y, height in observations
        ]
        for track_id, *_ in observations:
            last_seen[track_id] = index
        retired = [track for track, seen in last_seen.items() if index - seen > retire_after_frames]
        for track_id in retired:
            del last_seen[track_id]
        people = People(
            boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
            scores=np.ones(len(observations)),
            track_ids=np.array([track for track, *_ in observations], dtype=np.int64),
        )
        counter.process(1000.0 + index / FRAMES_PER_SECOND, TrackUpdate(people, retired))
    for index in range(len(frames), len(frames) + 40):  # everyone leaves; state drains
        retired = list(last_seen)
        last_seen.clear()
        counter.process(1000.0 + index / FRAMES_PER_SECOND, TrackUpdate(People(), retired))
    assert counter.tracked_state_size == 0
    totals = counter.totals["door"]
    return totals.entries, totals.exits


def walk(
    track_id: int, start: float, end: float, height: float, steps: int, y: float = 1000.0
) -> list[Observation]:
    """Feet moving from x = LINE_X + start·height to LINE_X + end·height in ``steps`` frames."""
    return [
        (track_id, LINE_X + height * (start + (end - start) * step / (steps - 1)), y, height)
        for step in range(steps)
    ]


def frames_of(*tracks: tuple[int, list[Observation]]) -> list[list[Observation]]:
    """Tracks given as (first frame, observations), merged into frames."""
    length = max(first + len(observations) for first, observations in tracks)
    frames: list[list[Observation]] = [[] for _ in range(length)]
    for first, observations in tracks:
        for offset, observation in enumerate(observations):
            frames[first + offset].append(observation)
    return frames


HEIGHTS = [20.0, 90.0, 200.0]


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (1.0, -1.0, (1, 0)),  # outside to inside: an entry
        (-1.0, 1.0, (0, 1)),  # inside to outside: an exit
        (1.0, 0.05, (0, 0)),  # up to the line, stops inside the band
        (1.0, -0.05, (0, 0)),  # just past the line, still inside the band
        (0.05, -1.0, (0, 0)),  # first seen on the line: no side to come from
    ],
)
def test_straight_walks(height: float, start: float, end: float, expected: tuple[int, int]) -> None:
    assert run([[obs] for obs in walk(1, start, end, height, steps=20)]) == expected


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("jitter", [0.0, 0.03, 0.06])
def test_walking_along_the_line_counts_nothing(height: float, jitter: float) -> None:
    """Feet on the line, moving along it, flickering from side to side by up to 6% of the
    person's height (the band is 8%)."""
    rng = np.random.default_rng(13)
    frames = [
        [(1, LINE_X + height * rng.uniform(-jitter, jitter), 100.0 + 12.0 * step, height)]
        for step in range(100)
    ]
    assert run(frames) == (0, 0)


@pytest.mark.parametrize("height", HEIGHTS)
def test_standing_on_the_line_counts_nothing(height: float) -> None:
    rng = np.random.default_rng(7)
    approach = walk(1, 1.0, 0.0, height, steps=10)
    standing = [
        (1, LINE_X + height * rng.uniform(-0.07, 0.07), 1000.0, height * rng.uniform(0.9, 1.1))
        for _ in range(300)
    ]
    leave = walk(1, 0.0, 1.0, height, steps=10)
    assert run([[obs] for obs in approach + standing + leave]) == (0, 0)


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize(
    ("first_end", "gap_frames", "second_start"),
    [
        (0.04, 3, -0.04),  # lost on the line, found again on it 0.3 s later
        (0.5, 5, -0.3),  # lost before the line, found after it 0.5 s later
        (0.02, 12, -1.0),  # lost on the line, found a walk's 1.2 s later beyond it
    ],
)
def test_a_track_fragmented_at_the_line_counts_once(
    height: float, first_end: float, gap_frames: int, second_start: float
) -> None:
    """Walking at 1 height per second (10 px/frame for a 100 px person) right to left."""
    speed = 0.1  # heights per frame
    before = walk(1, 1.5, first_end, height, steps=round((1.5 - first_end) / speed) + 1)
    after = walk(2, second_start, -1.5, height, steps=round((second_start + 1.5) / speed) + 1)
    frames = frames_of((0, before), (len(before) + gap_frames, after))
    assert run(frames) == (1, 0)


@pytest.mark.parametrize("height", HEIGHTS)
def test_two_ids_swapped_at_the_line_count_one_entry_and_one_exit(height: float) -> None:
    """Person A walks in from the right, person B out from the left, side by side in y; at
    the line the tracker swaps their ids, so each id turns back."""
    y_a, y_b = 1000.0, 1000.0 + 0.3 * height
    in_a = walk(1, 1.0, 0.0, height, steps=11, y=y_a)
    in_b = walk(2, -1.0, 0.0, height, steps=11, y=y_b)
    # after the swap id 1 follows B (on toward the right), id 2 follows A (on to the left)
    out_1 = walk(1, 0.0, 1.0, height, steps=11, y=y_b)[1:]
    out_2 = walk(2, 0.0, -1.0, height, steps=11, y=y_a)[1:]
    frames = [[a, b] for a, b in zip(in_a + out_1, in_b + out_2, strict=True)]
    assert run(frames) == (1, 1)


@pytest.mark.parametrize("height", HEIGHTS)
def test_two_people_turning_back_apart_count_nothing(height: float) -> None:
    """Two people reach the line from opposite sides at the same time but far apart (3
    heights) and each turns back: no swap."""
    y_a, y_b = 1000.0, 1000.0 + 3 * height
    frames = [
        [a, b]
        for a, b in zip(
            walk(1, 1.0, 0.0, height, steps=11, y=y_a) + walk(1, 0.0, 1.0, height, 11, y_a)[1:],
            walk(2, -1.0, 0.0, height, steps=11, y=y_b) + walk(2, 0.0, -1.0, height, 11, y_b)[1:],
            strict=True,
        )
    ]
    assert run(frames) == (0, 0)


@pytest.mark.parametrize("height", HEIGHTS)
def test_a_merged_box_moves_nobody_across(height: float) -> None:
    """Someone standing 0.3 heights inside; for one frame their box merges with a passer-by's
    and reaches 0.4 heights past the line, 1.8 times as tall."""
    standing = [(1, LINE_X - 0.3 * height, 1000.0, height)] * 20
    merged = [(1, LINE_X + 0.4 * height, 1000.0 + 0.7 * height, 1.8 * height)]
    assert run([[obs] for obs in standing + merged + standing]) == (0, 0)


def test_stitcher_links_only_near_the_prediction_and_forgets() -> None:
    stitcher = TrackStitcher(stitch_seconds=1.5, radius_height_fraction=0.75, height_tolerance=0)
    heights = np.array([100.0])
    for step in range(5):  # 10 px per 0.1 s to the left
        stitcher.stitch(step / 10, np.array([1]), np.array([[500.0 - 10 * step, 0]]), heights, [])
    # 1 s later: predicted at x = 360; a track at 370 continues the person, one at 450 does not
    near = stitcher.stitch(1.4, np.array([2]), np.array([[370.0, 0]]), heights, [1])
    assert near.person_ids.tolist() == [1]
    far = stitcher.stitch(1.5, np.array([3]), np.array([[250.0, 700]]), heights, [])
    assert far.person_ids.tolist() == [2]
    assert stitcher.links == 1
    gone = stitcher.stitch(5.0, np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0), [2, 3])
    assert sorted(gone.forgotten_ids) == [1, 2]
    assert stitcher.person_count == 0


@pytest.mark.parametrize(
    ("counting", "message"),
    [
        ({"band_height_fraction": -0.1}, "counting -> band_height_fraction"),
        ({"stitch_seconds": 60}, "counting -> stitch_seconds"),
        ({"height_tolerance": -1}, "counting -> height_tolerance"),
        ({"stitch_radius": 1}, "counting -> stitch_radius: Extra inputs are not permitted"),
    ],
)
def test_check_config_names_bad_counting_settings(
    counting: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(
            {
                "store_id": "s",
                "cameras": [{"id": "c", "source": {"uri": "x"}}],
                "counting": counting,
            }
        )
    assert CountingConfig().band_height_fraction == 0.08
