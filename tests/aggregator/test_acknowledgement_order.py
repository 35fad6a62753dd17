"""The writer hands tokens back (the service acknowledges the MQTT messages there) only after
InfluxDB answered the write: deterministic, with a write that blocks until the test lets it
go (issue 17: acknowledging just before the write loses the batch if the process dies then).
The same order under a crash, with real processes: tests/integration/test_influx_crash.py."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import BatchWriter
from aggregator.storage.influx import InfluxClient
from aggregator.storage.line_protocol import Point

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


class HeldInflux(InfluxClient):
    """A real client whose writes wait at the door until :meth:`release`."""

    def __init__(self, client: InfluxClient) -> None:
        super().__init__(client.settings)
        self.entered = threading.Event()
        self._released = threading.Event()

    def write_body(self, body: bytes) -> None:
        self.entered.set()
        assert self._released.wait(30), "the test never released the write"
        super().write_body(body)

    def release(self) -> None:
        self._released.set()


def entries_stored(client: InfluxClient) -> int:
    series = client.query("SELECT sum(entries) FROM line_counts")
    return int(series[0].values[0][1]) if series else 0


def line(minute: int, entries: int) -> str:
    return Point(
        "line_counts",
        {"store": "s1", "camera": "door", "line": "entrance", "entrance": "true"},
        {"entries": entries, "exits": 0},
        START + timedelta(minutes=minute),
    ).encode()


def test_tokens_come_back_only_after_influxdb_has_the_points(
    influx: InfluxClient, tmp_path: Path
) -> None:
    held = HeldInflux(influx)
    stored_when_acknowledged: list[tuple[list[int], int]] = []

    def acknowledge(tokens: list[int]) -> None:
        stored_when_acknowledged.append((tokens, entries_stored(influx)))

    writer = BatchWriter(held, Spool(tmp_path / "spool"), acknowledge, batch_seconds=0.05)
    writer.start()
    try:
        writer.add([line(0, 3), line(1, 4)], 1)
        writer.add([line(2, 5)], 2)
        assert held.entered.wait(10), "the writer never wrote"
        assert not writer.wait_durable(0.5), "durable while the write is still waiting"
        assert stored_when_acknowledged == [], "acknowledged before InfluxDB had the batch"
        held.release()
        assert writer.wait_durable(10)
    finally:
        held.release()
        writer.stop()
        held.close()
    assert stored_when_acknowledged == [([1, 2], 12)]
