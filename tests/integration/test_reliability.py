"""Reliability of the edge -> Mosquitto -> aggregator -> InfluxDB path (issue 3, tests 1, 2, 3).

The edge is the real publishing path in its own process, as on a device
(``tests/integration/edge_device.py``: ``open_sink`` -> ``MqttSink``, one ``MqttPublisher`` per
camera, one durable ``Outbox``). Every test compares the entries/exits stored in InfluxDB
with the intervals the device reported as stored: exactly equal, and one point per interval
(nothing lost, nothing doubled). Real Mosquitto, real InfluxDB, and the aggregator as a
subprocess started through the CLI.
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, free_port, influxdb, mosquitto, wait_influx_ping
from tests.integration.aggregator_harness import (
    STORE,
    AggregatorProcess,
    totals_of,
    utc_now,
    wait_for_occupancy,
    wait_for_totals,
    write_config,
)
from tests.integration.edge_device import DevicePlan, EdgeDevice

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# The test broker saves its state every 30 s, as the shipped one does (deploy/mosquitto): a
# kill -9 loses what it acknowledged since then, and the edge re-sends it (docs/transport.md,
# "Re-sending acknowledged intervals"). Started as root, Mosquitto would switch to the
# "mosquitto" user and fail to write its database into the test's directory ("Error:
# Permission denied"), so it stays the current user.
BROKER_PERSISTENCE = f"allow_anonymous true\nautosave_interval 30\nuser {getpass.getuser()}\n"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalService]:
    """A broker this test may kill; it restarts on the same port with its persisted state."""
    service = mosquitto(tmp_path / "mosquitto", free_port(), extra_config=BROKER_PERSISTENCE)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def aggregators(tmp_path: Path) -> Iterator[list[AggregatorProcess]]:
    started: list[AggregatorProcess] = []
    yield started
    for process in started:
        process.stop()


def aggregator(
    tmp_path: Path,
    started: list[AggregatorProcess],
    broker_port: int,
    influx_port: int,
    database: str,
    client_id: str = "aggregator-1",
) -> AggregatorProcess:
    config = write_config(
        tmp_path / "aggregator.yaml",
        broker_port=broker_port,
        influx_port=influx_port,
        database=database,
        spool_path=tmp_path / "spool",
        now_utc=utc_now(),
    )
    process = AggregatorProcess(config, client_id, tmp_path / f"{client_id}.log")
    started.append(process)
    process.start_and_wait()
    return process


@pytest.fixture
def edge_devices() -> Iterator[list[EdgeDevice]]:
    started: list[EdgeDevice] = []
    yield started
    for device in started:
        device.kill()  # only a failed test leaves one running


def edge_device(
    tmp_path: Path,
    started: list[EdgeDevice],
    broker_port: int,
    *,
    cameras: int,
    per_camera: int,
    rate_per_second: float,
) -> EdgeDevice:
    plan = DevicePlan(per_camera=per_camera, rate_per_second=rate_per_second, now_utc=utc_now())
    device = EdgeDevice(tmp_path / "edge", STORE, cameras, broker_port, plan)
    started.append(device)
    device.start()
    return device


@pytest.mark.parametrize("aggregator_down", [False, True], ids=["running", "stopped"])
def test_broker_killed_mid_stream(
    tmp_path: Path,
    broker: LocalService,
    influx: InfluxClient,
    influx_server: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
    aggregator_down: bool,
) -> None:
    """kill -9 of the broker after 200 of 600 intervals; it restarts on its port without
    its state. ``running``: the aggregator stays up and whichever client is back first
    wins. ``stopped``: the aggregator is stopped cleanly (session kept) just before, so the
    broker holds the next 90 acknowledged intervals only in memory and loses them, and
    Mosquitto 2.0 comes back without the aggregator's shared subscription, so the edge gets
    PUBACK 0x10 until the aggregator is back. Only the edge's re-send of acknowledged
    intervals, and putting the copies answered 0x10 back in its outbox, deliver those 90."""
    process = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, influx.settings.database
    )
    device = edge_device(
        tmp_path, edge_devices, broker.port, cameras=3, per_camera=200, rate_per_second=150
    )
    device.wait_stored(200, timeout_seconds=30)
    if aggregator_down:
        assert process.stop() == 0
        device.wait_stored(len(device.stored) + 90, timeout_seconds=30)
    broker.kill()  # kill -9
    stored_at_kill = len(device.stored)
    assert stored_at_kill < device.total, "the broker died mid-stream"
    time.sleep(1.0)
    broker.start()
    if aggregator_down:
        deadline = time.monotonic() + 20
        while "No matching subscribers" not in device.log_tail(100_000):
            assert time.monotonic() < deadline, f"no PUBACK 0x10:\n{device.log_tail()}"
            time.sleep(0.05)
        process.start_and_wait()
        assert process.sessions() == ["new", "new"], "the broker lost the queued intervals"
    assert len(device.stored) > stored_at_kill, "the edge kept storing while the broker was down"
    report = device.wait_done(timeout_seconds=90)
    assert (report.flushed, report.outbox_depth) == (True, 0)
    assert min(report.connections_by_camera.values()) >= 2, report  # every camera reconnected
    assert len(device.stored) == device.total
    expected = totals_of(device.stored)
    assert wait_for_totals(influx, expected, 30) == expected
    print(
        f"broker killed, aggregator {'stopped' if aggregator_down else 'running'}:"
        f" InfluxDB == edge == {expected}"
    )
    assert process.alive(), process.log_tail()
    assert wait_for_occupancy(broker.port, expected)["entries_today"] == expected.entries


def test_influxdb_down_for_30_seconds_mid_stream(
    tmp_path: Path,
    broker: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
) -> None:
    server = influxdb(tmp_path / "influxdb")
    server.start()
    wait_influx_ping(server.port)
    influx = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{server.port}"))
    try:
        aggregator(tmp_path, aggregators, broker.port, server.port, influx.settings.database)
        device = edge_device(
            tmp_path, edge_devices, broker.port, cameras=2, per_camera=350, rate_per_second=20
        )
        device.wait_stored(60, timeout_seconds=30)
        server.stop()
        stored_at_stop = len(device.stored)
        outage_end = time.monotonic() + 30
        spooled_files = 0
        while time.monotonic() < outage_end:
            spooled_files = max(spooled_files, len(list((tmp_path / "spool").rglob("*.lp"))))
            time.sleep(0.5)
        assert len(device.stored) - stored_at_stop >= 400, "the stream went on during the outage"
        assert len(device.stored) < device.total, "and after it"
        server.start()
        wait_influx_ping(server.port)
        report = device.wait_done(timeout_seconds=90)
        assert (report.flushed, report.outbox_depth) == (True, 0)
        assert len(device.stored) == device.total
        expected = totals_of(device.stored)
        assert wait_for_totals(influx, expected, 60) == expected
        print(f"InfluxDB down 30 s: InfluxDB == edge == {expected}")
        assert spooled_files >= 10, "batches were spooled while InfluxDB was down"
        assert not list((tmp_path / "spool").rglob("*.lp")), "the spool drained"
    finally:
        influx.close()
        server.stop()


def test_aggregator_killed_and_restarted(
    tmp_path: Path,
    broker: LocalService,
    influx: InfluxClient,
    influx_server: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
) -> None:
    process = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, influx.settings.database
    )
    device = edge_device(
        tmp_path, edge_devices, broker.port, cameras=3, per_camera=200, rate_per_second=150
    )
    device.wait_stored(200, timeout_seconds=30)
    process.kill()  # SIGKILL: no flush, no acknowledgement of the batch in hand
    assert len(device.stored) < device.total, "the aggregator died mid-stream"
    time.sleep(1.0)
    process.start_and_wait()
    assert process.sessions() == ["new", "resumed"], "its queued messages were kept"
    report = device.wait_done(timeout_seconds=90)
    assert (report.flushed, report.outbox_depth) == (True, 0)
    assert set(report.connections_by_camera.values()) == {1}, "the edge never noticed"
    assert len(device.stored) == device.total
    expected = totals_of(device.stored)
    assert wait_for_totals(influx, expected, 30) == expected
    print(f"aggregator killed: InfluxDB == edge == {expected}")
    # Occupancy continued from InfluxDB after the restart instead of starting again at zero.
    occupancy = wait_for_occupancy(broker.port, expected)
    assert (occupancy["entries_today"], occupancy["exits_today"]) == (
        expected.entries,
        expected.exits,
    )


def test_one_of_two_replicas_killed(
    tmp_path: Path,
    broker: LocalService,
    influx: InfluxClient,
    influx_server: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
) -> None:
    database = influx.settings.database
    first = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, database, "replica-1"
    )
    aggregator(tmp_path, aggregators, broker.port, influx_server.port, database, "replica-2")
    device = edge_device(
        tmp_path, edge_devices, broker.port, cameras=3, per_camera=200, rate_per_second=150
    )
    device.wait_stored(200, timeout_seconds=30)
    first.kill()
    assert len(device.stored) < device.total, "the replica died mid-stream"
    time.sleep(1.0)
    first.start_and_wait()  # its share of the stream waited in its persistent session
    assert first.sessions() == ["new", "resumed"], "the killed replica resumed its session"
    report = device.wait_done(timeout_seconds=90)
    assert (report.flushed, report.outbox_depth) == (True, 0)
    assert len(device.stored) == device.total
    expected = totals_of(device.stored)
    assert wait_for_totals(influx, expected, 30) == expected
    print(f"one of two replicas killed: InfluxDB == edge == {expected}")
    # Each replica's occupancy covers the other's messages too (replica sync).
    occupancy = wait_for_occupancy(broker.port, expected)
    assert (occupancy["entries_today"], occupancy["exits_today"]) == (
        expected.entries,
        expected.exits,
    )
    for process in aggregators:
        assert process.stop() == 0
    accepted = [
        int(re.findall(r"accepted (\d+),", process.log_tail())[-1]) for process in aggregators
    ]
    assert min(accepted) > 0, f"both replicas took a share: {accepted}"
