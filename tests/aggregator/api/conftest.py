"""Fixtures for the API tests: a config pointing at the session's real Mosquitto and InfluxDB,
with a topic root of its own per test so retained messages never leak between tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from aggregator.config import AggregatorConfig
from footfall.local_services import LocalService
from tests.aggregator.api.support import Publisher

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


@pytest.fixture
def publisher(mosquitto_server: LocalService, topic_root: str) -> Iterator[Publisher]:
    client = Publisher(mosquitto_server.port, topic_root)
    yield client
    client.close()
