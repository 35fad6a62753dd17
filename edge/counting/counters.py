"""Line crossings and zone occupancy from tracked reference points.

Counting never loads a model, draws or does I/O: it takes track ids and points (source-frame
pixels) and returns events. Per-track state is bounded: ``forget`` drops tracks that the
tracker has retired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from edge.counting.geometry import DirectedLine, Polygon
from edge.vision.detections import FloatArray, IntArray


class Direction(StrEnum):
    ENTRY = "entry"
    """Crossing toward the line's ``inside`` point (into the store)."""
    EXIT = "exit"


@dataclass(frozen=True)
class Crossing:
    line_id: str
    track_id: int
    direction: Direction


@dataclass
class _TrackSide:
    side: int
    """+1 beyond the band on the inside, -1 beyond the band on the outside."""
    point: FloatArray
    """Last reference point seen beyond the band."""


class LineCounter:
    """Counts each track once every time it moves from beyond the hysteresis band on one side
    of the line to beyond the band on the other side, through the finite line segment.

    Positions inside the band (``margin_px`` either side of the line) never change a track's
    side, so jitter and lingering on the line, and U-turns inside the band, count nothing;
    walking back out counts an exit. A side change that passes beside the segment (around its
    end, further than ``margin_px``) updates the side without counting.
    """

    def __init__(self, line_id: str, line: DirectedLine, margin_px: float) -> None:
        if margin_px < 0:
            raise ValueError(f"line {line_id!r}: margin_px must be >= 0, got {margin_px}")
        self.line_id = line_id
        self.line = line
        self.margin_px = margin_px
        self._tracks: dict[int, _TrackSide] = {}

    @property
    def tracked_count(self) -> int:
        return len(self._tracks)

    def trigger(self, track_ids: IntArray, points: FloatArray) -> list[Crossing]:
        """Update with one frame's tracked points (N ids, N×2 points); return crossings."""
        if len(track_ids) == 0:
            return []
        distances = self.line.signed_distance(points)
        sides = np.where(
            distances > self.margin_px, 1, np.where(distances < -self.margin_px, -1, 0)
        )
        crossings: list[Crossing] = []
        for track_id, side, point in zip(track_ids.tolist(), sides.tolist(), points, strict=True):
            if side == 0:
                continue
            previous = self._tracks.get(track_id)
            if previous is None:
                self._tracks[track_id] = _TrackSide(side=side, point=point.copy())
                continue
            if side != previous.side and self._through_segment(previous.point, point):
                direction = Direction.ENTRY if side > 0 else Direction.EXIT
                crossings.append(Crossing(self.line_id, track_id, direction))
            previous.side = side
            previous.point = point.copy()
        return crossings

    def _through_segment(self, before: FloatArray, after: FloatArray) -> bool:
        return bool(
            self.line.crossing_within_segment(before[None, :], after[None, :], self.margin_px)[0]
        )

    def forget(self, track_ids: Iterable[int]) -> None:
        for track_id in track_ids:
            self._tracks.pop(track_id, None)


class ZoneCounter:
    """People whose reference point lies inside a polygon, per frame."""

    def __init__(self, zone_id: str, polygon: Polygon) -> None:
        self.zone_id = zone_id
        self.polygon = polygon

    def trigger(self, points: FloatArray) -> int:
        return int(self.polygon.contains(points).sum())
