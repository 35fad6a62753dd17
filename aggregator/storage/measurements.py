"""The InfluxDB schema: measurement names, tags and fields, and the conversion of wire
messages into points.

Every count point is keyed on (measurement, store, camera, line|zone, interval start), so a
redelivered or replayed message overwrites itself instead of adding: at-least-once delivery
becomes exactly-once totals without a deduplication database.

- ``line_counts`` — tags store, camera, line, entrance ("true"/"false");
  fields entries i, exits i, interval_seconds f
- ``zone_occupancy`` — tags store, camera, zone; fields mean f, max i, interval_seconds f
- ``camera_intervals`` — tags store, camera; fields frames i, sequence i,
  interval_seconds f, software_version s, config_fingerprint s
- ``store_occupancy`` — tag store; fields occupancy i, entries_today i, exits_today i,
  capacity i, over_capacity b, drift i, reset_residual i
- ``edge_health`` — tags store, camera; fields frames_per_second f, frames_processed i,
  frames_dropped i, detector_milliseconds f, outbox_depth i, outbox_bytes i,
  seconds_since_publish f, source_state s
- ``edge_status`` — tags store, camera; fields online b, state s
- ``policy_changes`` — tags policy, store; fields description s, effective_date s,
  timezone s, removed b
- ``policy_effects`` — tags policy, store, method; fields effect_pct f, ci_low_pct f,
  ci_high_pct f

Times are the interval start (counts), the change time (occupancy, status, health) or the
store-local midnight of the effective date (policies).
"""

from __future__ import annotations

from datetime import datetime

from aggregator.storage.line_protocol import Point
from protocol.messages import CameraHealth, CountInterval

LINE_COUNTS = "line_counts"
ZONE_OCCUPANCY = "zone_occupancy"
CAMERA_INTERVALS = "camera_intervals"
STORE_OCCUPANCY = "store_occupancy"
EDGE_HEALTH = "edge_health"
EDGE_STATUS = "edge_status"
POLICY_CHANGES = "policy_changes"
POLICY_EFFECTS = "policy_effects"


def interval_points(message: CountInterval, entrance_lines: set[str] | None) -> list[Point]:
    """Points for one count interval. ``entrance_lines`` lists the lines that count as store
    entrances (None: every line is an entrance).

    An interval merged by the edge outbox carries its totals at its start and writes zeros at
    the starts it replaces, overwriting any earlier delivery of those smaller intervals.
    """
    return [
        *_line_points(message, entrance_lines),
        *_zone_points(message),
        *_camera_points(message),
    ]


def _line_points(message: CountInterval, entrance_lines: set[str] | None) -> list[Point]:
    seconds = message.duration_seconds
    points: list[Point] = []
    for line_id, line in message.lines.items():
        tags = {
            "store": message.store_id,
            "camera": message.camera_id,
            "line": line_id,
            "entrance": "true" if entrance_lines is None or line_id in entrance_lines else "false",
        }
        points.append(
            Point(
                LINE_COUNTS,
                tags,
                {"entries": line.entries, "exits": line.exits, "interval_seconds": seconds},
                message.interval_start_utc,
            )
        )
        for replaced in message.merged_starts_utc[1:]:
            points.append(
                Point(
                    LINE_COUNTS, tags, {"entries": 0, "exits": 0, "interval_seconds": 0.0}, replaced
                )
            )
    return points


def _zone_points(message: CountInterval) -> list[Point]:
    seconds = message.duration_seconds
    return [
        Point(
            ZONE_OCCUPANCY,
            {"store": message.store_id, "camera": message.camera_id, "zone": zone_id},
            {"mean": float(zone.mean), "max": zone.max, "interval_seconds": seconds},
            message.interval_start_utc,
        )
        for zone_id, zone in message.zones.items()
    ]


def _camera_points(message: CountInterval) -> list[Point]:
    """Zeros at the starts a merged interval replaces, then the interval's own point."""
    camera_tags = {"store": message.store_id, "camera": message.camera_id}
    points = [
        Point(CAMERA_INTERVALS, camera_tags, {"frames": 0, "interval_seconds": 0.0}, replaced)
        for replaced in message.merged_starts_utc[1:]
    ]
    points.append(
        Point(
            CAMERA_INTERVALS,
            camera_tags,
            {
                "frames": message.frames,
                "sequence": message.sequence,
                "interval_seconds": message.duration_seconds,
                "software_version": message.software_version,
                "config_fingerprint": message.config_fingerprint,
            },
            message.interval_start_utc,
        )
    )
    return points


def health_point(health: CameraHealth, received_utc: datetime) -> Point:
    last = health.last_publish_utc
    seconds_since_publish = (health.time_utc - last).total_seconds() if last else -1.0
    return Point(
        EDGE_HEALTH,
        {"store": health.store_id, "camera": health.camera_id},
        {
            "frames_per_second": float(health.frames_per_second),
            "frames_processed": health.frames_processed,
            "frames_dropped": health.frames_dropped,
            "detector_milliseconds": float(health.detector_milliseconds),
            "outbox_depth": health.outbox_depth,
            "outbox_bytes": health.outbox_bytes,
            "seconds_since_publish": float(seconds_since_publish),
            "source_state": health.source_state,
        },
        min(health.time_utc, received_utc),
    )
