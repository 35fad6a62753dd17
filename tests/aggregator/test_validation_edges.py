"""Validation edges found by ``make mutation`` (issue 17): a store or camera id that line
protocol cannot store is refused before it reaches a batch (InfluxDB would refuse the whole
batch, other stores' counts with it), the payload limit is inclusive, a payload that is not
JSON is counted as ``bad_json``, and the clock-skew tolerance is inclusive. Each test starts
with an empty topic cache: a cache warmed by an earlier test hid every mutant of the topic
parsing from the second mutation run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.ingest import validation
from aggregator.ingest.validation import Rejection, check_not_in_future, validate_message
from protocol.messages import (
    MAX_PAYLOAD_BYTES,
    CameraHealth,
    CountInterval,
    LineCount,
    LiveCrossing,
)
from protocol.topics import counts_topic, health_topic, live_topic
from tests.message_builders import live_crossing

ROOT = "footfall/v1"
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_topic_cache() -> Iterator[None]:
    validation._topic_cache.clear()
    yield
    validation._topic_cache.clear()


def interval(store_id: str = "shop", camera_id: str = "door") -> CountInterval:
    return CountInterval(
        store_id=store_id,
        camera_id=camera_id,
        sequence=1,
        interval_start_utc=START,
        interval_end_utc=START + timedelta(minutes=1),
        frames=600,
        lines={"in": LineCount(entries=2, exits=1)},
        software_version="test",
        config_fingerprint="0123abcd",
    )


@pytest.mark.parametrize(("store_id", "camera_id"), [("shop\\", "door"), ("shop", "door\\")])
def test_an_identifier_ending_in_a_backslash_is_refused(store_id: str, camera_id: str) -> None:
    message = interval(store_id, camera_id)
    topic = counts_topic(store_id, camera_id, ROOT)
    result = validate_message(topic, message.model_dump_json().encode(), ROOT)
    assert isinstance(result, Rejection), result
    assert result.reason == "invalid_fields"
    assert "backslash" in result.detail


def test_the_payload_limit_is_inclusive() -> None:
    payload = interval().model_dump_json().encode()
    topic = counts_topic("shop", "door", ROOT)
    at_limit = payload + b" " * (MAX_PAYLOAD_BYTES - len(payload))
    assert isinstance(validate_message(topic, at_limit, ROOT), CountInterval)
    over = validate_message(topic, at_limit + b" ", ROOT)
    assert isinstance(over, Rejection)
    assert over.reason == "too_large"


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b'{"schema_version": 1,', b'{"lines": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
    ids=["garbage", "truncated", "nested too deep"],
)
def test_a_payload_that_is_not_json_is_bad_json(payload: bytes) -> None:
    result = validate_message(counts_topic("shop", "door", ROOT), payload, ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_json"


def test_the_clock_skew_tolerance_is_inclusive() -> None:
    message = interval()
    end = message.interval_end_utc
    assert check_not_in_future(message, end - timedelta(seconds=30), 30.0) is None
    late = check_not_in_future(message, end - timedelta(seconds=31), 30.0)
    assert isinstance(late, Rejection)
    assert late.reason == "future_interval"
    assert "31 s" in late.detail


def test_a_topic_outside_the_root_is_refused_naming_it_and_so_is_its_next_message() -> None:
    payload = interval().model_dump_json().encode()
    for _ in range(2):  # the second answer comes from the cache
        result = validate_message("elsewhere/shop/door/counts", payload, ROOT)
        assert isinstance(result, Rejection)
        assert result.reason == "bad_topic"
        assert "elsewhere/shop/door/counts" in result.detail
    assert isinstance(
        validate_message(counts_topic("shop", "door", ROOT), payload, ROOT), CountInterval
    )


def test_a_payload_without_schema_version_is_read_as_the_current_version() -> None:
    """``schema_version`` may be left out (it defaults to 1): a payload without it that
    fails on another field is refused for that field, not as an unknown version."""
    document = json.loads(interval().model_dump_json())
    del document["schema_version"]
    topic = counts_topic("shop", "door", ROOT)
    assert isinstance(validate_message(topic, json.dumps(document).encode(), ROOT), CountInterval)
    document["frames"] = -1
    result = validate_message(topic, json.dumps(document).encode(), ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_fields"
    assert "frames" in result.detail


def live_crossing_payload(line_id: str) -> bytes:
    return live_crossing("shop", "door", line_id, START, seconds_in=0).model_dump_json().encode()


def test_a_live_crossing_on_a_line_ending_in_a_backslash_is_refused() -> None:
    result = validate_message(live_topic("shop", "door", ROOT), live_crossing_payload("in\\"), ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_fields"
    assert "backslash" in result.detail


def test_a_backslash_inside_identifiers_is_stored() -> None:
    message = interval().model_copy(update={"lines": {"back\\door": LineCount(entries=1, exits=0)}})
    topic = counts_topic("shop", "door", ROOT)
    result = validate_message(topic, message.model_dump_json().encode(), ROOT)
    assert isinstance(result, CountInterval)
    assert result.lines["back\\door"].entries == 1
    crossing = validate_message(
        live_topic("shop", "door", ROOT), live_crossing_payload("a\\b"), ROOT
    )
    assert isinstance(crossing, LiveCrossing)
    assert crossing.line_id == "a\\b"


def test_a_deployment_with_its_own_topic_root_reads_its_topics() -> None:
    root = "acme/footfall"
    payload = interval().model_dump_json().encode()
    assert isinstance(
        validate_message(counts_topic("shop", "door", root), payload, root), CountInterval
    )
    default = validate_message(counts_topic("shop", "door"), payload, root)
    assert isinstance(default, Rejection)
    assert default.reason == "bad_topic"


def test_a_health_report_with_a_bad_field_is_refused_for_that_field() -> None:
    """Health reports have one schema version: a bad field is named, not a crash."""
    document = {
        "store_id": "shop",
        "camera_id": "door",
        "time_utc": START.isoformat(),
        "source_state": "streaming",
        "frames_per_second": 9.5,
        "frames_processed": -1,
        "frames_dropped": 0,
        "detector_milliseconds": 60.0,
        "outbox_depth": 0,
        "outbox_bytes": 0,
        "software_version": "test",
    }
    topic = health_topic("shop", "door", ROOT)
    result = validate_message(topic, json.dumps(document).encode(), ROOT)
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_fields"
    assert "frames_processed" in result.detail
    document["frames_processed"] = 5
    assert isinstance(validate_message(topic, json.dumps(document).encode(), ROOT), CameraHealth)
