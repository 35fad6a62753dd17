"""Fixtures for the API tests: a config pointing at the session's real Mosquitto and InfluxDB,
with a topic root of its own per test so retained messages never leak between tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel

from aggregator.config import AggregatorConfig
from edge.messages import StoreOccupancy
from footfall.local_services import LocalService

WRITE_TOKEN = "test-write-token-0123456789"


@pytest.fixture
def topic_root() -> str:
    return f"test-{uuid.uuid4().hex[:10]}/v1"


@pytest.fixture
def api_config(
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx_database: str,
    topic_root: str,
) -> AggregatorConfig:
    return AggregatorConfig.model_validate(
        {
            "mqtt": {"port": mosquitto_server.port, "topic_root": topic_root},
            "influx": {
                "url": f"http://127.0.0.1:{influx_server.port}",
                "database": influx_database,
            },
            "api": {"write_token": WRITE_TOKEN},
            "stores": [
                {"id": "shop-1", "name": "High Street", "capacity": 3},
                {"id": "shop-2", "timezone": "Europe/London", "capacity": 40},
            ],
        }
    )


class Publisher:
    """A plain MQTT 5 client that publishes and waits for the broker's PUBACK."""

    def __init__(self, port: int, root: str) -> None:
        self.root = root
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert info.is_published(), f"no PUBACK for {topic}"

    def publish_model(self, topic_suffix: str, message: BaseModel, retain: bool = True) -> None:
        self.publish(f"{self.root}/{topic_suffix}", message.model_dump_json(), retain=retain)

    def occupancy(self, store_id: str, count: int, **fields: Any) -> StoreOccupancy:
        message = occupancy_message(store_id, count, **fields)
        self.publish_model(f"{store_id}/occupancy", message)
        return message

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def occupancy_message(store_id: str, count: int, **fields: Any) -> StoreOccupancy:
    values: dict[str, Any] = {
        "store_id": store_id,
        "time_utc": datetime.now(UTC),
        "business_day": datetime.now(UTC).date().isoformat(),
        "occupancy": count,
        "entries_today": count + 10,
        "exits_today": 10,
    }
    values.update(fields)
    return StoreOccupancy.model_validate(values)


@pytest.fixture
def publisher(mosquitto_server: LocalService, topic_root: str) -> Iterator[Publisher]:
    client = Publisher(mosquitto_server.port, topic_root)
    yield client
    client.close()


def wait_until(check: Callable[[], Any], timeout_seconds: float = 5.0) -> Any:
    """Poll ``check`` until it returns a truthy value; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout_seconds
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.02)
        value = check()
    assert value, f"condition not met within {timeout_seconds} s (last value {value!r})"
    return value
