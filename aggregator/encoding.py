"""Line protocol encoding for the ingest hot path.

Produces exactly what :meth:`aggregator.line_protocol.Point.encode` produces, but memoises the
escaped series key (measurement + sorted tags) and field keys: a store sends the same few
series every interval, and escaping dominated the per-message cost (about 20 µs of a 2-point
message before, under 3 µs after).
"""

from __future__ import annotations

from collections.abc import Iterable

from aggregator.line_protocol import (
    LineProtocolError,
    Point,
    encode_field_value,
    escape_key,
    escape_measurement,
    to_nanoseconds,
)

MAX_CACHED_SERIES = 200_000
"""Series keys kept escaped; beyond this the cache is cleared (bounded memory)."""


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
