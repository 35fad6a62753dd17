"""One id per person across tracker fragments, and which of a person's boxes can be trusted.

Trackers lose people behind others and at the edge of the light, then start a new track a
moment later: the same person, a new id. ``TrackStitcher`` links a new track to a person lost
within ``stitch_seconds`` whose motion predicts the new track's position within
``radius_height_fraction`` of the person's height, so the line counters see one trajectory
(one count) instead of two halves that each start or end inside a counting band.

A box whose height jumps away from the person's recent heights (two people merged into one
box, a body cut off by an occluder) puts the reference point somewhere the person is not;
such a point is marked unreliable and does not move the person across a line.

Pure: points and heights in source-frame pixels, times in seconds. State is bounded: a person
is forgotten once the tracker has retired its track and the stitching window has passed.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.vision.detections import FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]

HEIGHT_WINDOW = 5
"""Recent consistent box heights kept per person; their median is the person's height."""
SIZE_CHANGE_FRAMES = 3
"""Consecutive inconsistent heights after which the person is taken to have changed size
(walked toward the camera quickly, or the tracker moved to someone else)."""
MAX_UNSEEN_SECONDS = 120.0
"""A person not seen for this long is forgotten even if the tracker never retires the track."""


@dataclass
class _Person:
    person_id: int
    track_id: int
    point: FloatArray
    """Last reliable reference point."""
    point_seconds: float
    seen_seconds: float
    """Last time any of the person's tracks was in a frame."""
    heights: deque[float]
    velocity: FloatArray | None = None
    """Pixels per second, smoothed over reliable observations."""
    inconsistent: list[float] = field(default_factory=list)

    @property
    def height(self) -> float:
        return float(np.median(self.heights))

    def predicted(self, timestamp_seconds: float) -> FloatArray:
        if self.velocity is None:
            return self.point
        result: FloatArray = self.point + self.velocity * (timestamp_seconds - self.point_seconds)
        return result


@dataclass(frozen=True)
class StitchedPeople:
    person_ids: IntArray
    """One id per input track; a stitched track carries the id of the person it continues."""
    heights_px: FloatArray
    """Each person's height (median of recent consistent box heights), for scaling bands."""
    reliable: BoolArray
    """False where the box height is inconsistent with the person's recent heights."""
    forgotten_ids: list[int]
    """People whose per-person state the counters can drop now."""


