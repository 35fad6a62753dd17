"""Reliability of the edge -> Mosquitto -> aggregator -> InfluxDB path (issue 3, tests 1, 2, 3, 5).

Every test compares the entries/exits stored in InfluxDB with what the edge emulator sent:
exactly equal, and one point per interval (nothing lost, nothing doubled). Real Mosquitto,
real InfluxDB, and (tests 1-3) the aggregator as a subprocess started through the CLI.
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, free_port, influxdb, mosquitto, wait_influx_ping
from tests.integration.aggregator_harness import (
    AggregatorProcess,
    EdgeEmulator,
    make_intervals,
    totals_of,
    utc_now,
    wait_for_occupancy,
    wait_for_totals,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# The test brokers save their state every second, as the shipped broker does every 30 s;
# what a kill -9 loses in between, the edge re-sends (see aggregator_harness). Started as
# root, Mosquitto would switch to the "mosquitto" user and fail to write its database into
# the test's directory ("Error: Permission denied"), so it stays the current user.
BROKER_PERSISTENCE = f"allow_anonymous true\nautosave_interval 1\nuser {getpass.getuser()}\n"


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


def test_broker_killed_mid_stream(
    tmp_path: Path,
    broker: LocalService,
    influx: InfluxClient,
    influx_server: LocalService,
    aggregators: list[AggregatorProcess],
) -> None:
    process = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, influx.settings.database
    )
    messages = make_intervals(cameras=3, per_camera=200, now_utc=utc_now())
    edge = EdgeEmulator.for_intervals(broker.port, "edge-1", messages, rate_per_second=150)
    edge.start()
    time.sleep(1.5)
    broker.kill()  # kill -9
    assert 0 < edge.sent < len(messages), "the broker died mid-stream"
    time.sleep(1.0)
    broker.start()
    assert edge.wait_all_acknowledged(60)
    edge.stop()
    expected = totals_of(messages)
    assert wait_for_totals(influx, expected, 30) == expected
    assert process.alive(), process.log_tail()
    assert wait_for_occupancy(broker.port, expected)["entries_today"] == expected.entries


def test_influxdb_down_for_30_seconds_mid_stream(
    tmp_path: Path,
    broker: LocalService,
    aggregators: list[AggregatorProcess],
) -> None:
    server = influxdb(tmp_path / "influxdb")
    server.start()
    wait_influx_ping(server.port)
    influx = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{server.port}"))
    try:
        aggregator(tmp_path, aggregators, broker.port, server.port, influx.settings.database)
        messages = make_intervals(cameras=2, per_camera=350, now_utc=utc_now())
        edge = EdgeEmulator.for_intervals(broker.port, "edge-1", messages, rate_per_second=20)
        edge.start()
        time.sleep(3)
        server.stop()
        outage_end = time.monotonic() + 30
        spooled_files = 0
        while time.monotonic() < outage_end:
            spooled_files = max(spooled_files, len(list((tmp_path / "spool").rglob("*.lp"))))
            time.sleep(0.5)
        server.start()
        wait_influx_ping(server.port)
        assert edge.wait_all_acknowledged(60)
        edge.stop()
        expected = totals_of(messages)
        assert wait_for_totals(influx, expected, 60) == expected
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
) -> None:
    process = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, influx.settings.database
    )
    messages = make_intervals(cameras=3, per_camera=200, now_utc=utc_now())
    edge = EdgeEmulator.for_intervals(broker.port, "edge-1", messages, rate_per_second=150)
    edge.start()
    time.sleep(1.5)
    process.kill()  # SIGKILL: no flush, no acknowledgement of the batch in hand
    assert 0 < edge.sent < len(messages), "the aggregator died mid-stream"
    time.sleep(1.0)
    process.start_and_wait()
    assert "(session resumed)" in process.log_tail(), "its queued messages were kept"
    assert edge.wait_all_acknowledged(60)
    edge.stop()
    expected = totals_of(messages)
    assert wait_for_totals(influx, expected, 30) == expected
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
) -> None:
    database = influx.settings.database
    first = aggregator(
        tmp_path, aggregators, broker.port, influx_server.port, database, "replica-1"
    )
    aggregator(tmp_path, aggregators, broker.port, influx_server.port, database, "replica-2")
    messages = make_intervals(cameras=3, per_camera=200, now_utc=utc_now())
    edge = EdgeEmulator.for_intervals(broker.port, "edge-1", messages, rate_per_second=150)
    edge.start()
    time.sleep(1.5)
    first.kill()
    assert 0 < edge.sent < len(messages), "the replica died mid-stream"
    time.sleep(1.0)
    first.start_and_wait()  # its share of the stream waited in its persistent session
    assert edge.wait_all_acknowledged(60)
    edge.stop()
    expected = totals_of(messages)
    assert wait_for_totals(influx, expected, 30) == expected
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
