"""InfluxDB line protocol encoding with correct escaping for any tag or field value.

Escaping rules (InfluxDB 1.x, 2.x and 3.x agree): measurement names escape commas and spaces;
tag keys, tag values and field keys escape commas, equals signs and spaces; string field
values are double-quoted and escape double quotes and backslashes. Newlines cannot be
represented in tags, so tag values containing control characters are rejected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

FieldValue = bool | int | float | str


class LineProtocolError(ValueError):
    """A point that line protocol cannot represent."""


def _reject_controls(kind: str, text: str) -> None:
    if not text:
        raise LineProtocolError(f"{kind} must not be empty")
    if any(character in text for character in "\n\r\t\x00"):
        raise LineProtocolError(f"{kind} {text!r} contains a control character")
    if text.endswith("\\"):
        raise LineProtocolError(f"{kind} {text!r} ends with a backslash")


def escape_measurement(name: str) -> str:
    _reject_controls("measurement", name)
    return name.replace(",", r"\,").replace(" ", r"\ ")


def escape_key(text: str, kind: str = "tag") -> str:
    """Escape a tag key, tag value or field key."""
    _reject_controls(kind, text)
    return text.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def encode_field_value(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise LineProtocolError(f"integer field {value} is outside int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"float field {value} is not finite")
        return repr(value)
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def to_nanoseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise LineProtocolError(f"timestamp {moment.isoformat()} has no time zone")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def aware_to_nanoseconds(moment: datetime) -> int:
    """:func:`to_nanoseconds` without the time-zone check, for the ingest hot path: ``moment``
    must be aware (pydantic's ``AwareDatetime`` guarantees it for wire messages)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


@dataclass(frozen=True)
class Point:
    """One InfluxDB point. Identity (what a rewrite overwrites) is measurement + tags + time."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: datetime

    def encode(self) -> str:
        if not self.fields:
            raise LineProtocolError(f"point in {self.measurement!r} has no fields")
        head = escape_measurement(self.measurement)
        for key in sorted(self.tags):
            value = self.tags[key]
            head += f",{escape_key(key, 'tag key')}={escape_key(value, 'tag value')}"
        fields = ",".join(
            f"{escape_key(key, 'field key')}={encode_field_value(value)}"
            for key, value in self.fields.items()
        )
        return f"{head} {fields} {to_nanoseconds(self.time)}"


def encode_points(points: list[Point]) -> bytes:
    return ("\n".join(point.encode() for point in points) + "\n").encode("utf-8")
