"""Accuracy audit against ground truth, like the manual video audits that commercial counters
are sold on: true vs counted crossings per line and direction, and the per-frame people-count
error. The truth is MOT tracks (here) or a person's tally of crossings (``edge.tally``, then
:func:`audit_events`, without the people-count error).

The truth is derived from the annotated tracks with the plain line rule of
``../shared/footage/derive_counts.py`` (``LineCounter`` with a fixed 5 px band, bottom-centre
of each ground-truth box): the same truth whatever the counting settings under test.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.config import CameraConfig, CountingConfig
from edge.counting.counters import Direction, LineCounter
from edge.replay import CrossingEvent, ReplayReport
from edge.vision.detections import People, ReferencePoint, reference_points
from edge.vision.regions import Rectangle, count_in_view

PEDESTRIAN_CLASSES = {1}
MATCH_TOLERANCE_SECONDS = 2.0
"""A counted crossing matches a true one of the same line and direction this close in time
(counting may decide up to ~2 s after the feet cross)."""
TRUTH_MARGIN_PX = 5.0
"""Band of the reference rule that defines true crossings (derive_counts.py's default)."""


class TruthError(ValueError):
    """The ground-truth file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class TruthBox:
    frame: int
    track_id: int
    box: tuple[float, float, float, float]
    """x1, y1, x2, y2 in source pixels."""


def load_mot(path: Path) -> list[TruthBox]:
    """MOT ``gt.txt``: ``frame,id,x,y,w,h,conf,class,visibility``. MOT16+ files drop rows with
    conf 0 and keep pedestrians (class 1); MOT15 files (no class column) keep every row."""
    rows: list[list[float]] = []
    try:
        text = path.read_text()
    except OSError as error:
        raise TruthError(f"cannot read ground truth {path}: {error.strerror}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append([float(part) for part in raw.replace(" ", ",").split(",") if part])
        except ValueError:
            raise TruthError(f"{path}:{number}: not a MOT row: {raw[:80]!r}") from None
        if len(rows[-1]) < 6:
            raise TruthError(f"{path}:{number}: needs at least 6 columns")
    mot16 = all(
        len(row) >= 8 and row[6] in (0.0, 1.0) and row[7] == int(row[7]) and 1 <= row[7] <= 12
        for row in rows[:5000]
    )
    boxes = []
    for row in rows:
        if mot16 and (row[6] == 0 or int(row[7]) not in PEDESTRIAN_CLASSES):
            continue
        x, y, width, height = row[2:6]
        boxes.append(TruthBox(int(row[0]), int(row[1]), (x, y, x + width, y + height)))
    return boxes


@dataclass(frozen=True)
class LineAudit:
    line_id: str
    true_entries: int
    counted_entries: int
    true_exits: int
    counted_exits: int

    @staticmethod
    def accuracy_percent(true: int, counted: int) -> float:
        if true == 0:
            return 100.0 if counted == 0 else 0.0
        return max(0.0, 100.0 * (1 - abs(counted - true) / true))


@dataclass(frozen=True)
class CrossingMatch:
    """One true crossing and the counted one it matched, or either alone."""

    line_id: str
    direction: Direction
    true_frame: int | None
    counted_frame: int | None
    counted_person_id: int | None = None
    """The id of the person counted (never leaves the device), to pick them out in pictures."""

    @property
    def outcome(self) -> str:
        if self.true_frame is None:
            return "extra"
        return "missed" if self.counted_frame is None else "matched"

    @property
    def frame(self) -> int:
        frame = self.true_frame if self.true_frame is not None else self.counted_frame
        assert frame is not None
        return frame


@dataclass(frozen=True)
class AuditResult:
    lines: list[LineAudit]
    frames: int
    people_mae: float | None
    """Mean absolute error of people per frame (detected vs annotated, counting only annotated
    people whose feet are where the detector looked); None when the truth is a tally (it has
    no people per frame), like the next two."""
    tracked_people_mae: float | None
    true_people_mean: float | None
    crossings: list[CrossingMatch]
    """Every true and every counted crossing, matched, missed or extra, in frame order."""
    people_scale: float = 1.0
    """``counting.people_scale`` of the replay."""
    scaled_people_mae: float | None = None
    """People per frame as zone occupancy reports them (tracked × ``people_scale``) against
    annotated ones: MAE, and bias (mean of scaled - true; negative: too few). None with a
    tally. On a clip other than the one calibrated on, they check that the scale holds."""
    scaled_people_bias: float | None = None


def match_crossings(
    true_events: list[CrossingEvent], counted_events: list[CrossingEvent], tolerance_frames: float
) -> list[CrossingMatch]:
    """Pair true and counted crossings of the same line and direction at most
    ``tolerance_frames`` apart: in time order, each true crossing takes the earliest counted
    one still free within the tolerance (on a time line this pairs as many as possible)."""
    free = sorted(range(len(counted_events)), key=lambda index: counted_events[index].frame)
    rows: list[CrossingMatch] = []
    for event in sorted(true_events, key=lambda event: event.frame):
        partner = next(
            (
                index
                for index in free
                if (counted_events[index].line_id, counted_events[index].direction)
                == (event.line_id, event.direction)
                and abs(counted_events[index].frame - event.frame) <= tolerance_frames
            ),
            None,
        )
        if partner is not None:
            free.remove(partner)
        counted = None if partner is None else counted_events[partner]
        rows.append(
            CrossingMatch(
                event.line_id,
                event.direction,
                event.frame,
                None if counted is None else counted.frame,
                None if counted is None else counted.person_id,
            )
        )
    rows += [
        CrossingMatch(event.line_id, event.direction, None, event.frame, event.person_id)
        for event in (counted_events[index] for index in free)
    ]
    return sorted(rows, key=lambda row: (row.frame, row.line_id, row.direction.value))


def true_crossings(
    boxes: list[TruthBox], camera: CameraConfig, margin_px: float = TRUTH_MARGIN_PX
) -> dict[str, dict[Direction, int]]:
    totals = {line.id: dict.fromkeys(Direction, 0) for line in camera.lines}
    for event in true_crossing_events(boxes, camera, margin_px):
        totals[event.line_id][event.direction] += 1
    return totals


def true_crossing_events(
    boxes: list[TruthBox], camera: CameraConfig, margin_px: float = TRUTH_MARGIN_PX
) -> list[CrossingEvent]:
    by_frame: dict[int, list[TruthBox]] = defaultdict(list)
    for box in boxes:
        by_frame[box.frame].append(box)
    counters = [LineCounter(line.id, line.geometry(), margin_px) for line in camera.lines]
    events: list[CrossingEvent] = []
    for frame in sorted(by_frame):
        rows = by_frame[frame]
        people = People(
            boxes=np.array([row.box for row in rows], dtype=np.float64),
            scores=np.ones(len(rows)),
            track_ids=np.array([row.track_id for row in rows], dtype=np.int64),
        )
        points = reference_points(people, ReferencePoint.BOTTOM_CENTRE)
        assert people.track_ids is not None
        for counter in counters:
            events += [
                CrossingEvent(frame, crossing.line_id, crossing.direction)
                for crossing in counter.trigger(people.track_ids, points)
            ]
    return events


def _line_audits(
    report: ReplayReport, true_events: list[CrossingEvent], camera: CameraConfig
) -> list[LineAudit]:
    truth = {line.id: dict.fromkeys(Direction, 0) for line in camera.lines}
    for event in true_events:
        truth[event.line_id][event.direction] += 1
    return [
        LineAudit(
            line_id=line_id,
            true_entries=truth[line_id][Direction.ENTRY],
            counted_entries=report.lines[line_id]["in"],
            true_exits=truth[line_id][Direction.EXIT],
            counted_exits=report.lines[line_id]["out"],
        )
        for line_id in truth
    ]


def _tolerance_frames(report: ReplayReport, tolerance_seconds: float) -> float:
    if tolerance_seconds < 0:
        raise ValueError(f"tolerance_seconds must be 0 or more, got {tolerance_seconds}")
    return tolerance_seconds * (report.source_frames_per_second or 10.0)


def audit_events(
    report: ReplayReport,
    true_events: list[CrossingEvent],
    camera: CameraConfig,
    tolerance_seconds: float = MATCH_TOLERANCE_SECONDS,
) -> AuditResult:
    """The audit against true crossings alone (a tally: ``edge.tally.tally_events``): totals
    and every crossing matched, missed or extra; no people-per-frame error."""
    return AuditResult(
        lines=_line_audits(report, true_events, camera),
        frames=len(report.per_frame),
        people_mae=None,
        tracked_people_mae=None,
        true_people_mean=None,
        crossings=match_crossings(
            true_events, report.crossings, _tolerance_frames(report, tolerance_seconds)
        ),
    )


def _true_people_in_view(boxes: list[TruthBox], regions: tuple[Rectangle, ...]) -> dict[int, int]:
    """Annotated people per frame whose feet (bottom-centre) are where the detector looked
    (``regions``; empty: the whole frame), so that people outside the regions of interest,
    whom the detector never sees, do not count as missed."""
    feet: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for box in boxes:
        x1, _, x2, y2 = box.box
        feet[box.frame].append(((x1 + x2) / 2.0, y2))
    return defaultdict(
        int,
        {
            frame: count_in_view(np.array(points, dtype=np.float64).reshape(-1, 2), regions)
            for frame, points in feet.items()
        },
    )


def audit(
    report: ReplayReport,
    boxes: list[TruthBox],
    camera: CameraConfig,
    counting: CountingConfig | None = None,
    tolerance_seconds: float = MATCH_TOLERANCE_SECONDS,
) -> AuditResult:
    """``counting`` is not used: the truth never depends on the settings under test (the
    parameter stays for existing callers). A counted crossing matches a true one at most
    ``tolerance_seconds`` apart."""
    true_events = true_crossing_events(boxes, camera)
    people_per_frame = _true_people_in_view(boxes, report.regions)
    records = report.per_frame
    frames = max(len(records), 1)
    scale = report.people_scale
    scaled_errors = [r.tracked * scale - people_per_frame[r.frame] for r in records]
    return AuditResult(
        lines=_line_audits(report, true_events, camera),
        frames=len(records),
        people_mae=sum(abs(r.detected - people_per_frame[r.frame]) for r in records) / frames,
        tracked_people_mae=sum(abs(r.tracked - people_per_frame[r.frame]) for r in records)
        / frames,
        true_people_mean=sum(people_per_frame[r.frame] for r in records) / frames,
        crossings=match_crossings(
            true_events, report.crossings, _tolerance_frames(report, tolerance_seconds)
        ),
        people_scale=scale,
        scaled_people_mae=sum(abs(error) for error in scaled_errors) / frames,
        scaled_people_bias=sum(scaled_errors) / frames,
    )
