"""The InfluxDB schema: measurement names, tag keys and field keys. Every other module takes
these names from here (queries, dashboards) and builds points only through
:mod:`aggregator.storage.points`.

Every count point is keyed on (measurement, store, camera, line|zone, interval start), so a
redelivered or replayed message overwrites itself instead of adding: at-least-once delivery
becomes exactly-once totals without a deduplication database.

- ``line_counts`` — tags store, camera, line, entrance ("true"/"false"), and from schema
  version 2 intervals role (``protocol.messages.LineRole``: entrance, passing, staff,
  internal); fields entries i, exits i, interval_seconds f. Version 1 intervals keep the
  tag set they always had (no role), so a redelivered old interval overwrites its own point.
- ``zone_dwell`` — tags store, camera, zone, role (``ZoneRole``: counting, exclusion); fields
  under_30_seconds i, from_30_to_120_seconds i, from_120_to_600_seconds i,
  over_600_seconds i (people who left the zone in the interval, by dwell time),
  interval_seconds f; schema version 2 only
- ``zone_occupancy`` — tags store, camera, zone; fields mean f, max i, interval_seconds f
- ``camera_intervals`` — tags store, camera; fields frames i, sequence i,
  interval_seconds f, software_version s, config_fingerprint s
- ``store_occupancy`` — tag store; fields occupancy i, entries_today i, exits_today i,
  capacity i, over_capacity b, drift i, reset_residual i
- ``edge_health`` — tags store, camera; fields frames_per_second f, frames_processed i,
  frames_dropped i, detector_milliseconds f, outbox_depth i, outbox_bytes i,
  seconds_since_publish f, source_state s, and detector_duty_cycle f (share of frames the
  detector ran on, 0-1; absent from workers without motion gating's report)
- ``edge_status`` — tags store, camera; fields online b, state s
- ``policy_changes`` — tags policy, store; fields description s, effective_date s,
  timezone s, removed b
- ``policy_effects`` — tags policy, store ("pooled" for the estimate over all treated
  stores), method, and metric for a ratio metric's estimate (``conversion``,
  ``capture_rate``; absent for visits); fields effect_pct f, ci_low_pct f, ci_high_pct f,
  and on the primary method's visits point visits_gained f, visits_gained_low f,
  visits_gained_high f
- ``store_transactions`` — tag store; field transactions i (till transactions in the hour
  that starts at the point's time)

Times are the interval start (counts), the change time (occupancy, status, health) or the
store-local midnight of the effective date (policies).

The names are plain strings, so they drop into f-strings and dict keys unchanged; a field
shared by several measurements (``interval_seconds``) is named once per measurement, so a
query says which measurement it reads.
"""

from __future__ import annotations

from typing import Final

LINE_COUNTS: Final = "line_counts"
ZONE_OCCUPANCY: Final = "zone_occupancy"
CAMERA_INTERVALS: Final = "camera_intervals"
STORE_OCCUPANCY: Final = "store_occupancy"
EDGE_HEALTH: Final = "edge_health"
EDGE_STATUS: Final = "edge_status"
POLICY_CHANGES: Final = "policy_changes"
POLICY_EFFECTS: Final = "policy_effects"
STORE_TRANSACTIONS: Final = "store_transactions"
ZONE_DWELL: Final = "zone_dwell"
MEASUREMENTS: Final = (
    LINE_COUNTS,
    ZONE_OCCUPANCY,
    CAMERA_INTERVALS,
    STORE_OCCUPANCY,
    EDGE_HEALTH,
    EDGE_STATUS,
    POLICY_CHANGES,
    POLICY_EFFECTS,
    STORE_TRANSACTIONS,
    ZONE_DWELL,
)

ENTRANCE_TRUE: Final = "true"
"""``entrance`` tag value of a line that counts as a store entrance (a visit)."""
ENTRANCE_FALSE: Final = "false"
"""``entrance`` tag value of any other line (a staff door, an inner line)."""
POOLED_STORE: Final = "pooled"
"""``store`` tag value of a ``policy_effects`` estimate pooled over the treated stores."""


