"""Every InfluxDB point the product writes, built from wire messages or plain values with the
names of :mod:`aggregator.storage.measurements`. No other module constructs a :class:`Point`.

Field order is the order in the line protocol (tags are sorted when encoded); it is part of
the wire format and pinned by the tests, so it must not change.
"""

from __future__ import annotations

from datetime import date, datetime

from aggregator.storage.line_protocol import FieldValue, Point
from aggregator.storage.line_roles import effective_role, is_entrance
from aggregator.storage.measurements import (
    CAMERA_INTERVALS,
    EDGE_HEALTH,
    EDGE_STATUS,
    ENTRANCE_FALSE,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    POLICY_CHANGES,
    POLICY_EFFECTS,
    STORE_OCCUPANCY,
    STORE_TRANSACTIONS,
    ZONE_DWELL,
    ZONE_OCCUPANCY,
    CameraIntervalsField,
    EdgeHealthField,
    EdgeStatusField,
    LineCountsField,
    PolicyChangesField,
    PolicyEffectsField,
    StoreOccupancyField,
    StoreTransactionsField,
    Tag,
    ZoneDwellField,
    ZoneOccupancyField,
)
from protocol.messages import CameraHealth, CameraStatus, CountInterval


def interval_points(message: CountInterval, entrance_lines: set[str] | None) -> list[Point]:
    """Points for one count interval. ``entrance_lines`` lists the lines that count as store
    entrances (None: every line is an entrance; for version 2 lines see
    :mod:`aggregator.storage.line_roles`).

    An interval merged by the edge outbox carries its totals at its start and writes zeros at
    the starts it replaces, overwriting any earlier delivery of those smaller intervals.
    """
    return [
        *_line_points(message, entrance_lines),
        *_zone_points(message),
        *_dwell_points(message),
        *_camera_points(message),
    ]


def _line_points(message: CountInterval, entrance_lines: set[str] | None) -> list[Point]:
    seconds = message.duration_seconds
    points: list[Point] = []
    for line_id, line in message.lines.items():
        role = effective_role(line_id, line, entrance_lines)
        entrance = is_entrance(line_id, role, entrance_lines)
        tags = {
            Tag.STORE: message.store_id,
            Tag.CAMERA: message.camera_id,
            Tag.LINE: line_id,
            Tag.ENTRANCE: ENTRANCE_TRUE if entrance else ENTRANCE_FALSE,
        }
        if role is not None:
            tags[Tag.ROLE] = role.value
        points.append(
            Point(
                LINE_COUNTS,
                tags,
                {
                    LineCountsField.ENTRIES: line.entries,
                    LineCountsField.EXITS: line.exits,
                    LineCountsField.INTERVAL_SECONDS: seconds,
                },
                message.interval_start_utc,
            )
        )
        zeros: dict[str, FieldValue] = {
            LineCountsField.ENTRIES: 0,
            LineCountsField.EXITS: 0,
            LineCountsField.INTERVAL_SECONDS: 0.0,
        }
        points.extend(
            Point(LINE_COUNTS, tags, zeros, replaced) for replaced in message.merged_starts_utc[1:]
        )
    return points


def _zone_points(message: CountInterval) -> list[Point]:
    seconds = message.duration_seconds
    return [
        Point(
            ZONE_OCCUPANCY,
            {Tag.STORE: message.store_id, Tag.CAMERA: message.camera_id, Tag.ZONE: zone_id},
            {
                ZoneOccupancyField.MEAN: float(zone.mean),
                ZoneOccupancyField.MAX: zone.max,
                ZoneOccupancyField.INTERVAL_SECONDS: seconds,
            },
            message.interval_start_utc,
        )
        for zone_id, zone in message.zones.items()
    ]


