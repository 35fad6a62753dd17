"""The worker's two sinks: ``MqttSink`` (several cameras, one publisher each, one outbox)
against real Mosquitto, and ``JsonLinesSink`` on a real file."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from edge.config import MqttConfig, parse_config
from edge.transport.outbox import Outbox, OutboxError
from edge.transport.sinks import JsonLinesSink, MqttSink, open_sink
from footfall.local_services import LocalService
from protocol.messages import CameraHealth, CameraStatus, CountInterval
from protocol.settings import ConfigError
from tests.edge.mqtt_support import Collector
from tests.edge.test_outbox import EPOCH, make_interval

if TYPE_CHECKING:
    from edge.worker import IntervalSink

    def _both_fit_the_worker(mqtt_sink: MqttSink, file_sink: JsonLinesSink) -> list[IntervalSink]:
        return [mqtt_sink, file_sink]  # mypy checks the protocol


STORE = "sink-store"


def health_of(camera_id: str, sink: MqttSink) -> CameraHealth:
    return CameraHealth(
        store_id=STORE,
        camera_id=camera_id,
        time_utc=datetime.now(UTC),
        source_state="streaming",
        frames_per_second=10.0,
        frames_processed=100,
        frames_dropped=0,
        detector_milliseconds=40.0,
        outbox_depth=sink.outbox_depth,
        outbox_bytes=sink.outbox_bytes,
        last_publish_utc=sink.last_publish_utc,
        software_version="0.1.0",
    )


def test_mqtt_sink_publishes_every_camera_with_its_own_status(
    tmp_path: Path, mosquitto_server: LocalService
) -> None:
    collector = Collector(mosquitto_server.port, topic=f"footfall/v1/{STORE}/#")
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20)
    sink = MqttSink(
        MqttConfig(port=mosquitto_server.port, keepalive_seconds=5, client_id="shop-device"),
        STORE,
        ["door", "back door"],
        outbox,
        software_version="0.1.0",
    )
    sink.start()
    assert collector.wait_until(
        lambda: all(p.status().connected for p in sink.publishers.values()), 5
    )
    time.sleep(0.3)  # a client id clash would now be kicking one of them off
    assert all(p.status().connections == 1 for p in sink.publishers.values())
    for index in range(20):
        for camera_id in ("door", "back door"):
            stored = sink.submit_interval(make_interval(index, camera_id=camera_id, store_id=STORE))
            assert stored.sequence == index
    assert sink.flush(10)
    assert (sink.outbox_depth, sink.outbox_bytes) == (0, 0)
    assert sink.last_publish_utc is not None
    assert sink.last_interval_end("back door") == EPOCH + timedelta(minutes=20)
    sink.publish_health(health_of("back door", sink))
    with pytest.raises(ValueError, match="no publisher for camera 'aisle'"):
        sink.submit_interval(make_interval(30, camera_id="aisle", store_id=STORE))
    assert collector.wait_until(lambda: len(collector.payloads("/health")) == 1, 5)
    received = collector.counts()
    for camera_id in ("door", "back door"):
        sequences = [message.sequence for message in received if message.camera_id == camera_id]
        assert sequences == list(range(20))
    assert sink.stop(timeout_seconds=2)
    assert collector.wait_until(lambda: len(collector.payloads("/status")) == 4, 5)
    states = [CameraStatus.model_validate_json(p) for p in collector.payloads("/status")]
    assert sorted((s.camera_id, s.state) for s in states) == [
        ("back door", "offline"),
        ("back door", "online"),
        ("door", "offline"),
        ("door", "online"),
    ]
    with pytest.raises(OutboxError):
        outbox.depth("door")  # the sink closed its outbox
    collector.close()


def test_json_lines_sink_continues_sequences_and_cuts_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "counts" / "intervals.jsonl"
    first = JsonLinesSink(path)
    first.start()
    stored = [first.submit_interval(make_interval(index, entries=index)) for index in range(3)]
    first.submit_interval(make_interval(0, camera_id="aisle"))
    assert [message.sequence for message in stored] == [0, 1, 2]
    assert first.last_publish_utc is not None
    assert first.stop()
    with path.open("a") as file:
        file.write('{"schema_version": 1, "store_id": "store-1", "came')  # killed mid-write
    reopened = JsonLinesSink(path)
    assert reopened.last_interval_end("door") == EPOCH + timedelta(minutes=3)
    assert reopened.submit_interval(make_interval(3)).sequence == 3
    assert reopened.submit_interval(make_interval(1, camera_id="aisle")).sequence == 1
    with pytest.raises(ValueError, match="begins before the end of its previous interval"):
        reopened.submit_interval(make_interval(2))
    reopened.stop()
    lines = path.read_text().splitlines()
    messages = [CountInterval.model_validate_json(line) for line in lines]  # torn line gone
    assert [(m.camera_id, m.sequence) for m in messages] == [
        ("door", 0),
        ("door", 1),
        ("door", 2),
        ("aisle", 0),
        ("door", 3),
        ("aisle", 1),
    ]


def test_json_lines_sink_rejects_a_file_that_is_not_intervals(tmp_path: Path) -> None:
    path = tmp_path / "intervals.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match=f"{path} line 1 is not a count interval"):
        JsonLinesSink(path)


def test_open_sink_needs_mqtt_or_an_output_path(tmp_path: Path) -> None:
    camera = {"id": "door", "source": {"uri": "clip.mp4"}}
    with pytest.raises(ConfigError, match=r"set mqtt .* or output_path"):
        open_sink(parse_config({"store_id": STORE, "cameras": [camera]}), "0.1.0")
    config = parse_config(
        {"store_id": STORE, "cameras": [camera], "output_path": str(tmp_path / "out.jsonl")}
    )
    sink = open_sink(config, "0.1.0")
    assert isinstance(sink, JsonLinesSink)
    sink.stop()
