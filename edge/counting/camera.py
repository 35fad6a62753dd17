"""One camera's counting state: line counters, zone counters and the interval accumulator.

Takes tracked people per frame (no model, no I/O) and returns what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edge.config import CameraConfig, CountingConfig
from edge.counting.counters import Crossing, Direction, LineCounter, ZoneCounter
from edge.counting.intervals import IntervalAccumulator, IntervalTotals
from edge.counting.tracking import TrackUpdate
from edge.vision.detections import FloatArray, reference_points


@dataclass(frozen=True)
class FrameCounts:
    crossings: list[Crossing]
    zone_counts: dict[str, int]
    tracked_people: int
    finished_intervals: list[IntervalTotals]
    points: FloatArray
    """Reference points of the tracked people (source pixels), for drawing."""


@dataclass
class LineTotals:
    entries: int = 0
    exits: int = 0


@dataclass
class CameraCounter:
    camera: CameraConfig
    counting: CountingConfig
    not_before_utc: datetime | None = None
    totals: dict[str, LineTotals] = field(init=False)

    def __post_init__(self) -> None:
        self._lines = [
            LineCounter(line.id, line.geometry(), self.counting.margin_px)
            for line in self.camera.lines
        ]
        self._zones = [ZoneCounter(zone.id, zone.geometry()) for zone in self.camera.zones]
        self._intervals = IntervalAccumulator(
            self.counting.interval_seconds,
            [line.id for line in self.camera.lines],
            [zone.id for zone in self.camera.zones],
            not_before_utc=self.not_before_utc,
        )
        self.totals = {line.id: LineTotals() for line in self.camera.lines}

    @property
    def tracked_state_size(self) -> int:
        """Per-track states held across all lines (bounded by ``forget``)."""
        return sum(line.tracked_count for line in self._lines)

    def process(self, timestamp_seconds: float, update: TrackUpdate) -> FrameCounts:
        people = update.people
        points = reference_points(
            people, self.counting.reference_point, self.counting.keypoint_confidence
        )
        crossings: list[Crossing] = []
        if people.track_ids is not None and len(people):
            for line in self._lines:
                crossings.extend(line.trigger(people.track_ids, points))
        for line in self._lines:
            line.forget(update.retired_ids)
        for crossing in crossings:
            totals = self.totals[crossing.line_id]
            if crossing.direction is Direction.ENTRY:
                totals.entries += 1
            else:
                totals.exits += 1
        zone_counts = {zone.zone_id: zone.trigger(points) for zone in self._zones}
        finished = self._intervals.add_frame(timestamp_seconds, crossings, zone_counts)
        return FrameCounts(crossings, zone_counts, len(people), finished, points)

    def flush(self, end_seconds: float | None = None) -> list[IntervalTotals]:
        return self._intervals.flush(end_seconds)
