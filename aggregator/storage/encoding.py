"""Line protocol encoding for the ingest hot path.

Produces exactly what :meth:`aggregator.storage.line_protocol.Point.encode` produces, but
memoises the escaped series key (measurement + sorted tags) and field keys: a store sends the
same few series every interval, and escaping dominated the per-message cost (about 20 µs of a
2-point message before, under 3 µs after).
"""

from __future__ import annotations

from collections.abc import Iterable

from aggregator.storage.line_protocol import (
    LineProtocolError,
    Point,
    aware_to_nanoseconds,
    encode_field_value,
    escape_key,
    escape_measurement,
    to_nanoseconds,
)
from aggregator.storage.line_roles import effective_role, is_entrance
from aggregator.storage.measurements import (
    CAMERA_INTERVALS,
    ENTRANCE_FALSE,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    ZONE_DWELL,
    ZONE_OCCUPANCY,
    CameraIntervalsField,
    LineCountsField,
    Tag,
    ZoneDwellField,
    ZoneOccupancyField,
)
from protocol.messages import CountInterval

MAX_CACHED_SERIES = 200_000
"""Series keys kept escaped; beyond this the cache is cleared (bounded memory)."""

# Field keys followed by "=", in the order of aggregator.storage.points (no key needs escaping).
_ENTRIES = f"{LineCountsField.ENTRIES}="
_EXITS = f"{LineCountsField.EXITS}="
_LINE_SECONDS = f"{LineCountsField.INTERVAL_SECONDS}="
_LINE_ZEROS = f"{_ENTRIES}0i,{_EXITS}0i,{_LINE_SECONDS}0.0"
_MEAN = f"{ZoneOccupancyField.MEAN}="
_MAX = f"{ZoneOccupancyField.MAX}="
_ZONE_SECONDS = f"{ZoneOccupancyField.INTERVAL_SECONDS}="
_FRAMES = f"{CameraIntervalsField.FRAMES}="
_SEQUENCE = f"{CameraIntervalsField.SEQUENCE}="
_CAMERA_SECONDS = f"{CameraIntervalsField.INTERVAL_SECONDS}="
_SOFTWARE_VERSION = f"{CameraIntervalsField.SOFTWARE_VERSION}="
_CONFIG_FINGERPRINT = f"{CameraIntervalsField.CONFIG_FINGERPRINT}="
_CAMERA_ZEROS = f"{_FRAMES}0i,{_CAMERA_SECONDS}0.0"
_DWELL_KEYS = tuple(f"{key}=" for key in ZoneDwellField.BUCKETS)
_DWELL_SECONDS = f"{ZoneDwellField.INTERVAL_SECONDS}="
_DWELL_ZEROS = ",".join(f"{key}0i" for key in _DWELL_KEYS) + f",{_DWELL_SECONDS}0.0"


