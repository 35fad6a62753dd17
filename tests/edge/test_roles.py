"""Line and zone roles on the device, on scripted tracks (no model): staff exclusion zones,
staff and passing lines, dwell buckets per zone, and the schema version 2 interval they make.

The scene (source pixels, people 100 px tall, 10 frames per second): a door at x = 400
(store on the left), a stockroom door zone in the store's top-left corner (x 0-100,
y 0-300), a passing line across the pavement outside (y = 1000, x 500-900)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge.config import parse_config
from edge.counting.camera import CameraCounter
from edge.counting.dwell import ZoneDwell, dwell_bucket, dwell_counts
from edge.counting.geometry import Polygon
from edge.counting.intervals import to_message
from edge.counting.roles import StaffExclusion
from edge.counting.tracking import TrackUpdate
from edge.vision.detections import People
from protocol.messages import DwellCounts, LineRole, ZoneRole
from protocol.settings import ConfigError

FPS = 10.0
START_SECONDS = 1_714_557_600.0  # 2024-05-01 10:00:00 UTC, an interval boundary
HEIGHT = 100.0
DOOR = {"id": "door", "points": [[400, 0], [400, 2000]], "inside": [0, 500]}
STREET = {"id": "street", "points": [[500, 1000], [900, 1000]], "inside": [700, 0]}
STOCKROOM = {"id": "stockroom", "polygon": [[0, 0], [100, 0], [100, 300], [0, 300]]}

Path = list[tuple[float, float]]


def counter(lines: list[dict[str, Any]], zones: list[dict[str, Any]]) -> CameraCounter:
    config = parse_config(
        {
            "store_id": "s",
            "cameras": [{"id": "c", "source": {"uri": "x"}, "lines": lines, "zones": zones}],
        }
    )
    return CameraCounter(config.cameras[0], config.counting)


def line(start: tuple[float, float], end: tuple[float, float], frames: int) -> Path:
    return [
        (
            start[0] + (end[0] - start[0]) * i / (frames - 1),
            start[1] + (end[1] - start[1]) * i / (frames - 1),
        )
        for i in range(frames)
    ]


def play(camera: CameraCounter, tracks: dict[int, tuple[int, Path]], retire_frames: int = 5) -> Any:
    """Each track: (first frame, feet positions one per frame). A track is retired
    ``retire_frames`` after its last frame; returns the finished and flushed intervals."""
    # then 4 s without anyone, so the stitcher lets go of everyone (stitch_seconds 1.5)
    last_frame = max(first + len(path) for first, path in tracks.values()) + retire_frames + 40
    intervals = []
    for frame in range(last_frame):
        seen = [
            (track_id, *path[frame - first])
            for track_id, (first, path) in tracks.items()
            if first <= frame < first + len(path)
        ]
        retired = [
            track_id
            for track_id, (first, path) in tracks.items()
            if frame == first + len(path) + retire_frames
        ]
        boxes = [(x - 15, y - HEIGHT, x + 15, y) for _, x, y in seen]
        people = People(
            boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
            scores=np.ones(len(seen)),
            track_ids=np.array([track_id for track_id, *_ in seen], dtype=np.int64),
        )
        counts = camera.process(START_SECONDS + frame / FPS, TrackUpdate(people, retired))
        intervals += counts.finished_intervals
    intervals += camera.flush()
    return intervals


CUSTOMER = line((600, 1500), (200, 1500), 40)  # walks in through the door, stays in the store
FROM_STOCKROOM = line((50, 150), (700, 150), 60)  # staff: out of the stockroom, out the door
TO_STOCKROOM = line((700, 800), (200, 800), 40) + line((200, 800), (50, 150), 60)  # staff: in


def test_staff_who_start_or_end_in_an_exclusion_zone_are_not_counted() -> None:
    camera = counter([DOOR], [{**STOCKROOM, "role": "exclusion"}])
    play(camera, {1: (0, CUSTOMER), 2: (100, FROM_STOCKROOM), 3: (300, TO_STOCKROOM)})
    assert (camera.totals["door"].entries, camera.totals["door"].exits) == (1, 0)
    assert camera.excluded_crossings == 2
    assert camera.tracked_state_size == 0


def test_without_the_zone_role_everyone_counts() -> None:
    camera = counter([DOOR], [STOCKROOM])
    play(camera, {1: (0, CUSTOMER), 2: (100, FROM_STOCKROOM), 3: (300, TO_STOCKROOM)})
    assert (camera.totals["door"].entries, camera.totals["door"].exits) == (2, 1)
    assert camera.excluded_crossings == 0


def test_a_held_entry_counts_when_its_hold_ends_or_the_person_is_retired() -> None:
    exclusion = StaffExclusion([Polygon(((0, 0), (100, 0), (100, 300)))], ["door"], 30.0)
    from edge.counting.counters import Crossing, Direction

    entry = Crossing("door", 7, Direction.ENTRY)
    ids, points = np.array([7]), np.array([[300.0, 1000.0]])
    assert exclusion.filter(0.0, ids, points, [entry]) == []  # held
    assert exclusion.filter(29.9, ids, points, []) == []
    assert exclusion.filter(30.0, ids, points, []) == [entry]  # the hold ran out: counted
    second = Crossing("door", 8, Direction.ENTRY)
    assert exclusion.filter(31.0, np.array([8]), points, [second]) == []
    assert exclusion.filter(32.0, np.array([], dtype=np.int64), points[:0], [], [8]) == [second]
    assert exclusion.tracked_count == 1  # person 7 until the tracker retires them
    exclusion.filter(33.0, np.array([], dtype=np.int64), points[:0], [], [7])
    assert exclusion.tracked_count == 0


def test_other_lines_are_never_held_or_excluded() -> None:
    """Staff from the stockroom crossing the passing line outside are counted at once."""
    camera = counter([DOOR, {**STREET, "role": "passing"}], [{**STOCKROOM, "role": "exclusion"}])
    out_and_down_the_street = FROM_STOCKROOM + line((700, 150), (700, 1400), 60)
    play(camera, {2: (0, out_and_down_the_street)})
    assert (camera.totals["street"].entries, camera.totals["street"].exits) == (0, 1)
    assert camera.totals["door"].exits == 0


def test_a_staff_line_is_counted_with_its_role() -> None:
    staff_door = {
        "id": "staff-door",
        "points": [[0, 300], [100, 300]],
        "inside": [50, 600],
        "role": "staff",
    }
    camera = counter([DOOR, staff_door], [])
    intervals = play(camera, {3: (0, TO_STOCKROOM)})
    message = to_message(
        intervals[0],
        store_id="s",
        camera_id="c",
        sequence=0,
        software_version="t",
        config_fingerprint="0123abcd",
    )
    assert message.schema_version == 2
    assert message.lines["door"].role is LineRole.ENTRANCE
    assert message.lines["staff-door"].role is LineRole.STAFF
    assert (message.lines["door"].entries, message.lines["staff-door"].exits) == (1, 1)


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(0, 0), (29.9, 0), (30, 1), (119.9, 1), (120, 2), (599, 2), (600, 3), (7200, 3)],
)
def test_dwell_buckets(seconds: float, bucket: int) -> None:
    assert dwell_bucket(seconds) == bucket


def test_dwell_per_zone_in_the_interval_message() -> None:
    """Four people in the tills zone for 10 s, 60 s, 5 min and 15 min (flickering out of the
    zone for 1 s, less than the 2 s gap, does not split a stay) and one never in it."""
    tills = {"id": "tills", "polygon": [[0, 0], [300, 0], [300, 2000], [0, 2000]]}
    camera = counter([], [tills])

    def stay(seconds: float, y: float) -> Path:
        frames = int(seconds * FPS) + 1
        inside = [(150.0, y)] * frames
        return inside[: frames // 2] + [(350.0, y)] * 10 + inside[frames // 2 :]

    tracks = {
        1: (0, stay(10, 100)),
        2: (0, stay(60, 400)),
        3: (0, stay(300, 700)),
        4: (0, stay(900, 1000)),
        5: (0, [(350.0, 1300.0)] * 50),
    }
    intervals = play(camera, tracks)
    assert camera.tracked_state_size == 0
    messages = [
        to_message(
            totals,
            store_id="s",
            camera_id="c",
            sequence=0,
            software_version="t",
            config_fingerprint="0123abcd",
        )
        for totals in intervals
    ]
    total = DwellCounts()
    for message in messages:
        assert message.zones["tills"].role is ZoneRole.COUNTING
        dwell = message.zones["tills"].dwell
        assert dwell is not None
        total = total + dwell
    assert total == DwellCounts(
        under_30_seconds=1, from_30_to_120_seconds=1, from_120_to_600_seconds=1, over_600_seconds=1
    )
    # each stay is counted in the interval in which the person left (stay + 1 s flicker)
    ends = {index: message.zones["tills"].dwell for index, message in enumerate(messages)}
    assert ends[0] == DwellCounts(under_30_seconds=1)  # left at 11 s
    assert ends[1] == DwellCounts(from_30_to_120_seconds=1)  # left at 61.5 s (retired)
    assert ends[5] == DwellCounts(from_120_to_600_seconds=1)  # left at 301.5 s
    assert ends[15] == DwellCounts(over_600_seconds=1)  # left at 901.5 s
    assert len(messages) == 16  # 901 s of frames + 1 s flicker + retirement, 60 s intervals


def test_a_zone_dwell_forgets_retired_people() -> None:
    zone = ZoneDwell("z", Polygon(((0, 0), (10, 0), (10, 10))))
    assert zone.update(0.0, np.array([1]), np.array([[1.0, 1.0]])) == []
    assert zone.tracked_count == 1
    assert zone.update(0.5, np.array([], dtype=np.int64), np.zeros((0, 2)), [1]) == [0.0]
    assert zone.tracked_count == 0
    assert dwell_counts([0.0, 45.0, 45.0]) == DwellCounts(
        under_30_seconds=1, from_30_to_120_seconds=2
    )


@pytest.mark.parametrize(
    ("settings", "role"),
    [
        ({}, LineRole.ENTRANCE),
        ({"entrance": True}, LineRole.ENTRANCE),
        ({"entrance": False}, LineRole.INTERNAL),
        ({"role": "passing"}, LineRole.PASSING),
        ({"role": "staff", "entrance": False}, LineRole.STAFF),
        ({"role": "entrance", "entrance": True}, LineRole.ENTRANCE),
    ],
)
def test_line_role_and_the_older_entrance_key(settings: dict[str, Any], role: LineRole) -> None:
    camera = counter([{**DOOR, **settings}], [])
    assert camera.camera.lines[0].line_role is role


def test_a_role_contradicting_entrance_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"cameras -> 0 -> lines -> 0.*contradicts role: passing"):
        counter([{**DOOR, "role": "passing", "entrance": True}], [])
    with pytest.raises(ConfigError, match="zones -> 0 -> role"):
        counter([], [{**STOCKROOM, "role": "staff"}])
