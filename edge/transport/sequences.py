"""Numbering a camera's intervals: each gets the camera's next sequence number, and none may
start before the end of the camera's previous one.

The aggregator deduplicates by sequence number and keys storage on the interval start, so
both rules hold in every sink: the outbox keeps its numbers in SQLite, the JSON-lines and
memory sinks in a :class:`CameraSequences`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from protocol.messages import CountInterval


def require_after_previous(interval: CountInterval, previous_end_utc: datetime | None) -> None:
    """Refuses (``ValueError``) an interval that starts before the end of its camera's previous
    one: the aggregator keys storage on the interval start, so overlapping intervals would
    overwrite each other's counts."""
    if previous_end_utc is not None and interval.interval_start_utc < previous_end_utc:
        raise ValueError(
            f"camera {interval.camera_id!r}: interval starting {interval.interval_start_utc}"
            f" begins before the end of its previous interval {previous_end_utc}"
        )


def numbered(
    interval: CountInterval, sequence: int, previous_end_utc: datetime | None
) -> CountInterval:
    """``interval`` under ``sequence``, once it is known to follow the previous interval."""
    require_after_previous(interval, previous_end_utc)
    return interval.model_copy(update={"sequence": sequence})


@dataclass
class CameraSequences:
    """Next sequence number and last interval end per camera, in memory."""

    _next_sequence: dict[str, int] = field(default_factory=dict)
    _last_end: dict[str, datetime] = field(default_factory=dict)

    def number(self, interval: CountInterval) -> CountInterval:
        """``interval`` numbered as the camera's next; not yet remembered."""
        camera_id = interval.camera_id
        return numbered(
            interval, self._next_sequence.get(camera_id, 0), self._last_end.get(camera_id)
        )

    def remember(self, message: CountInterval) -> None:
        """Count ``message`` as stored: later numbers and starts come after it."""
        camera_id = message.camera_id
        self._next_sequence[camera_id] = max(
            self._next_sequence.get(camera_id, 0), message.sequence + 1
        )
        previous = self._last_end.get(camera_id)
        if previous is None or message.interval_end_utc > previous:
            self._last_end[camera_id] = message.interval_end_utc

    def last_end(self, camera_id: str) -> datetime | None:
        return self._last_end.get(camera_id)
