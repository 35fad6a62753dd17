"""Issue 9, findings 3 and 4 on the real broker and InfluxDB: a count interval dated years
ahead is dead-lettered with its own reason and never stored; dead letters are retained, so a
subscriber that comes later still reads the latest; the API's ``/health`` and ``/metrics``
report the aggregator's rejections by reason (from its retained status) and the registry's
entrance line that no edge reports (``dor`` for ``door``), which the aggregator also logs."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from protocol.messages import CountInterval, LineCount
from tests.integration.aggregator_harness import totals_of, wait_for_totals

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

STORE, CAMERA = "shop-1", "entrance"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def interval(sequence: int, start: datetime, entries: int) -> CountInterval:
    return CountInterval(
        store_id=STORE,
        camera_id=CAMERA,
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={"door": LineCount(entries=entries, exits=1)},
        zones={},
        software_version="test",
        config_fingerprint="0123abcd",
    )


@pytest.fixture
def config(
    tmp_path: Path,
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx: InfluxClient,
) -> AggregatorConfig:
    unique = uuid.uuid4().hex[:8]
    root = f"tell-{unique}/v1"
    return AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": mosquitto_server.port,
                "topic_root": root,
                "share_group": f"tell-{unique}",
                "client_id": f"tell-aggregator-{unique}",
                "dead_letter_topic": f"{root}/dead-letter",
            },
            "influx": {
                "url": f"http://127.0.0.1:{influx_server.port}",
                "database": influx.settings.database,
            },
            "stores": [{"id": STORE, "cameras": [{"id": CAMERA, "entrance_lines": ["dor"]}]}],
            "spool_path": str(tmp_path / "spool"),
            "batch_seconds": 0.2,
            "clock_skew_tolerance_seconds": 120,
        }
    )


@pytest.fixture
def service(
    config: AggregatorConfig, caplog: pytest.LogCaptureFixture
) -> Iterator[AggregatorService]:
    caplog.set_level(logging.WARNING, logger="aggregator.ingest.entrances")
    running = AggregatorService(config)
    running.start()
    assert running.consumer.connected.wait(10)
    time.sleep(0.3)
    yield running
    running.stop()


def publish(port: int, topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for payload in payloads:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def retained(port: int, topic: str, timeout_seconds: float = 5) -> dict[str, Any]:
    """What a subscriber that arrives now receives on ``topic`` (the retained message)."""
    received: list[bytes] = []
    arrived = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        arrived.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert arrived.wait(timeout_seconds), f"nothing retained on {topic}"
    finally:
        client.loop_stop()
        client.disconnect()
    document: dict[str, Any] = json.loads(received[0])
    return document


def wait_for_health(client: TestClient, rejected: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        health: dict[str, Any] = client.get("/health").json()
        if health["aggregator_rejected"] >= rejected or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_future_interval_is_dead_lettered_and_every_rejection_is_told(
    service: AggregatorService,
    config: AggregatorConfig,
    mosquitto_server: LocalService,
    influx: InfluxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = config.mqtt.topic_root
    topic = f"{root}/{STORE}/{CAMERA}/counts"
    good = [interval(0, NOW - timedelta(minutes=3), 4), interval(1, NOW - timedelta(minutes=2), 3)]
    years_ahead = interval(2, NOW + timedelta(days=3 * 365), 50)
    slightly_ahead = interval(3, NOW + timedelta(seconds=30), 2)  # inside the 120 s tolerance
    payloads = [message.model_dump_json().encode() for message in good]
    payloads += [b"{not json", b"[]", years_ahead.model_dump_json().encode()]
    payloads.append(slightly_ahead.model_dump_json().encode())
    publish(mosquitto_server.port, topic, payloads)

    expected = totals_of([*good, slightly_ahead])
    assert wait_for_totals(influx, expected, 20) == expected
    deadline = time.monotonic() + 10
    while service.rejections.total < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.rejections.by_reason() == {
        "bad_json": 1,
        "not_an_object": 1,
        "future_interval": 1,
    }
    stored_years = influx.query('SELECT count(entries) FROM "line_counts" WHERE time > now()+1d')
    assert stored_years == []

    # Retained: a subscriber arriving after the fact reads the latest dead letter.
    letter = retained(mosquitto_server.port, f"{root}/dead-letter")
    assert letter["reason"] == "future_interval"
    assert "clock_skew_tolerance_seconds" in letter["detail"]
    assert letter["topic"] == topic

    # The registry says entrance line "dor"; the edge reports "door": logged, and told.
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    warnings = [record.getMessage() for record in records]
    assert any(
        "entrance line(s) shop-1/entrance/dor" in text and "never been reported" in text
        for text in warnings
    ), warnings
    assert any(
        "camera shop-1/entrance reports lines door but not its registered entrance line(s) dor"
        in text
        for text in warnings
    ), warnings

    with TestClient(create_app(config)) as client:
        health = wait_for_health(client, 3)
        assert health["aggregator_rejected"] == 3, health
        assert health["aggregator_rejected_by_reason"] == {
            "bad_json": 1,
            "future_interval": 1,
            "not_an_object": 1,
        }
        assert health["entrance_lines_never_seen"] == ["shop-1/entrance/dor"]
        (replica,) = health["aggregators"]
        assert replica["client_id"] == config.mqtt.client_id
        assert replica["accepted"] == 3
        assert replica["last_rejection"]["reason"] == "future_interval"
        metrics = client.get("/metrics").text
    replica_label = f'replica="{config.mqtt.client_id}"'
    assert f'footfall_aggregator_rejected_total{{{replica_label},reason="future_interval"}} 1' in (
        metrics
    )
    assert f'footfall_aggregator_rejected_total{{{replica_label},reason="bad_json"}} 1' in metrics
    assert "footfall_entrance_lines_never_seen 1" in metrics


def test_an_entrance_line_stored_before_a_restart_is_not_reported_missing(
    config: AggregatorConfig, mosquitto_server: LocalService, influx: InfluxClient
) -> None:
    """At start the watch reads the stored line series: a line reported yesterday is known."""
    document = config.model_dump(mode="json")
    document["stores"][0]["cameras"] = [{"id": CAMERA, "entrance_lines": ["door", "side"]}]
    fixed = AggregatorConfig.model_validate(document)
    first = AggregatorService(fixed)
    first.start()
    assert first.consumer.connected.wait(10)
    time.sleep(0.3)
    message = interval(0, NOW - timedelta(minutes=5), 2)
    publish(mosquitto_server.port, f"{fixed.mqtt.topic_root}/{STORE}/{CAMERA}/counts",
            [message.model_dump_json().encode()])  # fmt: skip
    assert wait_for_totals(influx, totals_of([message]), 20) == totals_of([message])
    first.stop()
    second = AggregatorService(fixed)
    second.start()
    try:
        assert second._entrance_watch.never_seen() == ["shop-1/entrance/side"]
    finally:
        second.stop()
