"""Staff exclusion: crossings of entrance lines by people whose track starts or ends inside
an exclusion zone (a staff door, a stockroom door) are not counted.

A track that *starts* in an exclusion zone is known at once, so its entrance crossings are
dropped as they happen. Whether a track *ends* in one is known only when the tracker retires
it, so on a camera with exclusion zones every entrance crossing is held for up to
``hold_seconds``: dropped if the person's last position before retirement was inside an
exclusion zone, counted otherwise (at retirement, or when the hold runs out, in the
interval that is open then: up to ``hold_seconds`` late). A camera without exclusion zones
counts every crossing at once, exactly as before roles existed.

Pure: person ids, points (source-frame pixels) and crossings in, crossings out. Per-person
state is dropped when the tracker retires the person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.counting.counters import Crossing
from edge.counting.geometry import Polygon
from edge.vision.detections import FloatArray, IntArray

EXCLUSION_HOLD_SECONDS = 30.0
"""How long an entrance crossing waits for its track to end in an exclusion zone: long
enough to walk from the door to a staff door in the same view."""


@dataclass
class _Person:
    started_excluded: bool
    """First seen inside an exclusion zone."""
    in_exclusion: bool
    """Last seen inside an exclusion zone."""
    held: list[tuple[float, Crossing]] = field(default_factory=list)
    """Entrance crossings waiting for the track's end, with their frame times."""


class StaffExclusion:
    """Decides which entrance-line crossings count (see the module docstring)."""

    def __init__(
        self,
        exclusion_zones: Sequence[Polygon],
        entrance_line_ids: Iterable[str],
        hold_seconds: float = EXCLUSION_HOLD_SECONDS,
    ) -> None:
        if hold_seconds < 0:
            raise ValueError(f"hold_seconds must be >= 0, got {hold_seconds}")
        self.exclusion_zones = list(exclusion_zones)
        self.entrance_line_ids = frozenset(entrance_line_ids)
        self.hold_seconds = hold_seconds
        self.excluded = 0
        """Entrance crossings not counted so far (by people who started or ended in a zone)."""
        self._people: dict[int, _Person] = {}

    @property
    def active(self) -> bool:
        return bool(self.exclusion_zones and self.entrance_line_ids)

    @property
    def tracked_count(self) -> int:
        return len(self._people)

    def filter(
        self,
        timestamp_seconds: float,
        person_ids: IntArray,
        points: FloatArray,
        crossings: list[Crossing],
        forgotten_ids: Iterable[int] = (),
    ) -> list[Crossing]:
        """The crossings to count in this frame: this frame's crossings of other lines,
        and the entrance crossings whose hold ended (or whose person was retired) now."""
        if not self.active:
            return crossings
        inside = self._inside_exclusion(points)
        for person_id, is_inside in zip(person_ids.tolist(), inside.tolist(), strict=True):
            person = self._people.get(person_id)
            if person is None:
                self._people[person_id] = _Person(is_inside, is_inside)
            else:
                person.in_exclusion = is_inside
        counted = []
        for crossing in crossings:
            person = self._people.get(crossing.track_id)
            if crossing.line_id not in self.entrance_line_ids or person is None:
                counted.append(crossing)
            elif person.started_excluded:
                self.excluded += 1
            else:
                person.held.append((timestamp_seconds, crossing))
        for person_id in forgotten_ids:
            retired = self._people.pop(person_id, None)
            if retired is None:
                continue
            if retired.in_exclusion:
                self.excluded += len(retired.held)
            else:
                counted += [crossing for _, crossing in retired.held]
        return counted + self._release(timestamp_seconds - self.hold_seconds)

    def flush(self) -> list[Crossing]:
        """Every held crossing, counted (end of a recording, shutdown): nobody is known to
        have ended in an exclusion zone."""
        return self._release(float("inf"))

    def _release(self, held_before_seconds: float) -> list[Crossing]:
        released = []
        for person in self._people.values():
            while person.held and person.held[0][0] <= held_before_seconds:
                released.append(person.held.pop(0)[1])
        return released

    def _inside_exclusion(self, points: FloatArray) -> np.ndarray:
        inside = np.zeros(len(points), dtype=bool)
        if len(points):
            for polygon in self.exclusion_zones:
                inside |= polygon.contains(points)
        return inside
