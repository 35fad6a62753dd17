"""Publisher edges found by ``make mutation`` (issue 17), against real Mosquitto brokers:
every message leaves on its camera's own topic under the configured root (a count on another
store's or root's topic is refused by the aggregator: lost); a camera sharing its outbox with
another flushes and reports only its own intervals; one message in flight at a time still
delivers; a publisher that is not connected drops live crossings and health and says so; an
outbox error is reported and publishing goes on; a killed device leaves its retained
``offline`` status (the Last Will)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.config import MqttConfig
from edge.transport.outbox import Outbox, OutboxError
from edge.transport.publisher import MqttPublisher
from footfall.local_services import LocalService, free_port
from protocol.messages import CameraHealth, CameraStatus, CountInterval, LiveCrossing
from tests.edge.mqtt_support import CAMERA, STORE, Collector, PublisherFactory, wait_for_error
from tests.edge.test_outbox import EPOCH, make_interval
from tests.message_builders import camera_health, live_crossing

ROOT = Path(__file__).resolve().parents[2]


def health(camera_id: str = CAMERA) -> CameraHealth:
    return camera_health(STORE, camera_id, datetime.now(UTC))


def crossing(camera_id: str = CAMERA) -> LiveCrossing:
    return live_crossing(STORE, camera_id, "entrance", EPOCH, seconds_in=5, sequence=1)


def test_every_message_leaves_on_the_cameras_own_topics_under_the_root(
    mosquitto_server: LocalService, make_publisher: PublisherFactory, tmp_path: Path
) -> None:
    root = f"shop-{uuid.uuid4().hex[:8]}/v1"
    collector = Collector(mosquitto_server.port, topic=f"{root}/#")
    outbox = Outbox(tmp_path / "shared.sqlite3", 1 << 20)
    outbox.append(make_interval(0, entries=9, camera_id="side"))  # another camera's worker
    publisher = make_publisher(
        mosquitto_server.port, outbox, {"topic_root": root, "max_inflight": 1}
    )
    assert publisher.status().last_acknowledged_utc is None
    for index in range(3):
        publisher.submit_interval(make_interval(index, entries=index + 1))
    assert publisher.flush(10), publisher.status()
    assert publisher.last_interval_end(CAMERA) == EPOCH + timedelta(minutes=3)
    status = publisher.status()
    assert (status.outbox_depth, status.in_flight) == (0, 0)
    assert status.last_acknowledged_utc is not None
    assert outbox.depth("side") == 1, "the other camera's interval is not this publisher's"
    report = health()
    assert publisher.publish_health(report)
    crossings = [crossing(), crossing().model_copy(update={"sequence": 2, "direction": "exit"})]
    assert all(publisher.publish_live(live) for live in crossings)
    assert (publisher.live_published, publisher.live_dropped) == (2, 0)
    prefix = f"{root}/{STORE}/{CAMERA}"
    assert collector.wait_until(lambda: len(collector.messages) >= 7, 10), collector.messages
    assert sorted({topic for topic, _, _ in collector.messages}) == [
        f"{prefix}/counts",
        f"{prefix}/health",
        f"{prefix}/live",
        f"{prefix}/status",
    ]
    counts = collector.counts()
    assert [(m.sequence, m.lines["entrance"].entries) for m in counts] == [(0, 1), (1, 2), (2, 3)]
    live_payloads = collector.payloads("/live")
    assert [LiveCrossing.model_validate_json(p) for p in live_payloads] == crossings
    assert [CameraHealth.model_validate_json(p) for p in collector.payloads("/health")] == [report]
    [status_payload] = collector.payloads("/status")
    assert CameraStatus.model_validate_json(status_payload) == CameraStatus(
        state="online", store_id=STORE, camera_id=CAMERA, software_version="0.1.0"
    )
    collector.close()


def test_a_publisher_that_is_not_connected_drops_live_crossings_and_health(
    make_publisher: PublisherFactory,
) -> None:
    publisher = make_publisher(free_port())
    assert not publisher.publish_health(health())
    assert not publisher.publish_live(crossing())
    assert not publisher.publish_live(crossing())
    assert (publisher.live_published, publisher.live_dropped) == (0, 2)
    with pytest.raises(ValueError, match="live crossing of store-1/aisle given to the publisher"):
        publisher.publish_live(crossing("aisle"))
    interval = make_interval(0, camera_id="aisle")
    with pytest.raises(ValueError, match="interval of store-1/aisle submitted to the publisher of"):
        publisher.submit_interval(interval)
    assert publisher.status().outbox_depth == 0


class OutboxFailingOnce(Outbox):
    """A real outbox whose first ``take`` fails as a full or failing disk would."""

    failed = False

    def take(self, camera_id: str, limit: int) -> list[CountInterval]:
        if not self.failed:
            self.failed = True
            raise OutboxError(f"outbox {self.path}: cannot read pending intervals: disk I/O error")
        return super().take(camera_id, limit)


def test_an_outbox_error_is_reported_and_publishing_goes_on(
    mosquitto_server: LocalService, make_publisher: PublisherFactory, tmp_path: Path
) -> None:
    collector = Collector(mosquitto_server.port)
    outbox = OutboxFailingOnce(tmp_path / "outbox.sqlite3", 1 << 20)
    publisher = make_publisher(mosquitto_server.port, outbox)
    publisher.submit_interval(make_interval(0, entries=4))
    error = wait_for_error(publisher, "disk I/O error")
    assert error == f"outbox {outbox.path}: cannot read pending intervals: disk I/O error"
    assert publisher.flush(10), publisher.status()
    assert collector.wait_until(lambda: len(collector.counts()) == 1, 5)
    assert collector.counts()[0].lines["entrance"].entries == 4
    collector.close()


def test_a_killed_device_leaves_its_retained_offline_status(
    mosquitto_server: LocalService, tmp_path: Path
) -> None:
    root = f"will-{uuid.uuid4().hex[:8]}/v1"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from edge.config import MqttConfig
        from edge.transport.outbox import Outbox
        from edge.transport.publisher import MqttPublisher
        config = MqttConfig.model_validate(
            {{"port": {mosquitto_server.port}, "topic_root": {root!r}, "keepalive_seconds": 5}}
        )
        outbox = Outbox(Path({str(tmp_path / "outbox.sqlite3")!r}), 1 << 20)
        publisher = MqttPublisher(config, {STORE!r}, {CAMERA!r}, outbox, software_version="9.9")
        publisher.start()
        while not publisher.status().connected:
            time.sleep(0.05)
        print("connected", flush=True)
        time.sleep(60)
        """
    )
    device = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    topic = f"{root}/{STORE}/{CAMERA}/status"
    try:
        assert device.stdout is not None
        assert device.stdout.readline().strip() == "connected"
        assert last_retained(mosquitto_server.port, topic).state == "online"
    finally:
        device.kill()
        device.wait(10)
    deadline = time.monotonic() + 10
    while last_retained(mosquitto_server.port, topic).state != "offline":
        assert time.monotonic() < deadline, "no offline status after the device died"
        time.sleep(0.1)
    assert last_retained(mosquitto_server.port, topic) == CameraStatus(
        state="offline", store_id=STORE, camera_id=CAMERA, software_version="9.9"
    )


def last_retained(port: int, topic: str) -> CameraStatus:
    """The retained status a subscriber arriving now receives (waits for the online one)."""
    collector = Collector(port, topic)
    try:
        assert collector.wait_until(lambda: bool(collector.payloads("/status")), 5), topic
        return CameraStatus.model_validate_json(collector.payloads("/status")[-1])
    finally:
        collector.close()


@pytest.mark.parametrize(
    ("given", "configured", "expected"),
    [
        (None, None, f"footfall-{STORE}-{CAMERA}"),
        (None, "fixed", "fixed"),
        ("mine", "fixed", "mine"),
    ],
)
def test_the_client_id_is_given_configured_or_stable_per_camera(
    tmp_path: Path, given: str | None, configured: str | None, expected: str
) -> None:
    """A stable id keeps the broker session (and its ACL entry) across restarts."""
    config = MqttConfig.model_validate({"port": free_port(), "client_id": configured})
    with Outbox(tmp_path / "outbox.sqlite3", 1 << 20) as outbox:
        publisher = MqttPublisher(
            config, STORE, CAMERA, outbox, software_version="0.1.0", client_id=given
        )
        assert publisher.client_id == expected
