"""How long people stay in a zone, from their tracks: counts per dwell bucket, no track ids.

Pure: takes person ids and reference points (source-frame pixels) per frame and returns the
dwell times of the stays that ended. Per-person state exists only while a person is in a
stay and is dropped when the stay ends or the tracker retires the person.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from edge.counting.geometry import Polygon
from edge.vision.detections import FloatArray, IntArray
from protocol.messages import DWELL_BUCKET_BOUNDS_SECONDS, DwellCounts

DWELL_GAP_SECONDS = 2.0
"""A person outside the zone (or unseen) for longer than this has left it: shorter gaps
(feet flickering across the zone's edge, a missed detection) continue the same stay."""


def dwell_bucket(dwell_seconds: float) -> int:
    """Index of the bucket of ``dwell_seconds``: 0 below 30 s, 1 below 2 min, 2 below
    10 min, 3 from 10 min (``DWELL_BUCKET_BOUNDS_SECONDS``)."""
    return bisect_right(DWELL_BUCKET_BOUNDS_SECONDS, dwell_seconds)


def dwell_counts(dwell_seconds: Iterable[float]) -> DwellCounts:
    """The wire buckets of a list of dwell times."""
    counts = [0, 0, 0, 0]
    for seconds in dwell_seconds:
        counts[dwell_bucket(seconds)] += 1
    return DwellCounts(
        under_30_seconds=counts[0],
        from_30_to_120_seconds=counts[1],
        from_120_to_600_seconds=counts[2],
        over_600_seconds=counts[3],
    )


@dataclass
class _Stay:
    first_seconds: float
    last_seconds: float


class ZoneDwell:
    """Stays of people in one zone. A stay runs from the first to the last frame in which
    the person's reference point was inside the polygon; it ends when the person has been
    outside or unseen for more than ``gap_seconds``, or is retired by the tracker."""

    def __init__(
        self, zone_id: str, polygon: Polygon, gap_seconds: float = DWELL_GAP_SECONDS
    ) -> None:
        if gap_seconds < 0:
            raise ValueError(f"zone {zone_id!r}: gap_seconds must be >= 0, got {gap_seconds}")
        self.zone_id = zone_id
        self.polygon = polygon
        self.gap_seconds = gap_seconds
        self._stays: dict[int, _Stay] = {}

    @property
    def tracked_count(self) -> int:
        """People with an open stay (bounded: ended and retired ones are dropped)."""
        return len(self._stays)

    def update(
        self,
        timestamp_seconds: float,
        person_ids: IntArray,
        points: FloatArray,
        forgotten_ids: Iterable[int] = (),
    ) -> list[float]:
        """One frame (seconds, N person ids, N×2 points); the dwell seconds of the stays
        that ended in it."""
        inside: list[bool] = self.polygon.contains(points).tolist() if len(points) else []
        for person_id, is_inside in zip(person_ids.tolist(), inside, strict=True):
            if not is_inside:
                continue
            stay = self._stays.get(person_id)
            if stay is None:
                self._stays[person_id] = _Stay(timestamp_seconds, timestamp_seconds)
            else:
                stay.last_seconds = timestamp_seconds
        ended = [
            person_id
            for person_id, stay in self._stays.items()
            if timestamp_seconds - stay.last_seconds > self.gap_seconds
        ]
        ended += [person_id for person_id in forgotten_ids if person_id in self._stays]
        return [self._end(person_id) for person_id in dict.fromkeys(ended)]

    def flush(self) -> list[float]:
        """End every open stay (end of a recording, shutdown)."""
        return [self._end(person_id) for person_id in list(self._stays)]

    def _end(self, person_id: int) -> float:
        stay = self._stays.pop(person_id)
        return stay.last_seconds - stay.first_seconds
