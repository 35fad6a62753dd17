"""The versioned wire schema between edge devices and the aggregator.

This module is imported by both sides, so it depends on pydantic and the standard library
only. A message carries counts and nothing else: no frames, crops, embeddings or track ids.

Schema evolution: ``schema_version`` is a literal. A new, incompatible version gets a new
model and a new topic root (``protocol.topics``); the aggregator keeps accepting the old one
for as long as devices in the field send it.

``CountInterval`` version 2 is a compatible extension under the same topic root: every line
carries its ``role`` and every zone its ``role`` and ``dwell`` counts. Version 1 documents
carry none of them and are read exactly as before (the aggregator accepts both for good; a
version 1 aggregator refuses version 2 as ``unknown_schema_version``, so upgrade the
aggregator before the edge). The version decides which fields must be present, not the
presence of a field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1
"""Version of every message but a count interval from a version 2 edge."""
COUNT_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
"""``CountInterval`` versions the aggregator reads (version 2: line and zone roles, dwell)."""
DWELL_BUCKET_BOUNDS_SECONDS: tuple[float, float, float] = (30.0, 120.0, 600.0)
"""Upper bounds of the first three dwell buckets (:class:`DwellCounts`); the last is open."""

# Identifiers become MQTT topic levels and InfluxDB tag values: forbid MQTT wildcards and
# separators, allow anything else (spaces, commas, '=', unicode are escaped downstream).
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^/#+\x00-\x1f]+$"),
]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
# A single camera cannot plausibly see more people than this at once.
Occupancy = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]
MAX_INTERVAL = timedelta(days=7)
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""The largest JSON payload of any footfall message, end to end: the aggregator refuses a
larger one (``too_large``), the edge outbox never merges intervals into a larger one (an
interval with the most ``merged_starts_utc`` the schema allows is 2.3 MB), and the
broker's ``max_packet_size`` (16 MiB in ``deploy/mosquitto/``) is above it with room for
the topic and headers."""


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineRole(StrEnum):
    """What crossing a line means (schema version 2)."""

    ENTRANCE = "entrance"
    """A store entrance: entries are visits, entries minus exits move occupancy."""
    PASSING = "passing"
    """Outside the shop front: crossings are passers-by (capture rate = entries / them)."""
    STAFF = "staff"
    """A staff-only door (stockroom): crossings move occupancy but are never visits."""
    INTERNAL = "internal"
    """Inside the store (between departments): counted, neither visits nor occupancy."""


class ZoneRole(StrEnum):
    """What a zone is for (schema version 2)."""

    COUNTING = "counting"
    """People in it are counted (mean, max) and their dwell times reported."""
    EXCLUSION = "exclusion"
    """A staff door or stockroom: a track that starts or ends in it is not counted on
    entrance lines (it is counted like a counting zone otherwise)."""


