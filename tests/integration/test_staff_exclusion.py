"""Staff exclusion on the PETS09-S2L1 clip with an exclusion zone.

The zone is a 68×70 px box on the right edge of the view (x 700-768, y 290-360), where many
of the clip's people appear or leave: treated as a staff door, the door line must not count
the crossings of people whose track starts or ends in it. Two runs:

1. the ground-truth tracks (gt.txt, no model) through the same door rule and
   ``StaffExclusion``, against the truth computed another way (drop every door crossing of a
   track whose first or last position is inside the zone): door 18 in / 14 out without the
   zone, 10 / 10 with it (12 crossings of 7 people excluded);
2. the shipped pipeline (detector, tracker, stitching, counting) with the zone in the camera
   config, replaying the detector's recorded output of the shared PETS run: door 18 / 14
   without the zone, 12 / 11 with it (9 crossings excluded; truth 10 / 10).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edge.audit import TruthBox, load_mot
from edge.config import EdgeConfig, ZoneConfig
from edge.counting.counters import Crossing, Direction, LineCounter
from edge.counting.geometry import DirectedLine, Polygon
from edge.counting.roles import EXCLUSION_HOLD_SECONDS, StaffExclusion
from edge.transport.sinks import MemorySink
from edge.worker import EdgeWorker
from protocol.messages import LineRole, ZoneRole
from tests.integration.pets import PetsRun, ReplayedDetector

ZONE = [(700.0, 290.0), (768.0, 290.0), (768.0, 360.0), (700.0, 360.0)]
FRAMES_PER_SECOND = 7.0  # PETS 2009 (examples/pets09.yaml)


def truth_door_counts(boxes: list[TruthBox], exclusion: StaffExclusion) -> tuple[int, int]:
    """Door counts of the truth tracks through ``exclusion`` (a track is retired in the
    frame after its last one, as a tracker would)."""
    door = LineCounter("door", _door_geometry(), 5.0)
    by_frame: dict[int, list[TruthBox]] = defaultdict(list)
    last_frame: dict[int, int] = {}
    for box in boxes:
        by_frame[box.frame].append(box)
        last_frame[box.track_id] = max(last_frame.get(box.track_id, 0), box.frame)
    counted: list[Crossing] = []
    for frame in sorted(by_frame):
        rows = by_frame[frame]
        ids = np.array([row.track_id for row in rows], dtype=np.int64)
        points = np.array([((row.box[0] + row.box[2]) / 2, row.box[3]) for row in rows])
        retired = [track for track, last in last_frame.items() if last == frame - 1]
        crossings = door.trigger(ids, points)
        counted += exclusion.filter(frame / FRAMES_PER_SECOND, ids, points, crossings, retired)
    counted += exclusion.filter(
        1e9, np.zeros(0, dtype=np.int64), np.zeros((0, 2)), [], list(last_frame)
    )
    entries = sum(crossing.direction is Direction.ENTRY for crossing in counted)
    return entries, len(counted) - entries


def _door_geometry() -> DirectedLine:
    """The door line of ``examples/pets09.yaml``."""
    return DirectedLine(start=(384, 150), end=(384, 576), inside=(100, 363))


def expected_by_whole_tracks(boxes: list[TruthBox]) -> tuple[int, int]:
    """The same truth without ``StaffExclusion``: whole trajectories, known in advance."""
    zone = Polygon(tuple(ZONE))
    tracks: dict[int, list[TruthBox]] = defaultdict(list)
    for box in sorted(boxes, key=lambda box: box.frame):
        tracks[box.track_id].append(box)
    entries = exits = 0
    for track in tracks.values():
        ends = np.array([((b.box[0] + b.box[2]) / 2, b.box[3]) for b in (track[0], track[-1])])
        if zone.contains(ends).any():
            continue
        door = LineCounter("door", _door_geometry(), 5.0)
        for box in track:
            point = np.array([((box.box[0] + box.box[2]) / 2, box.box[3])])
            for crossing in door.trigger(np.array([box.track_id]), point):
                entries += crossing.direction is Direction.ENTRY
                exits += crossing.direction is Direction.EXIT
    return entries, exits


def test_truth_tracks_starting_or_ending_in_the_zone_are_not_counted(footage: Path) -> None:
    boxes = load_mot(footage / "gt" / "gt.txt")
    without = truth_door_counts(boxes, StaffExclusion([], ["door"]))
    assert without == (18, 14)  # the clip's door truth (README, accuracy)
    exclusion = StaffExclusion([Polygon(tuple(ZONE))], ["door"], hold_seconds=1e9)
    assert truth_door_counts(boxes, exclusion) == expected_by_whole_tracks(boxes) == (10, 10)
    assert exclusion.excluded == 12
    assert exclusion.tracked_count == 0
    # the shipped hold (30 s) is long enough for every track of this clip that ends in the zone
    shipped = StaffExclusion([Polygon(tuple(ZONE))], ["door"], EXCLUSION_HOLD_SECONDS)
    assert truth_door_counts(boxes, shipped) == (10, 10)


def with_exclusion_zone(config: EdgeConfig) -> EdgeConfig:
    """The shared run's config with the zone, the door its only entrance (the five extra
    audit lines internal), full frames (the recorded detections are full frames)."""
    camera = config.cameras[0]
    zone = ZoneConfig(id="staff-door", polygon=list(ZONE), role=ZoneRole.EXCLUSION)
    lines = [
        line if line.id == "door" else line.model_copy(update={"role": LineRole.INTERNAL})
        for line in camera.lines
    ]
    camera = camera.model_copy(update={"zones": [*camera.zones, zone], "lines": lines})
    regions = config.detector.regions.model_copy(update={"enabled": False})
    detector = config.detector.model_copy(update={"regions": regions})
    return config.model_copy(update={"cameras": [camera], "detector": detector})


@pytest.mark.slow
def test_the_pipeline_excludes_staff_on_pets(pets_run: PetsRun) -> None:
    config = with_exclusion_zone(pets_run.config)
    sink = MemorySink()
    worker = EdgeWorker(config, sink, detector=ReplayedDetector(pets_run.detections))
    worker.run()
    counter = worker.cameras[0].counter
    door = counter.totals["door"]
    without = pets_run.report.lines["door"]
    print(
        f"FIGURE staff exclusion on PETS: door {without['in']} in / {without['out']} out "
        f"without the zone, {door.entries} / {door.exits} with it (truth 10 / 10), "
        f"{counter.excluded_crossings} excluded"
    )
    # Measured: 18 / 14 without the zone, 12 / 11 with it, 9 of the truth's 12 crossings
    # excluded. The three missed are people whose track the tracker confirmed only after
    # they had walked out of the 68 px zone (README: what staff exclusion cannot catch).
    assert abs(door.entries - 10) <= 2
    assert abs(door.exits - 10) <= 2
    assert counter.excluded_crossings >= 6
    # nothing is lost: every crossing is either counted or excluded
    assert (door.entries + door.exits + counter.excluded_crossings) == without["in"] + without[
        "out"
    ]
    stored = sink.intervals
    assert all(message.schema_version == 2 for message in stored)
    assert sum(message.lines["door"].entries for message in stored) == door.entries
    assert sum(message.lines["door"].exits for message in stored) == door.exits
    assert {message.zones["staff-door"].role for message in stored} == {ZoneRole.EXCLUSION}
