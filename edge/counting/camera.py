"""One camera's counting state: line counters, zone counters and the interval accumulator.

Takes tracked people per frame (no model, no I/O) and returns what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from edge.config import CameraConfig, CountingConfig
from edge.counting.counters import Crossing, Direction, LineCounter, ZoneCounter
from edge.counting.dwell import ZoneDwell
from edge.counting.intervals import IntervalAccumulator, IntervalTotals
from edge.counting.roles import StaffExclusion
from edge.counting.stitching import TrackStitcher
from edge.counting.tracking import TrackUpdate
from edge.vision.detections import FloatArray, IntArray, reference_points
from protocol.messages import LineRole, ZoneRole


@dataclass(frozen=True)
class FrameCounts:
    crossings: list[Crossing]
    zone_counts: dict[str, int]
    tracked_people: int
    finished_intervals: list[IntervalTotals]
    points: FloatArray
    """Reference points of the tracked people (source pixels), for drawing."""
    boxes: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))
    """The tracked people's boxes (N×4 ``x1, y1, x2, y2``, source pixels), for drawing."""
    person_ids: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """One id per tracked person, the one its crossings carry (stitched across fragments)."""


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
            LineCounter(
                line.id,
                line.geometry(),
                self.counting.margin_px,
                band_height_fraction=self.counting.band_height_fraction,
                pair_swaps=self.counting.pair_swaps,
            )
            for line in self.camera.lines
        ]
        self._stitcher = TrackStitcher(
            self.counting.stitch_seconds,
            self.counting.stitch_radius_height_fraction,
            self.counting.height_tolerance,
        )
        self._zones = [ZoneCounter(zone.id, zone.geometry()) for zone in self.camera.zones]
        self._intervals = IntervalAccumulator(
            self.counting.interval_seconds,
            [line.id for line in self.camera.lines],
            [zone.id for zone in self.camera.zones],
            not_before_utc=self.not_before_utc,
            line_roles={line.id: line.line_role for line in self.camera.lines},
            zone_roles={zone.id: zone.role for zone in self.camera.zones},
            people_scale=self.counting.people_scale,
        )
        self.totals = {line.id: LineTotals() for line in self.camera.lines}
        self._staff = StaffExclusion(
            [zone.geometry() for zone in self.camera.zones if zone.role is ZoneRole.EXCLUSION],
            [line.id for line in self.camera.lines if line.line_role is LineRole.ENTRANCE],
        )
        self._dwell = [ZoneDwell(zone.id, zone.geometry()) for zone in self.camera.zones]
        moving = (LineRole.ENTRANCE, LineRole.STAFF)
        self._occupancy_line_ids = frozenset(
            line.id for line in self.camera.lines if line.line_role in moving
        )

    @property
    def tracked_state_size(self) -> int:
        """Per-person states held by the stitcher and across all lines (bounded by
        ``forget``)."""
        return (
            self._stitcher.person_count
            + sum(line.tracked_count for line in self._lines)
            + self._staff.tracked_count
            + sum(zone.tracked_count for zone in self._dwell)
        )

    @property
    def occupancy_line_ids(self) -> frozenset[str]:
        """Lines whose crossings move occupancy (entrances, staff doors): the ones worth
        publishing live; passing and internal lines wait for their interval."""
        return self._occupancy_line_ids

    @property
    def excluded_crossings(self) -> int:
        """Entrance crossings not counted: their track started or ended in an exclusion zone."""
        return self._staff.excluded

    def process(self, timestamp_seconds: float, update: TrackUpdate) -> FrameCounts:
        people = update.people
        points = reference_points(
            people, self.counting.reference_point, self.counting.keypoint_confidence
        )
        track_ids = people.track_ids
        if track_ids is None:
            track_ids = np.zeros(0, dtype=np.int64)
        stitched = self._stitcher.stitch(
            timestamp_seconds,
            track_ids,
            points,
            people.boxes[:, 3] - people.boxes[:, 1],
            update.retired_ids,
        )
        crossings: list[Crossing] = []
        for line in self._lines:
            crossings += line.trigger(
                stitched.person_ids,
                points,
                stitched.heights_px,
                stitched.reliable,
                timestamp_seconds,
            )
            line.forget(stitched.forgotten_ids)
        crossings = self._staff.filter(
            timestamp_seconds, stitched.person_ids, points, crossings, stitched.forgotten_ids
        )
        dwell = {
            zone.zone_id: zone.update(
                timestamp_seconds, stitched.person_ids, points, stitched.forgotten_ids
            )
            for zone in self._dwell
        }
        self._add_to_totals(crossings)
        zone_counts = {zone.zone_id: zone.trigger(points) for zone in self._zones}
        finished = self._intervals.add_frame(timestamp_seconds, crossings, zone_counts, dwell)
        return FrameCounts(
            crossings, zone_counts, len(people), finished, points, people.boxes, stitched.person_ids
        )

    @property
    def open_interval_utc(self) -> tuple[datetime, datetime] | None:
        """Start and planned end of the interval the last frame's crossings were added to."""
        return self._intervals.open_interval_utc

    def flush(self, end_seconds: float | None = None) -> list[IntervalTotals]:
        """Close the open interval with the crossings still held and the stays still open."""
        held = self._staff.flush()
        self._add_to_totals(held)
        self._intervals.add_late(held, {zone.zone_id: zone.flush() for zone in self._dwell})
        return self._intervals.flush(end_seconds)

    def _add_to_totals(self, crossings: list[Crossing]) -> None:
        for crossing in crossings:
            totals = self.totals[crossing.line_id]
            if crossing.direction is Direction.ENTRY:
                totals.entries += 1
            else:
                totals.exits += 1
