"""Writer edges found by ``make mutation`` (issue 17), against a real InfluxDB: only a batch
InfluxDB refuses as malformed (HTTP 400) is set aside; any other refusal (a database that does
not exist yet: 404) keeps the batch in the spool until InfluxDB takes it; and a malformed
segment met while draining the spool is set aside without holding back the ones behind it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import Backoff, BatchWriter, is_malformed
from aggregator.storage.influx import InfluxClient, InfluxError, InfluxSettings
from aggregator.storage.line_protocol import Point
from footfall.local_services import LocalService

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
FAST_RETRY = Backoff(initial_seconds=0.05, maximum_seconds=0.2)


def line(minute: int, entries: int) -> str:
    return Point(
        "line_counts",
        {"store": "s1", "camera": "door", "line": "entrance", "entrance": "true"},
        {"entries": entries, "exits": 0},
        START + timedelta(minutes=minute),
    ).encode()


def stored(client: InfluxClient) -> tuple[int, int]:
    series = client.query("SELECT sum(entries), count(entries) FROM line_counts")
    if not series:
        return (0, 0)
    _, total, count = series[0].values[0]
    return (int(total or 0), int(count or 0))  # null while a write is still landing


@pytest.mark.parametrize(
    ("status", "retryable", "malformed"),
    [(400, False, True), (401, False, False), (404, False, False), (503, True, False)],
)
def test_only_a_400_is_malformed(status: int, retryable: bool, malformed: bool) -> None:
    error = InfluxError(f"InfluxDB /write answered {status}: refused", retryable=retryable)
    assert is_malformed(error) is malformed


def test_a_missing_database_keeps_batches_in_the_spool_until_it_exists(
    influx_server: LocalService, tmp_path: Path
) -> None:
    database = f"later_{uuid.uuid4().hex[:10]}"
    client = InfluxClient(
        InfluxSettings(url=f"http://127.0.0.1:{influx_server.port}", database=database)
    )
    acknowledged: list[int] = []
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(client, spool, acknowledged.extend, batch_seconds=0.05, backoff=FAST_RETRY)
    writer.start()
    try:
        writer.add([line(0, 3), line(1, 4)], 1)
        assert writer.wait_durable(10)
        assert acknowledged == [1], "durable in the spool"
        assert not list(spool.rejected_directory.iterdir()), "not set aside as malformed"
        assert len(spool) == 1
        client.ensure_database()
        writer.add([line(2, 5)], 2)
        assert writer.wait_durable(10)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while stored(client) != (12, 3) and datetime.now(UTC) < deadline:
            writer.wait_durable(0.1)
        assert stored(client) == (12, 3)
    finally:
        writer.stop()
        client.execute(f'DROP DATABASE "{database}"')
        client.close()


def test_a_malformed_segment_in_the_spool_is_set_aside_and_draining_goes_on(
    influx: InfluxClient, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append((line(0, 3) + "\n").encode())
    spool.append(b"line_counts,store=s1 entries=oops 1\n")
    spool.append((line(1, 4) + "\n" + line(2, 5) + "\n").encode())
    writer: BatchWriter[int] = BatchWriter(influx, spool, lambda tokens: None)
    assert writer.drain_now()
    assert stored(influx) == (12, 3)
    (kept,) = [path for path in spool.rejected_directory.iterdir() if path.suffix != ".error"]
    assert b"entries=oops" in kept.read_bytes()
    assert writer.stats.batches_rejected == 1
    assert writer.stats.segments_drained == 2


def test_tokens_without_lines_come_back_and_the_writer_goes_on(
    influx: InfluxClient, tmp_path: Path
) -> None:
    """Rejected and duplicate messages queue a token with no lines: it is acknowledged, and
    the writer keeps writing what comes after."""
    acknowledged: list[int] = []
    writer = BatchWriter(influx, Spool(tmp_path / "spool"), acknowledged.extend, batch_seconds=0.05)
    writer.start()
    try:
        writer.add([], 1)
        assert writer.wait_durable(10)
        writer.add([line(0, 3)], 2)
        writer.add([], 3)
        assert writer.wait_durable(10)
    finally:
        writer.stop()
    assert acknowledged == [1, 2, 3]
    assert stored(influx) == (3, 1)