class PointEncoder:
    """Encodes points to line protocol lines (without the trailing newline)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self._field_keys: dict[str, str] = {}

    def encode(self, point: Point) -> str:
        if not point.fields:
            raise LineProtocolError(f"point in {point.measurement!r} has no fields")
        head = self._series_key(point.measurement, tuple(sorted(point.tags.items())))
        field_keys = self._field_keys
        parts = []
        for key, value in point.fields.items():
            escaped = field_keys.get(key)
            if escaped is None:
                escaped = field_keys[key] = escape_key(key, "field key")
            parts.append(f"{escaped}={encode_field_value(value)}")
        return f"{head} {','.join(parts)} {to_nanoseconds(point.time)}"

    def encode_all(self, points: Iterable[Point]) -> list[str]:
        return [self.encode(point) for point in points]

    def _series_key(self, measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
        cache_key = (measurement, tags)
        head = self._series.get(cache_key)
        if head is None:
            if len(self._series) >= MAX_CACHED_SERIES:
                self._series.clear()
            head = escape_measurement(measurement) + "".join(
                f",{escape_key(key, 'tag key')}={escape_key(value, 'tag value')}"
                for key, value in tags
            )
            self._series[cache_key] = head
        return head


class IntervalEncoder:
    """Line protocol for a count interval, byte for byte what
    ``PointEncoder().encode_all(interval_points(message, entrance_lines))`` gives, without
    building :class:`Point` objects: the ingest hot path encodes every message, and the
    generic path was the largest cost after MQTT parsing. ``tests/aggregator/test_encoding``
    pins the equality with a property test, so a change to the points of
    :mod:`aggregator.storage.points` that is not made here fails the tests.
    """

    def __init__(self) -> None:
        self._heads: dict[tuple[str, ...], str] = {}
        self._strings: dict[str, str] = {}

    def encode(self, message: CountInterval, entrance_lines: set[str] | None) -> list[str]:
        store, camera = message.store_id, message.camera_id
        seconds = repr(message.duration_seconds)
        # The schema's times are always time-zone aware: the checked conversion is not needed.
        start = str(aware_to_nanoseconds(message.interval_start_utc))
        replaced = [str(aware_to_nanoseconds(t)) for t in message.merged_starts_utc[1:]]
        heads = self._heads
        lines = []
        for line_id, counts in message.lines.items():
            role = effective_role(line_id, counts, entrance_lines)
            entrance = (
                ENTRANCE_TRUE if is_entrance(line_id, role, entrance_lines) else ENTRANCE_FALSE
            )
            line_key = (LINE_COUNTS, store, camera, line_id, entrance, role or "")
            head = heads.get(line_key) or self._head(
                line_key,
                (Tag.CAMERA, camera),
                (Tag.ENTRANCE, entrance),
                (Tag.LINE, line_id),
                *(() if role is None else ((Tag.ROLE, role.value),)),
                (Tag.STORE, store),
            )
            lines.append(
                f"{head} {_ENTRIES}{counts.entries}i,{_EXITS}{counts.exits}i,"
                f"{_LINE_SECONDS}{seconds} {start}"
            )
            lines.extend(f"{head} {_LINE_ZEROS} {moment}" for moment in replaced)
        for zone_id, zone in message.zones.items():
            zone_key = (ZONE_OCCUPANCY, store, camera, zone_id)
            head = heads.get(zone_key) or self._head(
                zone_key, (Tag.CAMERA, camera), (Tag.STORE, store), (Tag.ZONE, zone_id)
            )
            lines.append(
                f"{head} {_MEAN}{encode_field_value(float(zone.mean))},{_MAX}{zone.max}i,"
                f"{_ZONE_SECONDS}{seconds} {start}"
            )
        for zone_id, zone in message.zones.items():
            if zone.dwell is None or zone.role is None:
                continue
            dwell_key = (ZONE_DWELL, store, camera, zone_id, zone.role.value)
            head = heads.get(dwell_key) or self._head(
                dwell_key,
                (Tag.CAMERA, camera),
                (Tag.ROLE, zone.role.value),
                (Tag.STORE, store),
                (Tag.ZONE, zone_id),
            )
            dwell = zone.dwell
            counts_text = ",".join(
                f"{key}{count}i"
                for key, count in zip(
                    _DWELL_KEYS,
                    (
                        dwell.under_30_seconds,
                        dwell.from_30_to_120_seconds,
                        dwell.from_120_to_600_seconds,
                        dwell.over_600_seconds,
                    ),
                    strict=True,
                )
            )
            lines.append(f"{head} {counts_text},{_DWELL_SECONDS}{seconds} {start}")
            lines.extend(f"{head} {_DWELL_ZEROS} {moment}" for moment in replaced)
        camera_key = (CAMERA_INTERVALS, store, camera)
        head = heads.get(camera_key) or self._head(
            camera_key, (Tag.CAMERA, camera), (Tag.STORE, store)
        )
        lines.extend(f"{head} {_CAMERA_ZEROS} {moment}" for moment in replaced)
        lines.append(
            f"{head} {_FRAMES}{message.frames}i,{_SEQUENCE}{message.sequence}i,"
            f"{_CAMERA_SECONDS}{seconds},"
            f"{_SOFTWARE_VERSION}{self._string(message.software_version)},"
            f"{_CONFIG_FINGERPRINT}{self._string(message.config_fingerprint)} {start}"
        )
        return lines

    def _head(self, key: tuple[str, ...], *tags: tuple[str, str]) -> str:
        """Escape and remember a series key (measurement and tags, tags sorted by name)."""
        if len(self._heads) >= MAX_CACHED_SERIES:
            self._heads.clear()
        head = escape_measurement(key[0]) + "".join(
            f",{name}={escape_key(value, 'tag value')}" for name, value in tags
        )
        self._heads[key] = head
        return head

    def _string(self, value: str) -> str:
        encoded = self._strings.get(value)
        if encoded is None:
            if len(self._strings) >= MAX_CACHED_SERIES:
                self._strings.clear()
            encoded = self._strings[value] = encode_field_value(value)
        return encoded