class Tag:
    """Tag keys. A tag key means the same in every measurement that has it."""

    STORE: Final = "store"
    CAMERA: Final = "camera"
    LINE: Final = "line"
    ENTRANCE: Final = "entrance"
    ZONE: Final = "zone"
    ROLE: Final = "role"
    """A line's or zone's role (``protocol.messages.LineRole`` / ``ZoneRole`` values)."""
    POLICY: Final = "policy"
    METHOD: Final = "method"
    METRIC: Final = "metric"
    """What a ``policy_effects`` estimate is an effect on: ``conversion`` or
    ``capture_rate``; absent for visits."""


class LineCountsField:
    """Fields of ``line_counts``: crossings of one line over one interval."""

    ENTRIES: Final = "entries"
    EXITS: Final = "exits"
    INTERVAL_SECONDS: Final = "interval_seconds"


class ZoneOccupancyField:
    """Fields of ``zone_occupancy``: people inside one zone over one interval."""

    MEAN: Final = "mean"
    MAX: Final = "max"
    INTERVAL_SECONDS: Final = "interval_seconds"


class ZoneDwellField:
    """Fields of ``zone_dwell``: people who left one zone in one interval, by dwell time
    (bounds ``protocol.messages.DWELL_BUCKET_BOUNDS_SECONDS``)."""

    UNDER_30_SECONDS: Final = "under_30_seconds"
    FROM_30_TO_120_SECONDS: Final = "from_30_to_120_seconds"
    FROM_120_TO_600_SECONDS: Final = "from_120_to_600_seconds"
    OVER_600_SECONDS: Final = "over_600_seconds"
    INTERVAL_SECONDS: Final = "interval_seconds"
    BUCKETS: Final = (
        UNDER_30_SECONDS,
        FROM_30_TO_120_SECONDS,
        FROM_120_TO_600_SECONDS,
        OVER_600_SECONDS,
    )


class CameraIntervalsField:
    """Fields of ``camera_intervals``: one camera's interval (its coverage and origin)."""

    FRAMES: Final = "frames"
    SEQUENCE: Final = "sequence"
    INTERVAL_SECONDS: Final = "interval_seconds"
    SOFTWARE_VERSION: Final = "software_version"
    CONFIG_FINGERPRINT: Final = "config_fingerprint"


class StoreOccupancyField:
    """Fields of ``store_occupancy``: live occupancy of one store at a change."""

    OCCUPANCY: Final = "occupancy"
    ENTRIES_TODAY: Final = "entries_today"
    EXITS_TODAY: Final = "exits_today"
    CAPACITY: Final = "capacity"
    OVER_CAPACITY: Final = "over_capacity"
    DRIFT: Final = "drift"
    RESET_RESIDUAL: Final = "reset_residual"


class EdgeHealthField:
    """Fields of ``edge_health``: one camera's health report."""

    FRAMES_PER_SECOND: Final = "frames_per_second"
    FRAMES_PROCESSED: Final = "frames_processed"
    FRAMES_DROPPED: Final = "frames_dropped"
    DETECTOR_MILLISECONDS: Final = "detector_milliseconds"
    DETECTOR_DUTY_CYCLE: Final = "detector_duty_cycle"
    OUTBOX_DEPTH: Final = "outbox_depth"
    OUTBOX_BYTES: Final = "outbox_bytes"
    SECONDS_SINCE_PUBLISH: Final = "seconds_since_publish"
    SOURCE_STATE: Final = "source_state"


class EdgeStatusField:
    """Fields of ``edge_status``: one camera's connection state at a change."""

    ONLINE: Final = "online"
    STATE: Final = "state"


class PolicyChangesField:
    """Fields of ``policy_changes``: one policy in one store."""

    DESCRIPTION: Final = "description"
    EFFECTIVE_DATE: Final = "effective_date"
    TIMEZONE: Final = "timezone"
    REMOVED: Final = "removed"


class PolicyEffectsField:
    """Fields of ``policy_effects``: one effect estimate, in percent of visits (or of the
    ``metric`` tag's ratio)."""

    EFFECT_PCT: Final = "effect_pct"
    CI_LOW_PCT: Final = "ci_low_pct"
    CI_HIGH_PCT: Final = "ci_high_pct"
    VISITS_GAINED: Final = "visits_gained"
    """Visits gained (negative: lost) over the after window; on the primary method's point."""
    VISITS_GAINED_LOW: Final = "visits_gained_low"
    VISITS_GAINED_HIGH: Final = "visits_gained_high"


class StoreTransactionsField:
    """Fields of ``store_transactions``: the till system's count for one store and hour."""

    TRANSACTIONS: Final = "transactions"
