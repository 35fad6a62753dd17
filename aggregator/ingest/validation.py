"""Parse and validate MQTT messages from edge devices against the shared wire schema.

Every message ends as either an accepted model or a :class:`Rejection` with a machine-readable
reason and a human-readable detail; nothing raises. The fast path hands the raw bytes to
pydantic's JSON parser; only a failing payload is re-examined to name the precise reason.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from protocol.messages import (
    COUNT_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    CameraHealth,
    CameraStatus,
    CountInterval,
    LiveCrossing,
)
from protocol.messages import MAX_PAYLOAD_BYTES as PROTOCOL_MAX_PAYLOAD_BYTES
from protocol.settings import describe_errors
from protocol.topics import CameraTopic, TopicError, parse_camera_topic

MAX_PAYLOAD_BYTES: Final = PROTOCOL_MAX_PAYLOAD_BYTES
"""Larger payloads are rejected before parsing (a count interval is a few hundred bytes; one
merged by a full edge outbox can be a few MB): the protocol's one limit."""

REASONS: Final = (
    "bad_topic",
    "too_large",
    "bad_utf8",
    "bad_json",
    "not_an_object",
    "unknown_schema_version",
    "invalid_fields",
    "topic_mismatch",
    "future_interval",
    "internal_error",
)

KINDS: Final[dict[str, type[BaseModel]]] = {
    "counts": CountInterval,
    "health": CameraHealth,
    "status": CameraStatus,
    "live": LiveCrossing,
}

EdgeMessage = CountInterval | CameraHealth | CameraStatus | LiveCrossing

SCHEMA_VERSIONS: Final[dict[type[BaseModel], tuple[int, ...]]] = {
    CountInterval: COUNT_SCHEMA_VERSIONS,
}
"""Schema versions read per message model; any other model: ``SCHEMA_VERSION`` only."""


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused. ``reason`` is one of :data:`REASONS`."""

    reason: str
    detail: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown rejection reason {self.reason!r}")


class RejectionCounter:
    """Rejections by reason since start; safe to update from the MQTT thread and read elsewhere."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, rejection: Rejection) -> None:
        with self._lock:
            self._counts[rejection.reason] += 1

    def by_reason(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def parse_topic(topic: str, topic_root: str) -> CameraTopic | Rejection:
    try:
        return parse_camera_topic(topic, topic_root)
    except TopicError as error:
        return Rejection("bad_topic", str(error))


_topic_cache: dict[tuple[str, str], CameraTopic | Rejection] = {}
MAX_CACHED_TOPICS = 100_000


def _cached_topic(topic: str, topic_root: str) -> CameraTopic | Rejection:
    """:func:`parse_topic`, remembered: a camera publishes on the same few topics forever."""
    key = (topic, topic_root)
    address = _topic_cache.get(key)
    if address is None:
        if len(_topic_cache) >= MAX_CACHED_TOPICS:
            _topic_cache.clear()
        address = _topic_cache[key] = parse_topic(topic, topic_root)
    return address


def validate_message(topic: str, payload: bytes, topic_root: str) -> EdgeMessage | Rejection:
    """The validated message for ``payload`` received on ``topic``, or why it was refused."""
    address = _cached_topic(topic, topic_root)
    if isinstance(address, Rejection):
        return address
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection("too_large", f"payload of {len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    model = KINDS[address.kind]
    try:
        message: EdgeMessage = model.model_validate_json(payload)  # type: ignore[assignment]
    except ValidationError as error:
        return _explain_failure(payload, error, SCHEMA_VERSIONS.get(model, (SCHEMA_VERSION,)))
    except (ValueError, RecursionError) as error:  # pydantic-core limits, deep nesting
        return Rejection("bad_json", f"{type(error).__name__}: {str(error)[:200]}")
    # Any backslash in an identifier appears in the JSON text as a backslash escape.
    unstorable = _unstorable_identifier(message) if b"\\" in payload else None
    if unstorable is not None:
        return Rejection(
            "invalid_fields",
            f"identifier {unstorable!r} ends with a backslash, which InfluxDB line protocol "
            "cannot represent in a tag value",
        )
    if message.store_id != address.store_id or message.camera_id != address.camera_id:
        return Rejection(
            "topic_mismatch",
            f"payload is for {message.store_id}/{message.camera_id} but arrived on "
            f"{address.store_id}/{address.camera_id}",
        )
    return message


def check_not_in_future(
    message: CountInterval, now_utc: datetime, tolerance_seconds: float
) -> Rejection | None:
    """A rejection when the interval ends more than ``tolerance_seconds`` after ``now_utc``:
    an edge clock years ahead would otherwise store counts where no dashboard looks and
    every later, correct interval would look late."""
    ahead_seconds = (message.interval_end_utc - now_utc).total_seconds()
    if ahead_seconds <= tolerance_seconds:
        return None
    return Rejection(
        "future_interval",
        f"interval {message.interval_start_utc.isoformat()} to "
        f"{message.interval_end_utc.isoformat()} ends {ahead_seconds:.0f} s after this "
        f"aggregator's clock ({now_utc.isoformat(timespec='seconds')}); the tolerance for "
        f"clock skew is {tolerance_seconds:g} s (clock_skew_tolerance_seconds): check the "
        "edge device's clock (NTP)",
    )


def _unstorable_identifier(message: EdgeMessage) -> str | None:
    identifiers = [message.store_id, message.camera_id]
    if isinstance(message, CountInterval):
        identifiers += [*message.lines, *message.zones]
    elif isinstance(message, LiveCrossing):
        identifiers.append(message.line_id)
    return next((name for name in identifiers if name.endswith("\\")), None)


def _explain_failure(
    payload: bytes, error: ValidationError, versions: tuple[int, ...]
) -> Rejection:
    """Name the first thing wrong with a payload that pydantic refused."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        return Rejection("bad_utf8", f"invalid UTF-8 at byte {decode_error.start}")
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError) as json_error:
        return Rejection("bad_json", f"not JSON: {str(json_error)[:200]}")
    if not isinstance(document, dict):
        return Rejection("not_an_object", f"JSON {type(document).__name__}, expected an object")
    version = document.get("schema_version", SCHEMA_VERSION)
    known = version in versions and (type(version) is int or version == SCHEMA_VERSION)
    if not known:
        shown = json.dumps(version)[:40]
        readable = " and ".join(str(number) for number in versions)
        return Rejection(
            "unknown_schema_version",
            f"schema_version {shown}, this aggregator reads {readable}",
        )
    return Rejection("invalid_fields", describe_errors(error)[:1000])