def _without_none(value: Any, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
    """Version 1 documents leave the version 2 fields out instead of sending them as null,
    so they stay byte for byte what a version 1 edge sent."""
    document: dict[str, Any] = handler(value)
    return {key: item for key, item in document.items() if item is not None}


class LineCount(WireModel):
    """People who crossed one virtual line during the interval, by direction."""

    entries: Count
    exits: Count
    role: LineRole | None = None
    """Schema version 2 (required there): what the crossings mean; absent in version 1."""

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(self, handler)


class DwellCounts(WireModel):
    """People who left one zone during the interval, by how long they had been in it
    (seconds, from the first to the last frame in which the person was inside). Counts only:
    no track ids, no times."""

    under_30_seconds: Count = 0
    from_30_to_120_seconds: Count = 0
    from_120_to_600_seconds: Count = 0
    over_600_seconds: Count = 0

    def __add__(self, other: DwellCounts) -> DwellCounts:
        return DwellCounts(
            under_30_seconds=self.under_30_seconds + other.under_30_seconds,
            from_30_to_120_seconds=self.from_30_to_120_seconds + other.from_30_to_120_seconds,
            from_120_to_600_seconds=self.from_120_to_600_seconds + other.from_120_to_600_seconds,
            over_600_seconds=self.over_600_seconds + other.over_600_seconds,
        )


class ZoneOccupancy(WireModel):
    """People inside one zone polygon, over the frames of the interval."""

    mean: Occupancy
    max: Count
    role: ZoneRole | None = None
    """Schema version 2 (required there); absent in version 1."""
    dwell: DwellCounts | None = None
    """Schema version 2 (required there): dwell times of the people who left the zone."""

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(self, handler)

    @model_validator(mode="after")
    def _mean_within_max(self) -> ZoneOccupancy:
        if self.mean > self.max + 1e-9:
            raise ValueError(f"mean {self.mean} exceeds max {self.max}")
        return self


class CountInterval(WireModel):
    """Counts from one camera over one interval ``[interval_start_utc, interval_end_utc)``.

    ``sequence`` increases by one per interval per camera and survives restarts; the
    aggregator uses it for fast duplicate detection, while storage idempotency comes from
    keying every point on the interval start. ``merged_starts_utc`` lists, for an interval
    that the edge outbox merged from several smaller ones to stay within its disk quota, the
    starts of the intervals it replaces (the first is ``interval_start_utc``).

    Version 2 (``schema_version=2``) requires ``role`` on every line and ``role`` and
    ``dwell`` on every zone; version 1 forbids them.
    """

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    store_id: Identifier
    camera_id: Identifier
    sequence: Annotated[int, Field(ge=0, le=2**62)]
    interval_start_utc: AwareDatetime
    interval_end_utc: AwareDatetime
    frames: Annotated[int, Field(ge=0, le=10_000_000)]
    lines: dict[Identifier, LineCount] = Field(default_factory=dict, max_length=64)
    zones: dict[Identifier, ZoneOccupancy] = Field(default_factory=dict, max_length=64)
    software_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    config_fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,64}$")]
    merged_starts_utc: list[AwareDatetime] = Field(default_factory=list, max_length=100_000)

    @field_validator("interval_start_utc", "interval_end_utc", "merged_starts_utc")
    @classmethod
    def _plausible_time(cls, value: datetime | list[datetime]) -> datetime | list[datetime]:
        for moment in value if isinstance(value, list) else [value]:
            if not 2000 <= moment.year <= 2200:
                raise ValueError(f"time {moment.isoformat()} is outside 2000-2200")
        return value

    @model_validator(mode="after")
    def _ordered_interval(self) -> CountInterval:
        if self.interval_end_utc <= self.interval_start_utc:
            raise ValueError(
                f"interval_end_utc {self.interval_end_utc.isoformat()} is not after "
                f"interval_start_utc {self.interval_start_utc.isoformat()}"
            )
        if self.interval_end_utc - self.interval_start_utc > MAX_INTERVAL:
            raise ValueError("interval is longer than 7 days")
        if self.merged_starts_utc:
            if self.merged_starts_utc[0] != self.interval_start_utc:
                raise ValueError("merged_starts_utc must begin with interval_start_utc")
            if any(
                not self.interval_start_utc <= start < self.interval_end_utc
                for start in self.merged_starts_utc
            ):
                raise ValueError("merged_starts_utc must lie inside the interval")
        self._check_versioned_fields()
        return self

    def _check_versioned_fields(self) -> None:
        version_2 = self.schema_version == 2
        for line_id, line in self.lines.items():
            if (line.role is not None) != version_2:
                raise ValueError(_versioned_field_error(self.schema_version, f"line {line_id}"))
        for zone_id, zone in self.zones.items():
            if (zone.role is not None) != version_2 or (zone.dwell is not None) != version_2:
                raise ValueError(_versioned_field_error(self.schema_version, f"zone {zone_id}"))

    @property
    def duration_seconds(self) -> float:
        return (self.interval_end_utc - self.interval_start_utc).total_seconds()


def _versioned_field_error(version: int, item: str) -> str:
    if version == 2:
        return f"{item}: schema_version 2 requires role (and dwell for a zone)"
    return f"{item}: role and dwell are schema_version 2 fields, this is version 1"


