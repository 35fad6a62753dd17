"""The running aggregator service (in process, real Mosquitto and InfluxDB) with a clock the
test moves (issue 17): occupancy rolls over at the store's business-day reset while the
service runs, and after a restart it is rebuilt from InfluxDB from the entrance lines only."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from protocol.messages import CountInterval, LineCount
from protocol.topics import counts_topic, occupancy_topic
from tests.aggregator.api.support import Publisher

STORE = "shop-1"
RESET_UTC = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
"""The store's business day 2024-05-01 starts here (reset 04:00 in UTC)."""


class Clock:
    """The service's idea of now, moved by the test."""

    def __init__(self, now_utc: datetime) -> None:
        self.now_utc = now_utc

    def __call__(self) -> datetime:
        return self.now_utc


class OccupancyFeed:
    """Every occupancy message the broker delivers for one store, in order."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._received
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(topic, qos=1)
        self._client.loop_start()

    def _received(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(json.loads(message.payload))

    def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], timeout_seconds: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self._lock:
                found = [message for message in self.messages if wanted(message)]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no such occupancy message; last: {self.messages[-1:]}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def config(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> AggregatorConfig:
    return AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": mosquitto_server.port,
                "topic_root": f"service-{time.monotonic_ns()}/v1",
            },
            "influx": influx.settings.model_dump(),
            "stores": [
                {
                    "id": STORE,
                    "timezone": "UTC",
                    "daily_reset_local_time": "04:00",
                    "capacity": 50,
                    "cameras": [{"id": "entrance", "entrance_lines": ["door"]}],
                }
            ],
            "spool_path": str(tmp_path / "spool"),
            "batch_seconds": 0.05,
        }
    )


@pytest.fixture
def feed(mosquitto_server: LocalService, config: AggregatorConfig) -> Iterator[OccupancyFeed]:
    listener = OccupancyFeed(mosquitto_server.port, occupancy_topic(STORE, config.mqtt.topic_root))
    yield listener
    listener.close()


@pytest.fixture
def publisher(mosquitto_server: LocalService, config: AggregatorConfig) -> Iterator[Publisher]:
    client = Publisher(mosquitto_server.port, config.mqtt.topic_root)
    yield client
    client.close()


def started(service: AggregatorService) -> AggregatorService:
    """``service`` started and subscribed (a message sent before that would be lost: the
    test's client ids are new, so no session holds it)."""
    service.start()
    assert service.consumer.connected.wait(10), "the service never subscribed"
    return service


def send(
    publisher: Publisher, sequence: int, start_utc: datetime, lines: dict[str, tuple[int, int]]
) -> None:
    message = CountInterval(
        store_id=STORE,
        camera_id="entrance",
        sequence=sequence,
        interval_start_utc=start_utc,
        interval_end_utc=start_utc + timedelta(minutes=1),
        frames=600,
        lines={
            line_id: LineCount(entries=entries, exits=exits)
            for line_id, (entries, exits) in lines.items()
        },
        software_version="test",
        config_fingerprint="0123abcd",
    )
    publisher.publish(counts_topic(STORE, "entrance", publisher.root), message.model_dump_json())


def figures(message: dict[str, Any]) -> tuple[str, int, int, int]:
    return (
        message["business_day"],
        message["occupancy"],
        message["entries_today"],
        message["exits_today"],
    )


def test_the_running_service_rolls_the_business_day_over_at_the_reset(
    config: AggregatorConfig, feed: OccupancyFeed, publisher: Publisher, influx: InfluxClient
) -> None:
    clock = Clock(RESET_UTC - timedelta(seconds=90))
    service = started(
        AggregatorService(config, client_id=f"rollover-{time.monotonic_ns()}", clock=clock)
    )
    try:
        send(publisher, 1, RESET_UTC - timedelta(minutes=3), {"door": (7, 2)})
        before = feed.wait_for(lambda message: message["entries_today"] == 7)
        assert figures(before) == ("2024-04-30", 5, 7, 2)

        clock.now_utc = RESET_UTC + timedelta(seconds=1)  # nothing else happens: no message
        after = feed.wait_for(lambda message: message["business_day"] == "2024-05-01")
        assert figures(after) == ("2024-05-01", 0, 0, 0)

        send(publisher, 2, RESET_UTC, {"door": (2, 0)})
        send(publisher, 3, RESET_UTC - timedelta(minutes=2), {"door": (9, 0)})  # yesterday's
        today = feed.wait_for(lambda message: message["entries_today"] == 2)
        assert figures(today) == ("2024-05-01", 2, 2, 0)
    finally:
        service.stop()
    residual = influx.query(
        "SELECT last(reset_residual) FROM store_occupancy WHERE time >= '2024-05-01T04:00:00Z'"
    )
    assert residual[0].values[0][1] == 5, "yesterday's 5 left at the reset are on record"


def test_occupancy_rebuilt_after_a_restart_counts_only_entrance_lines(
    config: AggregatorConfig, feed: OccupancyFeed, publisher: Publisher
) -> None:
    clock = Clock(RESET_UTC + timedelta(hours=2))
    client_id = f"restart-{time.monotonic_ns()}"
    first = started(AggregatorService(config, client_id=client_id, clock=clock))
    try:
        send(publisher, 1, RESET_UTC + timedelta(minutes=30), {"door": (6, 1), "aisle": (40, 3)})
        send(publisher, 2, RESET_UTC + timedelta(minutes=31), {"door": (2, 3), "aisle": (8, 30)})
        live = feed.wait_for(lambda message: message["entries_today"] == 8)
        assert figures(live) == ("2024-05-01", 4, 8, 4)
    finally:
        first.stop()

    clock.now_utc += timedelta(minutes=5)
    second = AggregatorService(config, client_id=client_id, clock=clock)
    second.start()  # rebuilds today's occupancy from InfluxDB
    try:
        moment = clock.now_utc.isoformat().replace("+00:00", "Z")
        rebuilt = feed.wait_for(lambda message: message["time_utc"] == moment)
        assert figures(rebuilt) == ("2024-05-01", 4, 8, 4)
    finally:
        second.stop()
