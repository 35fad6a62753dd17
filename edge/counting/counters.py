"""Line crossings and zone occupancy from tracked reference points.

Counting never loads a model, draws or does I/O: it takes track (or person) ids and points
(source-frame pixels) and returns events. Per-track state is bounded: ``forget`` drops tracks
that the tracker has retired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from edge.counting.geometry import DirectedLine, Polygon
from edge.counting.swaps import BandVisit, SwapPairing
from edge.vision.detections import FloatArray, IntArray


class Direction(StrEnum):
    ENTRY = "entry"
    """Crossing toward the line's ``inside`` point (into the store)."""
    EXIT = "exit"


@dataclass(frozen=True)
class Crossing:
    line_id: str
    track_id: int
    """The tracker's id, or the stitched person id when tracks are stitched."""
    direction: Direction


@dataclass
class _TrackSide:
    side: int
    """+1 beyond the band on the inside, -1 beyond the band on the outside, 0 not yet known
    (first seen inside the band)."""
    point: FloatArray
    """Last reference point seen beyond the band."""
    visit: BandVisit | None = None
    """The current stay inside the band after leaving ``side``, if any."""


class LineCounter:
    """Counts each track once every time it moves from beyond the band on one side of the
    line to beyond the band on the other side, through the finite line segment.

    The band is ``margin_px`` either side of the line, widened to ``band_height_fraction`` of
    each person's height when heights are given, so it means the same for a person 20 px tall
    as for one 200 px tall. Positions inside the band never change a track's side, so jitter,
    lingering and walking along the line, and U-turns inside the band, count nothing; walking
    back out counts an exit. A side change that passes beside the segment (around its end,
    further than ``margin_px``) updates the side without counting. Points marked unreliable
    (a box merged with another person, a body cut off) are ignored.

    With ``pair_swaps``, two tracks that come to the line from opposite sides at the same
    place and time and each turn back (the tracker swapped their ids at the line) count one
    entry and one exit: the people crossed, the ids did not.
    """

    def __init__(
        self,
        line_id: str,
        line: DirectedLine,
        margin_px: float,
        band_height_fraction: float = 0.0,
        pair_swaps: bool = False,
    ) -> None:
        if margin_px < 0:
            raise ValueError(f"line {line_id!r}: margin_px must be >= 0, got {margin_px}")
        if band_height_fraction < 0:
            raise ValueError(
                f"line {line_id!r}: band_height_fraction must be >= 0, got {band_height_fraction}"
            )
        self.line_id = line_id
        self.line = line
        self.margin_px = margin_px
        self.band_height_fraction = band_height_fraction
        self._swaps = SwapPairing() if pair_swaps else None
        self._tracks: dict[int, _TrackSide] = {}

    @property
    def tracked_count(self) -> int:
        return len(self._tracks)

    def bands_px(self, heights_px: FloatArray | None, count: int) -> FloatArray:
        """Half-width of the band for each of ``count`` people of the given heights."""
        if heights_px is None or self.band_height_fraction == 0:
            return np.full(count, self.margin_px)
        scaled: FloatArray = np.maximum(self.margin_px, self.band_height_fraction * heights_px)
        return scaled

    def trigger(
        self,
        track_ids: IntArray,
        points: FloatArray,
        heights_px: FloatArray | None = None,
        reliable: npt.NDArray[np.bool_] | None = None,
        timestamp_seconds: float = 0.0,
    ) -> list[Crossing]:
        """Update with one frame's tracked points (N ids, N×2 points, optionally N person
        heights in px and N reliability flags); return crossings."""
        if len(track_ids) == 0:
            return []
        distances = self.line.signed_distance(points)
        bands = self.bands_px(heights_px, len(track_ids))
        sizes = np.zeros(len(track_ids)) if heights_px is None else heights_px
        crossings: list[Crossing] = []
        for index, track_id in enumerate(track_ids.tolist()):
            if reliable is not None and not reliable[index]:
                continue
            crossings += self._update_track(
                track_id,
                points[index],
                float(distances[index]),
                (float(bands[index]), float(sizes[index])),
                timestamp_seconds,
            )
        return crossings

    def _update_track(
        self,
        track_id: int,
        point: FloatArray,
        distance: float,
        band_and_size_px: tuple[float, float],
        timestamp_seconds: float,
    ) -> list[Crossing]:
        band, size = band_and_size_px
        side = 1 if distance > band else (-1 if distance < -band else 0)
        previous = self._tracks.get(track_id)
        if previous is None:
            self._tracks[track_id] = _TrackSide(side=side, point=point.copy())
            return []
        if side == 0:
            if previous.side != 0 and self._swaps is not None:
                previous.visit = self._swaps.extend(
                    previous.visit,
                    track_id,
                    previous.side,
                    point,
                    signed_distance_px=distance,
                    band_px=band,
                    size_px=size,
                    timestamp_seconds=timestamp_seconds,
                )
            return []
        crossings: list[Crossing] = []
        if previous.side == -side:
            if self._through_segment(previous.point, point):
                crossings.append(Crossing(self.line_id, track_id, self._direction(side)))
        elif previous.side == side and previous.visit is not None and self._swaps is not None:
            crossings += self._paired_crossings(previous.visit, timestamp_seconds)
        previous.side = side
        previous.point = point.copy()
        previous.visit = None
        return crossings

    def _paired_crossings(self, visit: BandVisit, timestamp_seconds: float) -> list[Crossing]:
        assert self._swaps is not None
        partner = self._swaps.turned_back(visit, timestamp_seconds)
        if partner is None:
            return []
        # each track turned back to its own side; the people went to the opposite ones
        return [
            Crossing(self.line_id, visit.track_id, self._direction(-visit.side)),
            Crossing(self.line_id, partner.track_id, self._direction(-partner.side)),
        ]

    @staticmethod
    def _direction(side: int) -> Direction:
        return Direction.ENTRY if side > 0 else Direction.EXIT

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