def _dwell_points(message: CountInterval) -> list[Point]:
    """Dwell buckets of the zones of a version 2 interval; zeros at the starts a merged
    interval replaces (as for lines)."""
    seconds = message.duration_seconds
    points: list[Point] = []
    for zone_id, zone in message.zones.items():
        if zone.dwell is None or zone.role is None:
            continue
        tags = {
            Tag.STORE: message.store_id,
            Tag.CAMERA: message.camera_id,
            Tag.ZONE: zone_id,
            Tag.ROLE: zone.role.value,
        }
        dwell = zone.dwell
        fields: dict[str, FieldValue] = {
            ZoneDwellField.UNDER_30_SECONDS: dwell.under_30_seconds,
            ZoneDwellField.FROM_30_TO_120_SECONDS: dwell.from_30_to_120_seconds,
            ZoneDwellField.FROM_120_TO_600_SECONDS: dwell.from_120_to_600_seconds,
            ZoneDwellField.OVER_600_SECONDS: dwell.over_600_seconds,
            ZoneDwellField.INTERVAL_SECONDS: seconds,
        }
        points.append(Point(ZONE_DWELL, tags, fields, message.interval_start_utc))
        zeros: dict[str, FieldValue] = dict.fromkeys(ZoneDwellField.BUCKETS, 0)
        zeros[ZoneDwellField.INTERVAL_SECONDS] = 0.0
        points.extend(
            Point(ZONE_DWELL, tags, zeros, replaced) for replaced in message.merged_starts_utc[1:]
        )
    return points


def _camera_points(message: CountInterval) -> list[Point]:
    """Zeros at the starts a merged interval replaces, then the interval's own point."""
    camera_tags = {Tag.STORE: message.store_id, Tag.CAMERA: message.camera_id}
    zeros: dict[str, FieldValue] = {
        CameraIntervalsField.FRAMES: 0,
        CameraIntervalsField.INTERVAL_SECONDS: 0.0,
    }
    points = [
        Point(CAMERA_INTERVALS, camera_tags, zeros, replaced)
        for replaced in message.merged_starts_utc[1:]
    ]
    points.append(
        Point(
            CAMERA_INTERVALS,
            camera_tags,
            {
                CameraIntervalsField.FRAMES: message.frames,
                CameraIntervalsField.SEQUENCE: message.sequence,
                CameraIntervalsField.INTERVAL_SECONDS: message.duration_seconds,
                CameraIntervalsField.SOFTWARE_VERSION: message.software_version,
                CameraIntervalsField.CONFIG_FINGERPRINT: message.config_fingerprint,
            },
            message.interval_start_utc,
        )
    )
    return points


def health_point(health: CameraHealth, received_utc: datetime) -> Point:
    """A health report at its own time, or at ``received_utc`` if the edge clock runs ahead.
    ``seconds_since_publish`` is -1 when the edge never published."""
    last = health.last_publish_utc
    seconds_since_publish = (health.time_utc - last).total_seconds() if last else -1.0
    fields: dict[str, FieldValue] = {
        EdgeHealthField.FRAMES_PER_SECOND: float(health.frames_per_second),
        EdgeHealthField.FRAMES_PROCESSED: health.frames_processed,
        EdgeHealthField.FRAMES_DROPPED: health.frames_dropped,
        EdgeHealthField.DETECTOR_MILLISECONDS: float(health.detector_milliseconds),
        EdgeHealthField.OUTBOX_DEPTH: health.outbox_depth,
        EdgeHealthField.OUTBOX_BYTES: health.outbox_bytes,
        EdgeHealthField.SECONDS_SINCE_PUBLISH: float(seconds_since_publish),
        EdgeHealthField.SOURCE_STATE: health.source_state,
    }
    if health.detector_duty_cycle is not None:
        fields[EdgeHealthField.DETECTOR_DUTY_CYCLE] = float(health.detector_duty_cycle)
    return Point(
        EDGE_HEALTH,
        {Tag.STORE: health.store_id, Tag.CAMERA: health.camera_id},
        fields,
        min(health.time_utc, received_utc),
    )


