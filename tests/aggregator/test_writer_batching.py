"""Writer batching and stopping against a real InfluxDB (issue 17, found by ``make mutation``):
a partial batch waits ``batch_seconds`` every time, not only the first; ``wait_durable``
flushes at once; lines without a token (the occupancy ticker's points) are written too;
``stop`` returns only once what was added is durable and handed back, and after its timeout
hands nothing back that is not; settings that cannot batch are refused by name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import Backoff, BatchWriter
from aggregator.storage.influx import InfluxClient, InfluxSettings
from tests.aggregator.test_acknowledgement_order import HeldInflux
from tests.aggregator.test_writer import Collected
from tests.aggregator.test_writer_edges import line, stored

UNREACHABLE = InfluxSettings(url="http://127.0.0.1:9", timeout_seconds=1)
"""Port 9 on loopback: connections are refused at once."""


def wait_for_tokens(collected: Collected, expected: list[int], timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while collected.tokens != expected:
        assert time.monotonic() < deadline, collected.tokens
        time.sleep(0.01)


def test_a_partial_batch_waits_batch_seconds_every_time(
    influx: InfluxClient, tmp_path: Path
) -> None:
    """Each line is added 1 s into the writer's 1.5 s wait: a writer that flushed whatever it
    held when it next woke up would write it after 0.5 s."""
    collected = Collected()
    writer = BatchWriter(
        influx, Spool(tmp_path / "spool"), collected, batch_points=100, batch_seconds=1.5
    )
    writer.start()
    try:
        for token in (1, 2):
            time.sleep(1.0)
            added_monotonic = time.monotonic()
            writer.add([line(token, token)], token)
            time.sleep(0.8)
            assert collected.tokens == list(range(1, token)), "flushed before batch_seconds"
            wait_for_tokens(collected, list(range(1, token + 1)), 10)
            assert time.monotonic() - added_monotonic >= 1.5
    finally:
        writer.stop()
    assert stored(influx) == (3, 2)
    assert (writer.stats.batches_written, writer.stats.points_written) == (2, 2)


def test_wait_durable_flushes_at_once_and_lines_without_a_token_are_written(
    influx: InfluxClient, tmp_path: Path
) -> None:
    collected = Collected()
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(influx, spool, collected, batch_points=100, batch_seconds=30)
    writer.start()
    try:
        writer.add([line(0, 3), line(1, 4)], 1)
        assert writer.wait_durable(0.9), "a partial batch waited for batch_seconds"
        writer.add([])  # nothing to write, nothing to hand back
        assert writer.wait_durable(5)
        writer.add([line(2, 6)])  # the occupancy ticker's points come without a token
        assert writer.wait_durable(5)
        assert stored(influx) == (13, 3)
        writer.add([line(3, 5)], 2)
        assert writer.wait_durable(5)
    finally:
        writer.stop()
    assert collected.tokens == [1, 2]
    assert stored(influx) == (18, 4)
    assert (writer.stats.batches_written, writer.stats.points_written) == (3, 4)
    assert (writer.stats.batches_spooled, len(spool)) == (0, 0), "written, so not spooled"


def test_stop_returns_once_everything_added_is_durable_and_handed_back(
    influx: InfluxClient, tmp_path: Path
) -> None:
    collected = Collected()
    writer = BatchWriter(
        influx, Spool(tmp_path / "spool"), collected, batch_points=2, batch_seconds=30
    )
    writer.start()
    writer.add([line(0, 3), line(1, 4)], 1)  # a full batch
    writer.add([line(2, 5)], 2)  # a partial one
    writer.stop()
    assert collected.tokens == [1, 2]
    assert stored(influx) == (12, 3)


def test_stop_after_its_timeout_hands_back_nothing_that_is_not_durable(
    influx: InfluxClient, tmp_path: Path
) -> None:
    held = HeldInflux(influx)
    collected = Collected()
    writer = BatchWriter(held, Spool(tmp_path / "spool"), collected, batch_seconds=0.05)
    writer.start()
    try:
        writer.add([line(0, 3)], 1)
        assert held.entered.wait(10)
        stopping_monotonic = time.monotonic()
        writer.stop(timeout_seconds=0.5)
        assert time.monotonic() - stopping_monotonic < 5, "stop waited past its timeout"
        assert collected.tokens == [], "handed back while the write had not returned"
    finally:
        held.release()
    wait_for_tokens(collected, [1], 10)  # the write lands after all: then, and only then
    held.close()


def test_an_idle_writer_sleeps(influx: InfluxClient, tmp_path: Path) -> None:
    """Nothing to write, nothing in the spool: the writer thread waits instead of spinning
    (the test process's CPU time over one second stays near zero)."""
    writer: BatchWriter[int] = BatchWriter(
        influx, Spool(tmp_path / "spool"), lambda tokens: None, batch_seconds=0.2
    )
    writer.start()
    try:
        writer.add([line(0, 1)], 1)
        assert writer.wait_durable(5)
        cpu_before = time.process_time()
        time.sleep(1.0)
        assert time.process_time() - cpu_before < 0.2
    finally:
        writer.stop()


def test_a_writer_waiting_to_retry_the_spool_sleeps_until_then(tmp_path: Path) -> None:
    """A batch in the spool and the next drain 3 s away: no busy loop before it."""
    spool = Spool(tmp_path / "spool")
    with InfluxClient(UNREACHABLE) as client:
        writer: BatchWriter[int] = BatchWriter(
            client, spool, lambda tokens: None, batch_seconds=0.05, backoff=Backoff(3.0, 6.0)
        )
        writer.start()
        try:
            writer.add([line(0, 1)], 1)
            assert writer.wait_durable(5)
            assert len(spool) == 1
            cpu_before = time.process_time()
            time.sleep(2.7)
            assert time.process_time() - cpu_before < 0.3
        finally:
            writer.stop()


@pytest.mark.parametrize(("batch_points", "batch_seconds"), [(0, 0.5), (1, 0.0), (5000, -1.0)])
def test_settings_that_cannot_batch_are_refused_by_name(
    tmp_path: Path, batch_points: int, batch_seconds: float
) -> None:
    message = f"batch_points {batch_points} and batch_seconds {batch_seconds} must be > 0"
    with InfluxClient(UNREACHABLE) as client, pytest.raises(ValueError, match=message):
        BatchWriter(
            client,
            Spool(tmp_path / "spool"),
            lambda tokens: None,
            batch_points=batch_points,
            batch_seconds=batch_seconds,
        )


def test_backoff_bounds() -> None:
    with pytest.raises(ValueError, match=r"needs 0 < initial_seconds \(0.0\)"):
        Backoff(0.0, 1.0)
    assert [Backoff(1.0, 1.0).delay_seconds(failures) for failures in (1, 2, 3)] == [1.0] * 3


def test_drain_now_is_for_start_up_only(influx: InfluxClient, tmp_path: Path) -> None:
    writer: BatchWriter[int] = BatchWriter(influx, Spool(tmp_path / "spool"), lambda tokens: None)
    writer.start()
    try:
        with pytest.raises(RuntimeError, match=r"for start-up, before the writer thread runs"):
            writer.drain_now()
    finally:
        writer.stop()
