"""Turns per-frame crossings and zone counts into fixed-length count intervals.

Intervals are aligned to multiples of ``interval_seconds`` since the Unix epoch (UTC), so the
intervals of every camera line up. The first interval after a (re)start begins no earlier than
the end of the last interval this camera emitted, so a restart never produces a second
interval with the same start (the aggregator keys storage on the interval start).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.counting.counters import Crossing, Direction
from edge.counting.dwell import dwell_counts
from protocol.messages import CountInterval, LineCount, LineRole, ZoneOccupancy, ZoneRole


@dataclass
class IntervalTotals:
    """What one camera counted during one interval, before it becomes a wire message."""

    start_utc: datetime
    end_utc: datetime
    frames: int = 0
    entries: dict[str, int] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)
    zone_sums: dict[str, int] = field(default_factory=dict)
    zone_maxima: dict[str, int] = field(default_factory=dict)
    line_roles: dict[str, LineRole] | None = None
    """Roles of the lines and zones (schema version 2); None: a version 1 interval."""
    zone_roles: dict[str, ZoneRole] | None = None
    zone_dwell_seconds: dict[str, list[float]] = field(default_factory=dict)
    """Dwell times of the stays that ended in each zone during the interval."""
    people_scale: float = 1.0
    """True people per person counted (``counting.people_scale``): the zone occupancy
    reported is the count times this; ``zone_sums`` and ``zone_maxima`` stay as counted."""

    def zone_mean(self, zone_id: str) -> float:
        """People in the zone, averaged over the interval's frames, scaled: the scale is a
        ratio of sums over frames, so the scaled mean is unbiased where the scale holds."""
        if not self.frames:
            return 0.0
        return self.zone_sums.get(zone_id, 0) * self.people_scale / self.frames

    def zone_max(self, zone_id: str) -> int:
        """The most people counted in the zone in one frame, scaled and rounded half up to
        whole people (3 counted at scale 1.25 are 4: 3.75 rounds up; 2 are 3: 2.5 rounds up)
        so the maximum stays a head count and at least the scaled mean of its frame."""
        return math.floor(self.zone_maxima.get(zone_id, 0) * self.people_scale + 0.5)


def _to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class IntervalAccumulator:
    """Accumulates frames into aligned intervals; ``add_frame`` returns finished intervals."""

    def __init__(
        self,
        interval_seconds: float,
        line_ids: Sequence[str],
        zone_ids: Sequence[str],
        not_before_utc: datetime | None = None,
        line_roles: Mapping[str, LineRole] | None = None,
        zone_roles: Mapping[str, ZoneRole] | None = None,
        people_scale: float = 1.0,
    ) -> None:
        """``line_roles`` and ``zone_roles`` (both or neither): intervals become schema
        version 2, carrying them and the zones' dwell counts. ``people_scale`` (true people
        per person counted) scales the zones' occupancy (``IntervalTotals.zone_mean``)."""
        if (line_roles is None) != (zone_roles is None):
            raise ValueError("give both line_roles and zone_roles, or neither")
        if not people_scale > 0:
            raise ValueError(f"people_scale must be > 0, got {people_scale}")
        self._people_scale = people_scale
        self._line_roles = None if line_roles is None else dict(line_roles)
        self._zone_roles = None if zone_roles is None else dict(zone_roles)
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be > 0, got {interval_seconds}")
        self.interval_seconds = interval_seconds
        self._line_ids = list(line_ids)
        self._zone_ids = list(zone_ids)
        self._not_before = not_before_utc.timestamp() if not_before_utc else -math.inf
        self._current: IntervalTotals | None = None
        self._current_end_seconds = -math.inf
        self._last_frame_seconds = -math.inf

    def _open(self, timestamp_seconds: float) -> None:
        aligned_start = (
            math.floor(timestamp_seconds / self.interval_seconds) * self.interval_seconds
        )
        start = max(aligned_start, self._not_before)
        end = aligned_start + self.interval_seconds
        self._current = IntervalTotals(
            start_utc=_to_datetime(start),
            end_utc=_to_datetime(end),
            entries=dict.fromkeys(self._line_ids, 0),
            exits=dict.fromkeys(self._line_ids, 0),
            zone_sums=dict.fromkeys(self._zone_ids, 0),
            zone_maxima=dict.fromkeys(self._zone_ids, 0),
            line_roles=self._line_roles,
            zone_roles=self._zone_roles,
            zone_dwell_seconds={zone_id: [] for zone_id in self._zone_ids},
            people_scale=self._people_scale,
        )
        self._current_end_seconds = end

    def add_frame(
        self,
        timestamp_seconds: float,
        crossings: Iterable[Crossing],
        zone_counts: dict[str, int],
        dwell_seconds: Mapping[str, list[float]] | None = None,
    ) -> list[IntervalTotals]:
        """Add one frame (UTC seconds since the epoch). Frames must not go back in time.
        ``dwell_seconds``: per zone, the stays that ended in this frame."""
        if timestamp_seconds < self._last_frame_seconds:
            raise ValueError(
                f"frame time {timestamp_seconds} is before the previous frame "
                f"{self._last_frame_seconds}"
            )
        if timestamp_seconds < self._not_before:
            raise ValueError("frame time is before the end of this camera's last interval")
        self._last_frame_seconds = timestamp_seconds
        finished: list[IntervalTotals] = []
        if self._current is not None and timestamp_seconds >= self._current_end_seconds:
            finished.append(self._current)
            self._current = None
        if self._current is None:
            self._open(timestamp_seconds)
        current = self._current
        assert current is not None
        current.frames += 1
        for crossing in crossings:
            totals = current.entries if crossing.direction is Direction.ENTRY else current.exits
            totals[crossing.line_id] = totals.get(crossing.line_id, 0) + 1
        for zone_id, count in zone_counts.items():
            current.zone_sums[zone_id] = current.zone_sums.get(zone_id, 0) + count
            current.zone_maxima[zone_id] = max(current.zone_maxima.get(zone_id, 0), count)
        for zone_id, stays in (dwell_seconds or {}).items():
            current.zone_dwell_seconds.setdefault(zone_id, []).extend(stays)
        return finished

    def add_late(
        self, crossings: Iterable[Crossing], dwell_seconds: Mapping[str, list[float]]
    ) -> None:
        """Crossings and ended stays known only now, without a frame (held crossings and
        open stays at shutdown), into the open interval; nothing when none is open."""
        current = self._current
        if current is None:
            return
        for crossing in crossings:
            totals = current.entries if crossing.direction is Direction.ENTRY else current.exits
            totals[crossing.line_id] = totals.get(crossing.line_id, 0) + 1
        for zone_id, stays in dwell_seconds.items():
            current.zone_dwell_seconds.setdefault(zone_id, []).extend(stays)

    @property
    def open_interval_utc(self) -> tuple[datetime, datetime] | None:
        """Start and planned end of the interval the last frame went into (None before the
        first frame and after ``flush``): what a live crossing of that frame belongs to."""
        if self._current is None:
            return None
        return self._current.start_utc, _to_datetime(self._current_end_seconds)

    def flush(self, end_seconds: float | None = None) -> list[IntervalTotals]:
        """Close the open interval (at shutdown or end of file), ending it at ``end_seconds``
        when that is earlier than its aligned end, so a restart can continue from there."""
        if self._current is None:
            return []
        current = self._current
        self._current = None
        if end_seconds is not None and end_seconds < self._current_end_seconds:
            end = max(end_seconds, current.start_utc.timestamp() + 1e-3)
            current.end_utc = _to_datetime(end)
        return [current]


