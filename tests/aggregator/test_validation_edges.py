"""Validation edges found by ``make mutation`` (issue 17): a store or camera id that line
protocol cannot store is refused before it reaches a batch (InfluxDB would refuse the whole
batch, other stores' counts with it), the payload limit is inclusive, a payload that is not
JSON is counted as ``bad_json``, and the clock-skew tolerance is inclusive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.ingest.validation import Rejection, check_not_in_future, validate_message
from protocol.messages import MAX_PAYLOAD_BYTES, CountInterval, LineCount
from protocol.topics import counts_topic

ROOT = "footfall/v1"
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


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
