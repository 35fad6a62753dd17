"""Validation turns any bytes into a model or a rejection with a reason; it never raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.ingest.validation import (
    REASONS,
    Rejection,
    RejectionCounter,
    parse_topic,
    validate_message,
)
from protocol.messages import MAX_PAYLOAD_BYTES, CameraHealth, CameraStatus, CountInterval

ROOT = "footfall/v1"
TOPIC = "footfall/v1/store-1/door/counts"


def interval(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": 1,
        "store_id": "store-1",
        "camera_id": "door",
        "sequence": 7,
        "interval_start_utc": "2024-05-01T10:00:00Z",
        "interval_end_utc": "2024-05-01T10:01:00Z",
        "frames": 600,
        "lines": {"entrance": {"entries": 4, "exits": 3}},
        "zones": {"till": {"mean": 1.5, "max": 3}},
        "software_version": "0.1.0",
        "config_fingerprint": "0123abcd",
    }
    document.update(changes)
    return document


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_valid_interval_is_accepted() -> None:
    message = validate_message(TOPIC, encoded(interval()), ROOT)
    assert isinstance(message, CountInterval)
    assert message.lines["entrance"].entries == 4
    assert message.sequence == 7


def test_health_and_status_are_accepted() -> None:
    health = {
        "store_id": "store-1",
        "camera_id": "door",
        "time_utc": "2024-05-01T10:00:00Z",
        "source_state": "streaming",
        "frames_per_second": 9.5,
        "frames_processed": 100,
        "frames_dropped": 0,
        "detector_milliseconds": 41.0,
        "outbox_depth": 2,
        "outbox_bytes": 900,
        "software_version": "0.1.0",
    }
    status = {"state": "offline", "store_id": "store-1", "camera_id": "door"}
    health_message = validate_message("footfall/v1/store-1/door/health", encoded(health), ROOT)
    status_message = validate_message("footfall/v1/store-1/door/status", encoded(status), ROOT)
    assert isinstance(health_message, CameraHealth)
    assert isinstance(status_message, CameraStatus)
    assert status_message.state == "offline"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "bad_json"),
        (b'{"schema_version": 1, "store_id": "sto', "bad_json"),
        (b"\xff\xfe{}", "bad_utf8"),
        (b'{"store_id": "\xc3\x28"}', "bad_utf8"),
        (b"[1, 2, 3]", "not_an_object"),
        (b"42", "not_an_object"),
        (encoded(interval(schema_version=3)), "unknown_schema_version"),
        (encoded(interval(schema_version=2.0)), "unknown_schema_version"),
        (encoded(interval(schema_version=2)), "invalid_fields"),  # version 2 without roles
        (encoded(interval(schema_version="1")), "unknown_schema_version"),
        (encoded(interval(frames="many")), "invalid_fields"),
        (encoded(interval(lines={"entrance": {"entries": -1, "exits": 0}})), "invalid_fields"),
        (encoded(interval(lines={"entrance": {"entries": 10**30, "exits": 0}})), "invalid_fields"),
        (encoded(interval(sequence=2**63)), "invalid_fields"),
        (encoded(interval(interval_end_utc="2024-05-01T09:00:00Z")), "invalid_fields"),
        (encoded(interval(interval_start_utc="2024-05-01T10:00:00")), "invalid_fields"),
        (encoded(interval(surprise=1)), "invalid_fields"),
        (encoded(interval(zones={"till": {"mean": 5.0, "max": 3}})), "invalid_fields"),
        (encoded(interval(camera_id="back")), "topic_mismatch"),
        (encoded(interval(store_id="store-2")), "topic_mismatch"),
        (b"{" * 100_000, "bad_json"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large"),
    ],
)
def test_rejections_name_the_reason(payload: bytes, reason: str) -> None:
    result = validate_message(TOPIC, payload, ROOT)
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result.detail
    assert result.detail


def test_identifier_ending_in_backslash_is_refused_because_line_protocol_cannot_store_it() -> None:
    document = interval(lines={"door\\": {"entries": 1, "exits": 0}})
    result = validate_message(TOPIC, encoded(document), ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_fields"
    assert "backslash" in result.detail


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/store-1/door/counts",
        "footfall/v1/store-1/counts",
        "footfall/v1/store-1/door/counts/extra",
        "footfall/v1/store-1/door/frames",
        "footfall/v1//door/counts",
    ],
)
def test_bad_topics_are_rejected(topic: str) -> None:
    result = parse_topic(topic, ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_topic"


def test_counter_counts_by_reason() -> None:
    counter = RejectionCounter()
    for reason in ["bad_json", "bad_json", "bad_utf8"]:
        counter.add(Rejection(reason, "x"))
    assert counter.by_reason() == {"bad_json": 2, "bad_utf8": 1}
    assert counter.total == 3


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown rejection reason"):
        Rejection("bad_vibes", "x")


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    result = validate_message(TOPIC, payload, ROOT)
    assert isinstance(result, Rejection)
    assert result.reason in REASONS


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from([*interval(), "extra"]),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    )
)
def test_arbitrary_documents_never_raise(document: dict[str, Any]) -> None:
    result = validate_message(TOPIC, json.dumps(document).encode(), ROOT)
    assert isinstance(result, Rejection | CountInterval)