def to_message(
    totals: IntervalTotals,
    *,
    store_id: str,
    camera_id: str,
    sequence: int,
    software_version: str,
    config_fingerprint: str,
) -> CountInterval:
    """The wire message for one interval: counts only (schema version 2 when the interval
    carries roles)."""
    line_roles, zone_roles = totals.line_roles, totals.zone_roles
    version_2 = line_roles is not None and zone_roles is not None
    return CountInterval(
        schema_version=2 if version_2 else 1,
        store_id=store_id,
        camera_id=camera_id,
        sequence=sequence,
        interval_start_utc=totals.start_utc,
        interval_end_utc=totals.end_utc,
        frames=totals.frames,
        lines={
            line_id: LineCount(
                entries=totals.entries[line_id],
                exits=totals.exits[line_id],
                role=line_roles.get(line_id, LineRole.INTERNAL) if line_roles else None,
            )
            for line_id in totals.entries
        },
        zones={
            zone_id: ZoneOccupancy(
                mean=round(totals.zone_mean(zone_id), 4),
                max=totals.zone_max(zone_id),
                role=zone_roles.get(zone_id, ZoneRole.COUNTING) if zone_roles else None,
                dwell=dwell_counts(totals.zone_dwell_seconds.get(zone_id, []))
                if version_2
                else None,
            )
            for zone_id in totals.zone_sums
        },
        software_version=software_version,
        config_fingerprint=config_fingerprint,
    )