class TrackStitcher:
    def __init__(
        self,
        stitch_seconds: float,
        radius_height_fraction: float,
        height_tolerance: float,
    ) -> None:
        """``stitch_seconds``: how long after a person was last seen a new track may continue
        them (0: never). ``radius_height_fraction``: how far from the predicted position, in
        person heights. ``height_tolerance``: largest relative change of box height still
        taken as the same whole person (0.35: 35%)."""
        for name, value in (
            ("stitch_seconds", stitch_seconds),
            ("radius_height_fraction", radius_height_fraction),
            ("height_tolerance", height_tolerance),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.stitch_seconds = stitch_seconds
        self.radius_height_fraction = radius_height_fraction
        self.height_tolerance = height_tolerance
        self._people: dict[int, _Person] = {}
        self._person_of_track: dict[int, int] = {}
        self._next_id = itertools.count(1)
        self.links = 0
        """Tracks stitched to an earlier person so far."""

    @property
    def person_count(self) -> int:
        return len(self._people)

    def stitch(
        self,
        timestamp_seconds: float,
        track_ids: IntArray,
        points: FloatArray,
        heights_px: FloatArray,
        retired_ids: list[int],
    ) -> StitchedPeople:
        """One frame of confirmed tracks (N ids, N×2 reference points, N box heights) and the
        tracks the tracker retired in this frame."""
        count = len(track_ids)
        person_ids = np.zeros(count, dtype=np.int64)
        reference_heights = np.asarray(heights_px, dtype=np.float64).copy()
        reliable = np.ones(count, dtype=bool)
        new_tracks: list[int] = []
        for index, track_id in enumerate(track_ids.tolist()):
            person_id = self._person_of_track.get(track_id)
            if person_id is None:
                new_tracks.append(index)
            else:
                person_ids[index] = person_id
        fresh = self._link(timestamp_seconds, track_ids, points, heights_px, new_tracks, person_ids)
        for index in range(count):
            person = self._people[int(person_ids[index])]
            reference_heights[index] = person.height
            if index not in fresh:
                reliable[index] = self._observe(
                    person, timestamp_seconds, points[index], float(heights_px[index])
                )
        for track_id in retired_ids:
            self._person_of_track.pop(track_id, None)
        return StitchedPeople(
            person_ids, reference_heights, reliable, self._forget(timestamp_seconds)
        )

    def _link(
        self,
        timestamp_seconds: float,
        track_ids: IntArray,
        points: FloatArray,
        heights_px: FloatArray,
        new_tracks: list[int],
        person_ids: IntArray,
    ) -> set[int]:
        """Give each new track a lost person it continues (nearest to its prediction first),
        or a new person; return the indices of the new people."""
        seen = {int(person_id) for person_id in person_ids if person_id}
        candidates: list[tuple[float, int, int]] = []
        for index in new_tracks:
            for person in self._people.values():
                if person.person_id in seen or not self._lost_recently(person, timestamp_seconds):
                    continue
                gap = float(np.hypot(*(points[index] - person.predicted(timestamp_seconds))))
                size = max(person.height, float(heights_px[index]))
                if gap <= self.radius_height_fraction * size:
                    candidates.append((gap, index, person.person_id))
        linked: set[int] = set()
        for _gap, index, person_id in sorted(candidates):
            if index in linked or person_id in seen:
                continue
            person = self._people[person_id]
            self._person_of_track.pop(person.track_id, None)
            person.track_id = int(track_ids[index])
            self._person_of_track[person.track_id] = person_id
            person_ids[index] = person_id
            seen.add(person_id)
            linked.add(index)
            self.links += 1
        fresh = set(new_tracks) - linked
        for index in fresh:
            person_id = next(self._next_id)
            self._people[person_id] = _Person(
                person_id=person_id,
                track_id=int(track_ids[index]),
                point=points[index].copy(),
                point_seconds=timestamp_seconds,
                seen_seconds=timestamp_seconds,
                heights=deque([float(heights_px[index])], maxlen=HEIGHT_WINDOW),
            )
            self._person_of_track[int(track_ids[index])] = person_id
            person_ids[index] = person_id
        return fresh

    def _lost_recently(self, person: _Person, timestamp_seconds: float) -> bool:
        elapsed = timestamp_seconds - person.seen_seconds
        return 0 < elapsed <= self.stitch_seconds

    def _observe(
        self, person: _Person, timestamp_seconds: float, point: FloatArray, height_px: float
    ) -> bool:
        """Record one observation; return whether its box height is consistent."""
        person.seen_seconds = timestamp_seconds
        if not self._consistent(person, height_px):
            person.inconsistent.append(height_px)
            if len(person.inconsistent) < SIZE_CHANGE_FRAMES:
                return False
            person.heights.clear()
            person.heights.extend(person.inconsistent[:-1])
            person.velocity = None
        person.inconsistent.clear()
        elapsed = timestamp_seconds - person.point_seconds
        if elapsed > 0:
            velocity = (point - person.point) / elapsed
            person.velocity = (
                velocity if person.velocity is None else (person.velocity + velocity) / 2
            )
        person.heights.append(height_px)
        person.point = point.copy()
        person.point_seconds = timestamp_seconds
        return True

    def _consistent(self, person: _Person, height_px: float) -> bool:
        if self.height_tolerance == 0:
            return True
        return abs(height_px / person.height - 1.0) <= self.height_tolerance

    def _forget(self, timestamp_seconds: float) -> list[int]:
        """People whose track is retired and who can no longer be stitched."""
        forgotten = []
        for person_id, person in list(self._people.items()):
            unseen = timestamp_seconds - person.seen_seconds
            retired = self._person_of_track.get(person.track_id) != person_id
            if (retired and unseen > self.stitch_seconds) or unseen > MAX_UNSEEN_SECONDS:
                forgotten.append(person_id)
                del self._people[person_id]
                self._person_of_track.pop(person.track_id, None)
        return forgotten