def status_point(status: CameraStatus, received_utc: datetime) -> Point:
    """A camera's connection state at the time the aggregator received it."""
    return Point(
        EDGE_STATUS,
        {Tag.STORE: status.store_id, Tag.CAMERA: status.camera_id},
        {EdgeStatusField.ONLINE: status.state == "online", EdgeStatusField.STATE: status.state},
        received_utc,
    )


def occupancy_point(
    store_id: str,
    time_utc: datetime,
    *,
    occupancy: int,
    entries_today: int,
    exits_today: int,
    over_capacity: bool,
    drift: int,
    reset_residual: int,
    capacity: int | None,
) -> Point:
    """A store's live occupancy at a change; ``capacity`` is left out when not configured."""
    fields: dict[str, FieldValue] = {
        StoreOccupancyField.OCCUPANCY: occupancy,
        StoreOccupancyField.ENTRIES_TODAY: entries_today,
        StoreOccupancyField.EXITS_TODAY: exits_today,
        StoreOccupancyField.OVER_CAPACITY: over_capacity,
        StoreOccupancyField.DRIFT: drift,
        StoreOccupancyField.RESET_RESIDUAL: reset_residual,
    }
    if capacity is not None:
        fields[StoreOccupancyField.CAPACITY] = capacity
    return Point(STORE_OCCUPANCY, {Tag.STORE: store_id}, fields, time_utc)


def policy_change_point(
    policy: str,
    store: str,
    *,
    effective_date: date,
    timezone: str,
    description: str,
    removed: bool,
    effective_utc: datetime,
) -> Point:
    """One policy in one store at the store-local midnight of its effective date
    (``effective_utc``); rewriting it with ``removed`` set overwrites the same point."""
    return Point(
        POLICY_CHANGES,
        {Tag.POLICY: policy, Tag.STORE: store},
        {
            PolicyChangesField.DESCRIPTION: description,
            PolicyChangesField.EFFECTIVE_DATE: effective_date.isoformat(),
            PolicyChangesField.TIMEZONE: timezone,
            PolicyChangesField.REMOVED: removed,
        },
        effective_utc,
    )


def policy_effect_point(
    policy: str,
    store: str,
    method: str,
    *,
    effect_pct: float,
    ci_low_pct: float,
    ci_high_pct: float,
    change_utc: datetime,
    visits_gained: tuple[float, float, float] | None = None,
    metric: str | None = None,
) -> Point:
    """One effect estimate in percent with its confidence interval, for a store or for
    :data:`~aggregator.storage.measurements.POOLED_STORE`; ``visits_gained`` (estimate, low,
    high) over the after window, for the primary method. ``metric`` tags the estimate of a
    ratio metric (conversion, capture_rate); None for visits, untagged as before."""
    fields: dict[str, float] = {
        PolicyEffectsField.EFFECT_PCT: effect_pct,
        PolicyEffectsField.CI_LOW_PCT: ci_low_pct,
        PolicyEffectsField.CI_HIGH_PCT: ci_high_pct,
    }
    if visits_gained is not None:
        fields[PolicyEffectsField.VISITS_GAINED] = visits_gained[0]
        fields[PolicyEffectsField.VISITS_GAINED_LOW] = visits_gained[1]
        fields[PolicyEffectsField.VISITS_GAINED_HIGH] = visits_gained[2]
    tags = {Tag.POLICY: policy, Tag.STORE: store, Tag.METHOD: method}
    if metric is not None:
        tags[Tag.METRIC] = metric
    return Point(POLICY_EFFECTS, tags, fields, change_utc)


def transaction_point(store: str, hour_start_utc: datetime, transactions: int) -> Point:
    """Till transactions of one store in the hour starting at ``hour_start_utc``; keyed on
    store and hour, so importing the same hour again overwrites it."""
    return Point(
        STORE_TRANSACTIONS,
        {Tag.STORE: store},
        {StoreTransactionsField.TRANSACTIONS: transactions},
        hour_start_utc,
    )
