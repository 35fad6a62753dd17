"""The tracker is selectable: each kind of the ``trackers`` package follows people with stable
ids, and ``check-config`` refuses combinations an implementation cannot run, naming the key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edge.config import TrackerConfig, TrackerKind, parse_config
from edge.counting.tracking import create_tracker
from edge.vision.detections import People
from footfall.cli import app
from protocol.settings import ConfigError

FRAME_RATE = 10.0
FRAMES = 40


def two_people_crossing(frame: int) -> People:
    """Two people 40×120 px walking towards each other along the same street, 12 px per
    frame, one 30 px lower than the other, passing at frame 20 (their boxes overlap by up to
    half, both always seen)."""
    left_to_right = 40.0 + 12.0 * frame
    right_to_left = 520.0 - 12.0 * frame
    boxes = np.array(
        [
            [left_to_right, 100.0, left_to_right + 40.0, 220.0],
            [right_to_left, 130.0, right_to_left + 40.0, 250.0],
        ]
    )
    return People(boxes=boxes, scores=np.array([0.9, 0.8]))


@pytest.mark.parametrize("kind", list(TrackerKind))
def test_each_kind_keeps_two_crossing_people_apart(kind: TrackerKind) -> None:
    tracker = create_tracker(TrackerConfig(kind=kind), frame_rate=FRAME_RATE)
    assert tracker.name == f"trackers-{kind.value}"
    ids_of: dict[int, list[int]] = {0: [], 1: []}
    first_seen = FRAMES
    for frame in range(FRAMES):
        people = two_people_crossing(frame)
        update = tracker.update(people, frame / FRAME_RATE)
        assert update.people.track_ids is not None
        if len(update.people):
            first_seen = min(first_seen, frame)
        for box, track_id in zip(update.people.boxes, update.people.track_ids, strict=True):
            person = int(np.flatnonzero((people.boxes == box).all(axis=1))[0])
            ids_of[person].append(int(track_id))
        assert update.retired_ids == []
    assert len(set(ids_of[0])) == 1, ids_of  # one id each, all the way through the crossing
    assert len(set(ids_of[1])) == 1, ids_of
    assert set(ids_of[0]) != set(ids_of[1])
    # BoT-SORT gives first-frame tracks their id at once, the others on their second frame;
    # then both people have their id in every frame
    assert first_seen == (0 if kind is TrackerKind.BOTSORT else 1)
    assert len(ids_of[0]) == len(ids_of[1]) == FRAMES - first_seen


def with_a_late_walker(frame: int) -> People:
    """The two people, and from frame 10 a third walking up the right edge."""
    people = two_people_crossing(frame)
    if frame < 10:
        return people
    step = 5.0 * (frame - 10)
    box = np.array([[600.0, 300.0 - step, 640.0, 420.0 - step]])
    return People(boxes=np.vstack([people.boxes, box]), scores=np.append(people.scores, 0.9))


@pytest.mark.parametrize(
    ("kind", "first_id_frames"),
    [
        (TrackerKind.BYTETRACK, {1: 11, 3: 12}),
        (TrackerKind.OCSORT, {1: 11, 3: 13}),
        (TrackerKind.BOTSORT, {1: 11, 3: 12}),
    ],
)
def test_confirm_frames_delays_a_new_tracks_id(
    kind: TrackerKind, first_id_frames: dict[int, int]
) -> None:
    """Each package counts its confirmation its own way; more frames to confirm always give
    a person who appears mid-clip (frame 10) their id later."""
    for confirm_frames, expected in first_id_frames.items():
        tracker = create_tracker(TrackerConfig(kind=kind, confirm_frames=confirm_frames), 10.0)
        first = None
        for frame in range(20):
            update = tracker.update(with_a_late_walker(frame), frame / 10.0)
            assert update.people.track_ids is not None
            if first is None and 2 in update.people.track_ids.tolist():
                first = frame
        assert first == expected, (confirm_frames, first)


def test_a_track_that_ends_is_retired() -> None:
    tracker = create_tracker(TrackerConfig(kind=TrackerKind.OCSORT, lost_track_frames=3), 10.0)
    for frame in range(5):
        tracker.update(two_people_crossing(frame), frame / 10.0)
    retired: list[int] = []
    for frame in range(5, 20):
        retired += tracker.update(People(), frame / 10.0).retired_ids
    assert sorted(retired) == [0, 1]


def minimal(tracker: dict[str, object]) -> dict[str, object]:
    return {
        "store_id": "s1",
        "cameras": [{"id": "door", "source": {"uri": "clip.avi"}}],
        "tracker": tracker,
    }


@pytest.mark.parametrize(
    ("tracker", "expected"),
    [
        (
            {"kind": "ocsort", "implementation": "ultralytics"},
            "tracker -> implementation: Value error, implementation 'ultralytics' has no "
            "ocsort tracker (it has bytetrack, botsort); use implementation: trackers",
        ),
        (
            {"implementation": "ultralytics", "confirm_frames": 3},
            "tracker -> confirm_frames: Value error, implementation 'ultralytics' has no "
            "confirm_frames",
        ),
        (
            {"high_confidence": 0.2, "low_confidence": 0.3},
            "tracker -> low_confidence: Value error, low_confidence 0.3 is above "
            "high_confidence 0.2 (got 0.3)",
        ),
        (
            {"confirm_frames": 0},
            "tracker -> confirm_frames: Input should be greater than or equal to 1 (got 0)",
        ),
    ],
)
def test_combinations_an_implementation_lacks_are_refused(
    tracker: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(tracker))
    assert expected in str(caught.value)


@pytest.mark.parametrize("kind", ["bytetrack", "ocsort", "botsort"])
def test_every_kind_is_valid_with_the_default_implementation(kind: str) -> None:
    config = parse_config(minimal({"kind": kind, "confirm_frames": 2}))
    assert (config.tracker.implementation, config.tracker.kind.value) == ("trackers", kind)


def test_a_copy_that_skipped_validation_is_still_refused() -> None:
    config = TrackerConfig(implementation="ultralytics").model_copy(
        update={"kind": TrackerKind.OCSORT}
    )
    with pytest.raises(ValueError, match="'ultralytics' has no ocsort"):
        create_tracker(config, 10.0)


def test_check_config_names_the_tracker_key(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(minimal({"kind": "ocsort", "implementation": "ultralytics"})))
    result = CliRunner().invoke(app, ["edge", "check-config", "-c", str(path)])
    assert result.exit_code == 2
    assert "tracker -> implementation" in result.output
    assert "no ocsort tracker" in result.output
