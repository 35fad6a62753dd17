"""Merging two consecutive count intervals of one camera into one coarser interval.

The outbox merges its oldest unsent intervals when it reaches its disk quota. A merge must
keep every total exact: line entries and exits are summed, frames are summed, zone means are
weighted by frames and zone maxima take the larger value. The merged interval lists, in
``merged_starts_utc``, the start of every interval it replaces, so the aggregator can write
zeros at those starts and overwrite anything an earlier delivery stored there.

Pure computation: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from protocol.messages import (
    MAX_INTERVAL,
    MAX_PAYLOAD_BYTES,
    CountInterval,
    DwellCounts,
    LineCount,
    ZoneOccupancy,
    ZoneRole,
)


def covered_starts(interval: CountInterval) -> list[datetime]:
    """Starts of the original (unmerged) intervals that ``interval`` stands for."""
    return list(interval.merged_starts_utc) or [interval.interval_start_utc]


def can_merge(earlier: CountInterval, later: CountInterval) -> bool:
    """Whether the two may become one interval without mixing what they describe: same
    store, camera, software and counting config, and ``later`` starts after ``earlier`` ends.
    """
    return (
        earlier.store_id == later.store_id
        and earlier.camera_id == later.camera_id
        and earlier.software_version == later.software_version
        and earlier.config_fingerprint == later.config_fingerprint
        and earlier.schema_version == later.schema_version
        and earlier.interval_end_utc <= later.interval_start_utc
    )


def _merge_lines(earlier: CountInterval, later: CountInterval) -> dict[str, LineCount]:
    lines: dict[str, LineCount] = {}
    for line_id in [*earlier.lines, *(key for key in later.lines if key not in earlier.lines)]:
        first = earlier.lines.get(line_id, LineCount(entries=0, exits=0))
        second = later.lines.get(line_id, LineCount(entries=0, exits=0))
        lines[line_id] = LineCount(
            entries=first.entries + second.entries,
            exits=first.exits + second.exits,
            role=first.role or second.role,
        )
    return lines


def _merge_zones(earlier: CountInterval, later: CountInterval) -> dict[str, ZoneOccupancy]:
    """Frame-weighted means; a zone absent from one interval is weighted over the other only.
    Dwell counts (schema version 2) are summed."""
    zones: dict[str, ZoneOccupancy] = {}
    for zone_id in [*earlier.zones, *(key for key in later.zones if key not in earlier.zones)]:
        weighted_sum = 0.0
        weight_frames = 0
        maximum = 0
        role: ZoneRole | None = None
        dwell: DwellCounts | None = None
        for interval in (earlier, later):
            zone = interval.zones.get(zone_id)
            if zone is None:
                continue
            weighted_sum += zone.mean * interval.frames
            weight_frames += interval.frames
            maximum = max(maximum, zone.max)
            role = role or zone.role
            if zone.dwell is not None:
                dwell = zone.dwell if dwell is None else dwell + zone.dwell
        mean = weighted_sum / weight_frames if weight_frames else 0.0
        zones[zone_id] = ZoneOccupancy(
            mean=min(mean, float(maximum)), max=maximum, role=role, dwell=dwell
        )
    return zones


def merge_intervals(
    earlier: CountInterval, later: CountInterval, sequence: int
) -> CountInterval | None:
    """One interval ``[earlier.start, later.end)`` carrying the sum of both, numbered
    ``sequence``; None when the two cannot be merged (see ``can_merge``) or when the result
    would break a limit of the wire schema (a count over 1,000,000, longer than 7 days,
    more than 100,000 merged starts, a payload over ``MAX_PAYLOAD_BYTES``)."""
    if not can_merge(earlier, later):
        return None
    if later.interval_end_utc - earlier.interval_start_utc > MAX_INTERVAL:
        return None
    try:
        merged = CountInterval(
            schema_version=earlier.schema_version,
            store_id=earlier.store_id,
            camera_id=earlier.camera_id,
            sequence=sequence,
            interval_start_utc=earlier.interval_start_utc,
            interval_end_utc=later.interval_end_utc,
            frames=earlier.frames + later.frames,
            lines=_merge_lines(earlier, later),
            zones=_merge_zones(earlier, later),
            software_version=earlier.software_version,
            config_fingerprint=earlier.config_fingerprint,
            merged_starts_utc=covered_starts(earlier) + covered_starts(later),
        )
    except ValidationError:
        return None
    if len(merged.model_dump_json()) > MAX_PAYLOAD_BYTES:  # ASCII: characters are bytes
        return None
    return merged
