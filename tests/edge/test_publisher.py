"""The MQTT publisher against real Mosquitto brokers: ordering, exactly the submitted
sequences, retained status, health, a broker killed with ``kill -9`` and restarted, the
re-send of acknowledged intervals, an unreachable broker and the quota merge end to end.
A real paho client subscribes and records what arrives."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.transport.interval_merge import covered_starts
from edge.transport.outbox import Outbox
from footfall.local_services import LocalService, free_port, mosquitto
from protocol.messages import CameraHealth
from tests.edge.mqtt_support import (
    CAMERA,
    STORE,
    Collector,
    PublisherFactory,
    own_broker,
    retained_status,
    wait_for_error,
)
from tests.edge.test_outbox import make_interval


def test_intervals_arrive_in_order_exactly_once_with_retained_status(
    mosquitto_server: LocalService, make_publisher: PublisherFactory
) -> None:
    collector = Collector(mosquitto_server.port)
    publisher = make_publisher(mosquitto_server.port)
    submitted = [
        publisher.submit_interval(make_interval(index, entries=index % 4)) for index in range(300)
    ]
    assert publisher.flush(20)
    assert collector.wait_until(lambda: len(collector.counts()) >= 300, 10)
    received = collector.counts()
    assert [message.sequence for message in received] == list(range(300))
    assert received == submitted
    status = retained_status(mosquitto_server.port, publisher.status_topic)
    assert status.state == "online"
    assert publisher.status().outbox_depth == 0
    assert publisher.stop(timeout_seconds=2)
    assert retained_status(mosquitto_server.port, publisher.status_topic).state == "offline"
    collector.close()


def test_health_carries_the_outbox_figures(
    mosquitto_server: LocalService, make_publisher: PublisherFactory
) -> None:
    collector = Collector(mosquitto_server.port)
    publisher = make_publisher(mosquitto_server.port)
    publisher.submit_interval(make_interval(0))
    assert publisher.flush(5)
    health = CameraHealth(
        store_id=STORE,
        camera_id=CAMERA,
        time_utc=datetime.now(UTC),
        source_state="streaming",
        frames_per_second=12.5,
        frames_processed=900,
        frames_dropped=3,
        detector_milliseconds=41.0,
        outbox_depth=publisher.status().outbox_depth,
        outbox_bytes=0,
        last_publish_utc=publisher.last_acknowledged_utc,
        software_version="0.1.0",
    )
    assert publisher.publish_health(health)
    assert collector.wait_until(lambda: len(collector.payloads("/health")) == 1, 5)
    received = CameraHealth.model_validate_json(collector.payloads("/health")[0])
    assert received == health
    assert received.outbox_depth == 0
    assert received.last_publish_utc is not None
    with pytest.raises(ValueError, match="health of store-1/aisle given to the publisher"):
        publisher.publish_health(health.model_copy(update={"camera_id": "aisle"}))
    collector.close()


def test_broker_killed_mid_stream_every_interval_arrives(
    tmp_path: Path, make_publisher: PublisherFactory
) -> None:
    broker = own_broker(tmp_path / "broker")
    collector = Collector(broker.port)
    time.sleep(1.2)  # let the broker save the collector's subscription
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20, keep_acknowledged_seconds=60)
    publisher = make_publisher(broker.port, outbox)
    entries_by_start = {}
    for index in range(400):
        if index == 200:
            broker.kill()
        if index == 260:
            broker.start()
        stored = publisher.submit_interval(make_interval(index, entries=1 + index % 3))
        entries_by_start[stored.interval_start_utc] = stored.lines["entrance"].entries
        time.sleep(0.005)
    assert publisher.flush(20), publisher.status()
    assert collector.wait_until(lambda: len(collector.unique_counts()) >= 400, 20)
    unique = collector.unique_counts()
    assert set(unique) == set(range(400))
    delivered = {m.interval_start_utc: m.lines["entrance"].entries for m in unique.values()}
    assert delivered == entries_by_start
    assert sum(delivered.values()) == sum(1 + index % 3 for index in range(400))
    assert publisher.status().connections >= 2
    collector.close()
    publisher.stop(1)
    broker.stop()


@pytest.mark.parametrize(("keep_acknowledged_seconds", "expected"), [(60, 100), (0, 0)])
def test_resending_acknowledged_covers_a_broker_crash_that_lost_its_queue(
    tmp_path: Path,
    make_publisher: PublisherFactory,
    keep_acknowledged_seconds: float,
    expected: int,
) -> None:
    """The subscriber (an aggregator) is offline; the broker acknowledges 100 intervals,
    queues them in memory for it, and is killed before saving them. Only the publisher's
    re-send of recently acknowledged intervals brings them back (without it: 0 arrive)."""
    broker = own_broker(tmp_path / "broker", autosave_seconds=3600)
    Collector(broker.port, client_id="aggregator").close()
    broker.stop()  # a clean stop saves the aggregator's session and subscription
    broker.start()
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20, keep_acknowledged_seconds)
    publisher = make_publisher(broker.port, outbox)
    for index in range(100):
        publisher.submit_interval(make_interval(index))
    assert publisher.flush(10)
    broker.kill()
    broker.start()
    collector = Collector(broker.port, client_id="aggregator")
    assert collector.wait_until(lambda: publisher.status().connections >= 2, 10)
    collector.wait_until(lambda: len(collector.unique_counts()) >= 100, 2)
    assert len(collector.unique_counts()) == expected
    collector.close()
    publisher.stop(1)
    broker.stop()


def test_resent_copies_that_reach_no_subscriber_go_back_into_the_outbox(
    tmp_path: Path, make_publisher: PublisherFactory
) -> None:
    """As above with the aggregators' shared subscription, which Mosquitto 2.0 does not
    restore after a restart: the re-sent copies get PUBACK 0x10 "no matching subscribers".
    They go back into the outbox and arrive once the aggregator has subscribed again
    (counting 0x10 on a re-sent copy as delivered lost all 100)."""
    broker = own_broker(tmp_path / "broker", autosave_seconds=3600)
    shared_topic = "$share/aggregators/footfall/v1/+/+/counts"
    Collector(broker.port, topic=shared_topic, client_id="aggregator").close()
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20, keep_acknowledged_seconds=60)
    publisher = make_publisher(broker.port, outbox)
    for index in range(100):
        publisher.submit_interval(make_interval(index, entries=1 + index % 3))
    assert publisher.flush(10)  # queued in the broker's memory for the offline aggregator
    broker.kill()
    broker.start()
    deadline = time.monotonic() + 10
    while outbox.depth() < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox.depth() == 100
    assert "No matching subscribers" in wait_for_error(publisher, "did not deliver")
    assert publisher.status().connections == 2
    collector = Collector(broker.port, topic=shared_topic, client_id="aggregator")
    assert publisher.flush(20), publisher.status()
    assert collector.wait_until(lambda: len(collector.unique_counts()) >= 100, 5)
    unique = collector.unique_counts()
    assert set(unique) == set(range(100))
    assert sum(message.lines["entrance"].entries for message in unique.values()) == sum(
        1 + index % 3 for index in range(100)
    )
    collector.close()
    publisher.stop(1)
    broker.stop()


def test_unreachable_broker_keeps_data_then_delivers_merged_totals(
    tmp_path: Path, make_publisher: PublisherFactory
) -> None:
    """Down broker: a clear error state, no crash; the small quota forces merges; once the
    broker is up everything arrives and the totals are exact."""
    port = free_port()
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes=8 * 1024)
    publisher = make_publisher(port, outbox)
    submitted = [
        publisher.submit_interval(make_interval(index, entries=index % 5)) for index in range(100)
    ]
    assert not publisher.flush(1.5)
    status = publisher.status()
    assert not status.connected
    assert status.error is not None
    assert f"cannot reach the MQTT broker at 127.0.0.1:{port}" in status.error
    assert 1 < outbox.depth() < 100  # merged, not dropped
    broker = mosquitto(tmp_path / "broker", port)
    broker.start()
    collector = Collector(port)
    assert publisher.flush(15), publisher.status()
    assert collector.wait_until(
        lambda: sum(len(covered_starts(m)) for m in collector.unique_counts().values()) >= 100, 5
    )
    received = list(collector.unique_counts().values())
    assert sum(m.lines["entrance"].entries for m in received) == sum(
        index % 5 for index in range(100)
    )
    starts = sorted(start for message in received for start in covered_starts(message))
    assert starts == [message.interval_start_utc for message in submitted]
    assert publisher.status().error is None
    collector.close()
    publisher.stop(1)
    broker.stop()


def test_unheard_intervals_wait_until_an_aggregator_subscribes(
    tmp_path: Path, make_publisher: PublisherFactory
) -> None:
    """PUBACK "no matching subscribers" (0x10) means nobody got the interval: it stays in
    the outbox and goes again once a (shared) subscriber exists."""
    broker = mosquitto(tmp_path / "broker")
    broker.start()
    try:
        publisher = make_publisher(broker.port)
        for index in range(5):
            publisher.submit_interval(make_interval(index, entries=2))
        error = wait_for_error(publisher, "did not deliver")
        assert "No matching subscribers" in error
        assert publisher.status().outbox_depth == 5
        collector = Collector(broker.port, topic="$share/aggregators/footfall/v1/+/+/counts")
        assert collector.wait_until(lambda: len(collector.counts()) >= 5, 30)
        assert publisher.flush(10)
        assert sorted(message.sequence for message in collector.counts())[:5] == list(range(5))
        assert publisher.status().outbox_depth == 0
        collector.close()
    finally:
        broker.stop()


def test_one_burst_of_refusals_backs_off_once(
    tmp_path: Path, make_publisher: PublisherFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker comes up without a subscriber while 300 intervals wait: the first 100 go
    out at once and their PUBACKs 0x10 are read in several batches. They start one back-off
    of 1 s, not one per batch (doubling per batch waited 2, 4 and 16 s in three runs)."""
    caplog.set_level(logging.WARNING, logger="edge.transport.publisher")
    port = free_port()
    publisher = make_publisher(port)
    for index in range(300):
        publisher.submit_interval(make_interval(index, entries=2))
    broker = mosquitto(tmp_path / "broker", port)
    broker.start()
    try:
        wait_for_error(publisher, "did not deliver", timeout_seconds=10)
        collector = Collector(port, topic="$share/aggregators/footfall/v1/+/+/counts")
        assert publisher.flush(20), publisher.status()
        refusals = [r for r in caplog.records if "did not deliver" in r.getMessage()]
        first_burst = [r for r in refusals if r.created - refusals[0].created < 0.5]
        retry_seconds = [
            float(re.findall(r"retrying in ([0-9.]+) s", r.getMessage())[0]) for r in first_burst
        ]
        assert sum(int(re.findall(r"deliver (\d+)", r.getMessage())[0]) for r in first_burst) >= 100
        assert max(retry_seconds) <= 1.0, retry_seconds
        assert collector.wait_until(lambda: len(collector.unique_counts()) >= 300, 5)
        assert sum(m.lines["entrance"].entries for m in collector.unique_counts().values()) == 600
        collector.close()
    finally:
        broker.stop()