class CameraHealth(WireModel):
    """Periodic health of one camera's worker; published on ``.../health``."""

    schema_version: Literal[1] = SCHEMA_VERSION
    store_id: Identifier
    camera_id: Identifier
    time_utc: AwareDatetime
    source_state: Literal["starting", "streaming", "reconnecting", "ended", "failed"]
    frames_per_second: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    frames_processed: Annotated[int, Field(ge=0)]
    frames_dropped: Annotated[int, Field(ge=0)]
    detector_milliseconds: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    detector_duty_cycle: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    """Share of the frames since the previous report that the detector ran on (motion gating
    skips frames where nothing moved); None from workers that do not report it."""
    outbox_depth: Annotated[int, Field(ge=0)]
    outbox_bytes: Annotated[int, Field(ge=0)]
    last_publish_utc: AwareDatetime | None = None
    software_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CameraStatus(WireModel):
    """Retained ``.../status``: ``online`` on connect, ``offline`` as the Last Will."""

    state: Literal["online", "offline"]
    store_id: Identifier
    camera_id: Identifier
    software_version: str = ""


class LiveCrossing(WireModel):
    """One counted crossing of one line, published by the edge the moment it is counted on
    ``{root}/{store}/{camera}/live`` (QoS 0, not through the outbox: best effort). It carries
    no track id and no image.

    Live crossings make occupancy move within seconds; they are provisional. The
    ``CountInterval`` of the same camera starting at ``interval_start_utc`` is the durable
    truth: when it arrives, its totals replace the live crossings of that interval, and
    live crossings of an interval that already arrived are ignored. ``sequence`` numbers the
    camera's crossings within the interval from 0, so a duplicate is recognised.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    store_id: Identifier
    camera_id: Identifier
    line_id: Identifier
    direction: Literal["entry", "exit"]
    time_utc: AwareDatetime
    """Time of the frame in which the crossing was counted (the edge's clock)."""
    interval_start_utc: AwareDatetime
    """Start of the count interval this crossing belongs to."""
    interval_end_utc: AwareDatetime
    """Planned end of that interval (it may close earlier when the worker stops); a receiver
    may forget live crossings whose interval has not arrived long after this."""
    sequence: Annotated[int, Field(ge=0, le=10_000_000)]

    @field_validator("time_utc", "interval_start_utc", "interval_end_utc")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 2200:
            raise ValueError(f"time {value.isoformat()} is outside 2000-2200")
        return value

    @model_validator(mode="after")
    def _inside_interval(self) -> LiveCrossing:
        if not self.interval_start_utc <= self.time_utc < self.interval_end_utc:
            raise ValueError(
                f"time_utc {self.time_utc.isoformat()} is not in the interval "
                f"{self.interval_start_utc.isoformat()} to {self.interval_end_utc.isoformat()}"
            )
        if self.interval_end_utc - self.interval_start_utc > MAX_INTERVAL:
            raise ValueError("interval is longer than 7 days")
        return self


class StoreOccupancy(WireModel):
    """Live occupancy of one store, published retained on its store's occupancy topic by the
    aggregator (not by edge devices).

    ``occupancy`` is entries minus exits over all of the store's entrances since the store's
    daily reset, clamped at 0; ``drift`` is how far below zero it would have gone today (a
    data-quality figure).
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    store_id: Identifier
    time_utc: AwareDatetime
    business_day: str
    """Store-local date (``YYYY-MM-DD``) of the business day these counts belong to."""
    occupancy: Annotated[int, Field(ge=0)]
    entries_today: Annotated[int, Field(ge=0)]
    exits_today: Annotated[int, Field(ge=0)]
    capacity: Annotated[int, Field(ge=1)] | None = None
    over_capacity: bool = False
    drift: Annotated[int, Field(ge=0)] = 0
    last_update_utc: AwareDatetime | None = None
    """When counts for this store last reached the aggregator (a live crossing, an interval,
    or a replica's share of them); None when none arrived since it started."""
    provisional_entries: Annotated[int, Field(ge=0)] = 0
    """Entries of ``entries_today`` known only from live crossings so far (their intervals
    have not arrived yet); ``provisional_exits`` likewise."""
    provisional_exits: Annotated[int, Field(ge=0)] = 0
