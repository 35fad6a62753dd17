"""Accuracy audit against MOT-format ground truth, like the manual video audits that
commercial counters are sold on: true vs counted crossings per line and direction, and the
per-frame people-count error.

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
from edge.replay import ReplayReport
from edge.vision.detections import People, ReferencePoint, reference_points

PEDESTRIAN_CLASSES = {1}
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
class AuditResult:
    lines: list[LineAudit]
    frames: int
    people_mae: float
    """Mean absolute error of people per frame (detected vs annotated)."""
    tracked_people_mae: float
    true_people_mean: float


def true_crossings(
    boxes: list[TruthBox], camera: CameraConfig, margin_px: float = TRUTH_MARGIN_PX
) -> dict[str, dict[Direction, int]]:
    by_frame: dict[int, list[TruthBox]] = defaultdict(list)
    for box in boxes:
        by_frame[box.frame].append(box)
    counters = [LineCounter(line.id, line.geometry(), margin_px) for line in camera.lines]
    totals = {line.id: dict.fromkeys(Direction, 0) for line in camera.lines}
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
            for crossing in counter.trigger(people.track_ids, points):
                totals[crossing.line_id][crossing.direction] += 1
    return totals


def audit(
    report: ReplayReport,
    boxes: list[TruthBox],
    camera: CameraConfig,
    counting: CountingConfig | None = None,
) -> AuditResult:
    """``counting`` is not used: the truth never depends on the settings under test (the
    parameter stays for existing callers)."""
    truth = true_crossings(boxes, camera)
    people_per_frame: dict[int, int] = defaultdict(int)
    for box in boxes:
        people_per_frame[box.frame] += 1
    lines = [
        LineAudit(
            line_id=line_id,
            true_entries=truth[line_id][Direction.ENTRY],
            counted_entries=report.lines[line_id]["in"],
            true_exits=truth[line_id][Direction.EXIT],
            counted_exits=report.lines[line_id]["out"],
        )
        for line_id in truth
    ]
    records = report.per_frame
    frames = max(len(records), 1)
    return AuditResult(
        lines=lines,
        frames=len(records),
        people_mae=sum(abs(r.detected - people_per_frame[r.frame]) for r in records) / frames,
        tracked_people_mae=sum(abs(r.tracked - people_per_frame[r.frame]) for r in records)
        / frames,
        true_people_mean=sum(people_per_frame[r.frame] for r in records) / frames,
    )
