"""Live crossings from the edge (issue 9, finding 1): numbered per camera within their
interval, anonymous (no track id), published at once on the camera's live topic through a
real Mosquitto, never through the outbox; sinks without MQTT publish none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.config import MqttConfig
from edge.counting.counters import Crossing, Direction
from edge.counting.intervals import IntervalAccumulator
from edge.live_crossings import LiveCrossings
from edge.transport.outbox import Outbox
from edge.transport.sinks import MemorySink, MqttSink
from footfall.local_services import LocalService
from protocol.messages import LiveCrossing
from tests.edge.mqtt_support import Collector

STORE = "live-store"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST = (START, START + timedelta(minutes=1))
SECOND = (START + timedelta(minutes=1), START + timedelta(minutes=2))


class Recorder:
    def __init__(self) -> None:
        self.crossings: list[LiveCrossing] = []

    def publish_live(self, crossing: LiveCrossing) -> None:
        self.crossings.append(crossing)


def seconds(moment: datetime, offset: float = 0.0) -> float:
    return moment.timestamp() + offset


def test_crossings_are_numbered_per_camera_within_their_interval() -> None:
    recorder = Recorder()
    live = LiveCrossings(STORE, recorder)
    entry, exit_ = Crossing("door", 17, Direction.ENTRY), Crossing("door", 18, Direction.EXIT)
    live.publish("cam", seconds(START, 5), FIRST, [entry, exit_])
    live.publish("other", seconds(START, 6), FIRST, [entry])
    live.publish("cam", seconds(START, 59.5), FIRST, [entry])
    live.publish("cam", seconds(START, 61), SECOND, [exit_])
    assert [
        (c.camera_id, c.sequence, c.direction, c.interval_start_utc, c.time_utc)
        for c in recorder.crossings
    ] == [
        ("cam", 0, "entry", START, START + timedelta(seconds=5)),
        ("cam", 1, "exit", START, START + timedelta(seconds=5)),
        ("other", 0, "entry", START, START + timedelta(seconds=6)),
        ("cam", 2, "entry", START, START + timedelta(seconds=59.5)),
        ("cam", 0, "exit", SECOND[0], START + timedelta(seconds=61)),
    ]
    assert all(
        c.interval_end_utc == c.interval_start_utc + timedelta(minutes=1)
        for c in recorder.crossings
    )
    assert live.published == 5
    document = json.loads(recorder.crossings[0].model_dump_json())
    assert set(document) == {
        "schema_version",
        "store_id",
        "camera_id",
        "line_id",
        "direction",
        "time_utc",
        "interval_start_utc",
        "interval_end_utc",
        "sequence",
    }  # anonymous: no track id, nothing about the person


def test_a_frame_time_rounding_up_to_the_end_stays_in_its_interval() -> None:
    recorder = Recorder()
    live = LiveCrossings(STORE, recorder)
    just_before_end = seconds(FIRST[1]) - 1e-7  # rounds to the end in microseconds
    assert live.publish("cam", just_before_end, FIRST, [Crossing("door", 1, Direction.ENTRY)])
    assert recorder.crossings[0].time_utc == FIRST[1] - timedelta(microseconds=1)


def test_a_crossing_that_cannot_be_published_never_stops_the_counting() -> None:
    class Broken:
        def publish_live(self, crossing: LiveCrossing) -> None:
            raise RuntimeError("socket gone")

    live = LiveCrossings(STORE, Broken())
    assert live.publish("cam", seconds(START), FIRST, [Crossing("door", 1, Direction.ENTRY)]) == []


def test_the_open_interval_is_the_one_the_frame_went_into() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    assert accumulator.open_interval_utc is None
    accumulator.add_frame(seconds(START, 30), [], {})
    assert accumulator.open_interval_utc == FIRST
    accumulator.add_frame(seconds(START, 60), [], {})
    assert accumulator.open_interval_utc == SECOND
    resumed = IntervalAccumulator(60, ["door"], [], not_before_utc=START + timedelta(seconds=20))
    resumed.add_frame(seconds(START, 30), [], {})
    assert resumed.open_interval_utc == (START + timedelta(seconds=20), FIRST[1])


def test_sinks_without_mqtt_publish_no_live_crossings() -> None:
    live = LiveCrossings(STORE, MemorySink())
    assert not live.enabled
    assert live.publish("cam", seconds(START), FIRST, [Crossing("door", 1, Direction.ENTRY)]) == []


def test_mqtt_sink_publishes_live_crossings_at_once_and_not_through_the_outbox(
    tmp_path: Path, mosquitto_server: LocalService
) -> None:
    collector = Collector(mosquitto_server.port, topic=f"footfall/v1/{STORE}/+/live")
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20)
    sink = MqttSink(
        MqttConfig(port=mosquitto_server.port, keepalive_seconds=5),
        STORE,
        ["door-cam"],
        outbox,
        software_version="0.1.0",
    )
    live = LiveCrossings(STORE, sink)
    crossing = Crossing("door", 3, Direction.ENTRY)
    try:
        assert live.publish("door-cam", seconds(START), FIRST, [crossing])  # not connected yet
        publisher = sink.publishers["door-cam"]
        assert publisher.live_dropped == 1
        sink.start()
        assert collector.wait_until(lambda: publisher.status().connected, 10)
        now = datetime.now(UTC).replace(microsecond=0)
        bounds = (now, now + timedelta(minutes=1))
        sent = live.publish("door-cam", seconds(now, 0.5), bounds, [crossing, crossing])
        assert collector.wait_until(lambda: len(collector.payloads("/live")) == 2, 5)
        received = [LiveCrossing.model_validate_json(p) for p in collector.payloads("/live")]
        assert received == sent[-2:]
        assert [message.sequence for message in received] == [0, 1]  # a new interval
        assert outbox.depth() == 0  # best effort: nothing stored
        assert publisher.live_published == 2
    finally:
        sink.stop(timeout_seconds=1)
        collector.close()
