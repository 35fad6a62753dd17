"""InfluxDB crashes under the aggregator (issue 17), with the real edge publishing path, real
Mosquitto, a real InfluxDB of the test's own and the aggregator as a subprocess; the bar is the
one of ``test_reliability``: InfluxDB holds exactly the entries and exits the edge stored.

- ``kill -9`` of InfluxDB mid-stream (only a clean stop was tested before), restarted on its
  port: batches in flight are retried or spooled, nothing is acknowledged that is not stored.
- The acknowledgement order under a crash, deterministically: InfluxDB is SIGSTOPped, so the
  aggregator's write hangs with a batch in hand; the aggregator is then killed (SIGKILL) before
  the write's timeout, and InfluxDB too. Had the batch been acknowledged before its write, the
  broker would have dropped it and the totals would come up short.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, influxdb, wait_influx_ping
from tests.integration.aggregator_harness import AggregatorProcess, totals_of, wait_for_totals
from tests.integration.edge_device import EdgeDevice
from tests.integration.test_reliability import (  # the same fixtures and helpers
    aggregator,
    aggregators,
    broker,
    edge_device,
    edge_devices,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
__all__ = ["aggregators", "broker", "edge_devices"]  # fixtures, used by name


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[LocalService]:
    """An InfluxDB this test kills (the session server is shared)."""
    server = influxdb(tmp_path / "influxdb")
    server.start()
    wait_influx_ping(server.port)
    yield server
    server.resume()
    server.stop()


def restart(server: LocalService) -> None:
    server.start()
    wait_influx_ping(server.port)


def test_influxdb_killed_mid_stream(
    tmp_path: Path,
    broker: LocalService,
    own_influx: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
) -> None:
    influx = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{own_influx.port}"))
    try:
        process = aggregator(
            tmp_path, aggregators, broker.port, own_influx.port, influx.settings.database
        )
        device = edge_device(
            tmp_path, edge_devices, broker.port, cameras=2, per_camera=300, rate_per_second=60
        )
        device.wait_stored(100, timeout_seconds=30)
        own_influx.kill()  # kill -9, mid-batch: the aggregator writes every 0.2 s
        stored_at_kill = len(device.stored)
        assert stored_at_kill < device.total, "InfluxDB died mid-stream"
        time.sleep(3.0)
        restart(own_influx)
        report = device.wait_done(timeout_seconds=90)
        assert (report.flushed, report.outbox_depth) == (True, 0)
        assert len(device.stored) == device.total
        expected = totals_of(device.stored)
        assert wait_for_totals(influx, expected, 60) == expected
        print(f"InfluxDB killed: InfluxDB == edge == {expected}")
        assert process.alive(), process.log_tail()
    finally:
        influx.close()


def test_no_acknowledgement_before_the_write_survives_a_crash(
    tmp_path: Path,
    broker: LocalService,
    own_influx: LocalService,
    aggregators: list[AggregatorProcess],
    edge_devices: list[EdgeDevice],
) -> None:
    influx = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{own_influx.port}"))
    try:
        process = aggregator(
            tmp_path, aggregators, broker.port, own_influx.port, influx.settings.database
        )
        device = edge_device(
            tmp_path, edge_devices, broker.port, cameras=2, per_camera=200, rate_per_second=40
        )
        device.wait_stored(60, timeout_seconds=30)
        own_influx.pause()  # writes hang (the client's timeout is 10 s)
        paused = len(device.stored)
        device.wait_stored(paused + 40, timeout_seconds=30)  # reached the aggregator too
        time.sleep(1.0)
        process.kill()  # with a batch in a hanging write, well inside its timeout
        own_influx.kill()  # still stopped: the hanging request is never read
        assert not list((tmp_path / "spool").rglob("*.lp")), "nothing was spooled yet"
        restart(own_influx)
        process.start_and_wait()
        assert process.sessions() == ["new", "resumed"], "the broker kept what was not acked"
        report = device.wait_done(timeout_seconds=90)
        assert (report.flushed, report.outbox_depth) == (True, 0)
        assert len(device.stored) == device.total
        expected = totals_of(device.stored)
        assert wait_for_totals(influx, expected, 60) == expected
        print(f"aggregator killed during a hanging write: InfluxDB == edge == {expected}")
    finally:
        influx.close()
