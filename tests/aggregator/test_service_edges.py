"""The running aggregator service (in process, real Mosquitto and InfluxDB) on everything that
is not a plain count interval (issue 17, found by ``make mutation`` on ``service.py``): every
message is acknowledged exactly once, whatever becomes of it; an exact redelivery is skipped
but an interval reusing a sequence number with other counts (an edge whose outbox was reset)
is stored; an interval from the future, or bad JSON, is dead-lettered and never stored;
health and status are stored; the occupancy and the replica's status are retained; a live
crossing whose interval lies beyond the clock-skew tolerance counts nothing."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService, RecentSequences, spool_directory_name
from aggregator.storage.influx import InfluxClient
from aggregator.storage.measurements import EDGE_HEALTH, EDGE_STATUS, LINE_COUNTS
from footfall.local_services import LocalService
from protocol.messages import CameraHealth, CameraStatus, CountInterval, LineCount
from protocol.topics import (
    aggregator_status_topic,
    counts_topic,
    health_topic,
    live_topic,
    occupancy_topic,
    status_topic,
)
from tests.aggregator.api.support import Publisher
from tests.integration.test_refuse_and_tell import retained
from tests.message_builders import camera_health, live_crossing

STORE, CAMERA = "shop-1", "entrance"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
"""Intervals a few minutes before the test runs; the business day started 12 h before."""


def aggregator_config(
    broker: LocalService, influx: InfluxClient, spool: Path, **mqtt: Any
) -> AggregatorConfig:
    group = f"edges-{time.monotonic_ns()}"
    root = f"{group}/v1"
    return AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": broker.port,
                "topic_root": root,
                "share_group": group,
                "dead_letter_topic": f"{root}/dead-letter",
                **mqtt,
            },
            "influx": influx.settings.model_dump(),
            "stores": [
                {
                    "id": STORE,
                    "timezone": "UTC",
                    "daily_reset_local_time": (NOW - timedelta(hours=12)).strftime("%H:%M"),
                    "cameras": [{"id": CAMERA, "entrance_lines": ["door"]}],
                }
            ],
            "spool_path": str(spool),
            "batch_seconds": 0.05,
        }
    )


def interval(minutes_ago: int, entries: int, sequence: int = 1) -> CountInterval:
    start = NOW - timedelta(minutes=minutes_ago)
    return CountInterval(
        store_id=STORE,
        camera_id=CAMERA,
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={"door": LineCount(entries=entries, exits=1)},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def wait_until(condition: Callable[[], bool], what: str, timeout_seconds: float = 10) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def stored_entries(influx: InfluxClient) -> tuple[int, int]:
    series = influx.query(f"SELECT sum(entries), count(entries) FROM {LINE_COUNTS}")
    if not series:
        return (0, 0)
    _, total, count = series[0].values[0]
    return (int(total or 0), int(count or 0))


@pytest.fixture
def config(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> AggregatorConfig:
    return aggregator_config(mosquitto_server, influx, tmp_path / "spool", replica_sync=False)


@pytest.fixture
def service(config: AggregatorConfig) -> Iterator[AggregatorService]:
    running = AggregatorService(config, client_id=f"edges-{time.monotonic_ns()}")
    running.start()
    assert running.consumer.connected.wait(10)
    yield running
    running.stop()


@pytest.fixture
def publisher(mosquitto_server: LocalService, config: AggregatorConfig) -> Iterator[Publisher]:
    client = Publisher(mosquitto_server.port, config.mqtt.topic_root)
    yield client
    client.close()


def health() -> CameraHealth:
    return camera_health(
        STORE, CAMERA, NOW - timedelta(minutes=1), outbox_depth=2, last_publish_utc=None
    )


def test_every_message_is_acknowledged_once_and_stored_as_it_should(
    service: AggregatorService,
    publisher: Publisher,
    influx: InfluxClient,
    mosquitto_server: LocalService,
) -> None:
    root = publisher.root
    counts = counts_topic(STORE, CAMERA, root)
    first = interval(5, entries=5).model_dump_json()
    started_utc = datetime.now(UTC).replace(microsecond=0)

    def acknowledged(count: int) -> None:
        wait_until(lambda: service.consumer.acks_sent >= count, f"not {count} acknowledged")

    def dead_letter() -> dict[str, Any]:
        return retained(mosquitto_server.port, f"{root}/dead-letter")

    for _ in range(3):
        publisher.publish(counts, first)  # and two exact redeliveries
    publisher.publish(counts, interval(3, entries=2).model_dump_json())  # sequence 1 again
    future = interval(-24 * 60, entries=100, sequence=2).model_dump_json()
    publisher.publish(counts, future)
    acknowledged(5)
    assert (dead_letter()["reason"], dead_letter()["topic"]) == ("future_interval", counts)
    assert "clock_skew_tolerance_seconds" in dead_letter()["detail"]
    assert base64.b64decode(dead_letter()["payload_base64"]) == future.encode()
    not_json = b"{not json" + b" " * 150_000
    publisher.publish(counts, not_json)
    publisher.publish(health_topic(STORE, CAMERA, root), health().model_dump_json())
    status = CameraStatus(state="online", store_id=STORE, camera_id=CAMERA)
    publisher.publish(status_topic(STORE, CAMERA, root), status.model_dump_json())
    acknowledged(8)
    time.sleep(0.3)
    assert service.consumer.acks_sent == 8

    assert (service.stats.accepted, service.stats.duplicates) == (2, 2)
    assert service.rejections.by_reason() == {"bad_json": 1, "future_interval": 1}
    assert stored_entries(influx) == (7, 2), "the future interval must never be stored"
    [health_row] = influx.query(f"SELECT frames_processed, outbox_depth FROM {EDGE_HEALTH}")
    assert health_row.values[0][1:] == [5700, 2]
    [status_row] = influx.query(f'SELECT "online", "state" FROM {EDGE_STATUS}')
    assert status_row.values[0][1:] == [True, "online"]

    assert (dead_letter()["reason"], dead_letter()["topic"]) == ("bad_json", counts)
    assert base64.b64decode(dead_letter()["payload_base64"]) == not_json[:100_000]
    received_utc = datetime.fromisoformat(dead_letter()["received_utc"])
    assert started_utc <= received_utc <= datetime.now(UTC)

    def occupancy() -> dict[str, Any]:
        return retained(mosquitto_server.port, occupancy_topic(STORE, root))

    wait_until(lambda: occupancy()["entries_today"] == 7, "occupancy never retained")
    assert (occupancy()["occupancy"], occupancy()["exits_today"]) == (5, 2)
    assert started_utc <= datetime.fromisoformat(occupancy()["last_update_utc"])

    def replica() -> dict[str, Any]:
        return retained(mosquitto_server.port, aggregator_status_topic(service.client_id, root))

    wait_until(lambda: replica()["accepted"] == 2, "the replica's status never caught up")
    assert (replica()["duplicates"], replica()["rejected_by_reason"]) == (
        2,
        {"bad_json": 1, "future_interval": 1},
    )
    assert replica()["last_rejection"]["reason"] == "bad_json"


def test_a_live_crossing_beyond_the_clock_skew_tolerance_counts_nothing(
    service: AggregatorService, publisher: Publisher
) -> None:
    def crossing(start_utc: datetime) -> str:
        return live_crossing(STORE, CAMERA, "door", start_utc, sequence=1).model_dump_json()

    topic = live_topic(STORE, CAMERA, publisher.root)
    publisher.publish(topic, crossing(NOW + timedelta(hours=1)))
    publisher.publish(topic, crossing(NOW))

    def provisional() -> int:
        return service.book.tracker(STORE).snapshot(datetime.now(UTC)).provisional_entries

    wait_until(lambda: provisional() >= 1, "the current crossing never counted")
    time.sleep(0.3)
    assert provisional() == 1


def test_messages_sent_while_the_aggregator_is_stopped_wait_in_its_session(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> None:
    config = aggregator_config(
        mosquitto_server,
        influx,
        tmp_path / "spool",
        replica_sync=False,
        session_expiry_seconds=600,
    )
    client_id = f"session-{time.monotonic_ns()}"
    first = AggregatorService(config, client_id=client_id)
    first.start()
    assert first.consumer.connected.wait(10)
    first.stop()
    publisher = Publisher(mosquitto_server.port, config.mqtt.topic_root)
    try:
        topic = counts_topic(STORE, CAMERA, publisher.root)
        publisher.publish(topic, interval(4, entries=6).model_dump_json())
    finally:
        publisher.close()
    second = AggregatorService(config, client_id=client_id)
    second.start()
    try:
        wait_until(lambda: stored_entries(influx) == (6, 1), "the queued message was lost")
        wait_until(lambda: second.consumer.acks_sent == 1, "never acknowledged")
    finally:
        second.stop()


def test_recent_sequences_remember_payloads_up_to_their_capacity() -> None:
    recent = RecentSequences(capacity=2)
    first, second, third = (interval(minutes, 1, sequence=minutes) for minutes in (1, 2, 3))
    assert not recent.seen_before(first, b"a")
    assert not recent.seen_before(second, b"b")
    assert recent.seen_before(first, b"a"), "an exact redelivery"
    assert not recent.seen_before(first, b"changed"), "same sequence, other counts"
    assert not recent.seen_before(third, b"c")  # the first one remembered is forgotten
    assert recent.seen_before(third, b"c")
    assert recent.seen_before(second, b"b")
    assert not recent.seen_before(first, b"changed")


@pytest.mark.parametrize(
    ("client_id", "directory"),
    [
        ("aggregator-1", "aggregator-1"),
        ("host 2/replica:b", "host_2_replica_b"),
        ("", "aggregator"),
    ],
)
def test_each_replica_spools_into_its_own_directory(client_id: str, directory: str) -> None:
    assert spool_directory_name(client_id) == directory
