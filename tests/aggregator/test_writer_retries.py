"""Writer retries (issue 17, found by ``make mutation``): while InfluxDB cannot be written,
drains are retried with exponential backoff (not in a tight loop), logged at the first failure
and every tenth; after a drain empties the spool the count starts again, so a later outage is
retried and logged like the first; segments left in the spool are drained in the background;
batches InfluxDB refuses as malformed are kept with InfluxDB's reason and counted."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import Backoff, BatchWriter
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, free_port
from tests.aggregator.test_writer import Collected
from tests.aggregator.test_writer_edges import line, stored

RETRY = Backoff(initial_seconds=0.1, maximum_seconds=0.2)


class CountingInflux(InfluxClient):
    """A real client that counts its write attempts."""

    def __init__(self, settings: InfluxSettings) -> None:
        super().__init__(settings)
        self.writes = 0
        self._lock = threading.Lock()

    def write_body(self, body: bytes) -> None:
        with self._lock:
            self.writes += 1
        super().write_body(body)


def wait_for_error(writer: BatchWriter[int], pattern: str, timeout_seconds: float = 10) -> str:
    deadline = time.monotonic() + timeout_seconds
    while not re.search(pattern, writer.stats.last_error or ""):
        assert time.monotonic() < deadline, writer.stats.last_error
        time.sleep(0.005)
    return writer.stats.last_error or ""


def test_retries_back_off_and_are_logged_at_the_first_and_every_tenth(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="aggregator.ingest.writer")
    client = CountingInflux(
        InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    )
    collected = Collected()
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(client, spool, collected, batch_seconds=0.05, backoff=RETRY)
    writer.start()
    try:
        writer.add([line(0, 3)], 1)
        first = wait_for_error(writer, "retry")
        first_monotonic = time.monotonic()
        assert re.fullmatch(
            r"InfluxDB at http://127\.0\.0\.1:\d+ unreachable: .+; spooling to "
            + re.escape(str(spool.directory))
            + r" \(0 segments\), retry 1 in 0\.1 s",
            first,
        ), first
        writer.add([line(1, 4)], 2)
        assert writer.wait_durable(10)
        assert collected.tokens == [1, 2]
        assert writer.stats.batches_spooled == 2
        time.sleep(0.6)  # failures 2 .. 5 or so: not logged
        assert writer.stats.last_error == first
        tenth = wait_for_error(writer, r"retry 10 in")
        elapsed_seconds = time.monotonic() - first_monotonic
        assert "unreachable: " in tenth, "the drain's failure names InfluxDB's error"
        assert tenth.endswith("(2 segments), retry 10 in 0.2 s")
        assert client.writes in (10, 11)
        # failures 2 .. 10 wait 0.1 + 8 x 0.2 s: not a tight loop
        assert elapsed_seconds >= 1.7 - 0.05
    finally:
        writer.stop()
        client.close()
    assert [record.getMessage() for record in caplog.records] == [first, tenth]


def test_after_a_drain_a_new_outage_is_retried_and_logged_from_the_start(
    influx_server: LocalService, tmp_path: Path
) -> None:
    """The outage here is a database that does not exist (HTTP 404, kept in the spool)."""
    database = f"again_{uuid.uuid4().hex[:10]}"
    client = InfluxClient(
        InfluxSettings(url=f"http://127.0.0.1:{influx_server.port}", database=database)
    )
    collected = Collected()
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(client, spool, collected, batch_seconds=0.05, backoff=RETRY)
    writer.start()
    try:
        writer.add([line(0, 3)], 1)
        assert writer.wait_durable(10)
        wait_for_error(writer, r"(?s)answered 404.*retry 1 in 0\.1 s")
        client.ensure_database()
        deadline = time.monotonic() + 10
        while len(spool) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (len(spool), stored(client)) == (0, (3, 1))
        writer.stats.last_error = None
        client.execute(f'DROP DATABASE "{database}"')
        writer.add([line(1, 4)], 2)
        assert writer.wait_durable(10), "the writer stopped after its second outage"
        wait_for_error(writer, r"(?s)answered 404.*retry 1 in 0\.1 s")
        client.ensure_database()
        deadline = time.monotonic() + 10
        while len(spool) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(client) == (4, 1)
    finally:
        writer.stop()
        client.execute(f'DROP DATABASE "{database}"')
        client.close()
    assert collected.tokens == [1, 2]


def test_segments_left_in_the_spool_are_drained_in_the_background(
    influx: InfluxClient, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append((line(0, 3) + "\n").encode())
    spool.append((line(1, 4) + "\n").encode())
    writer: BatchWriter[int] = BatchWriter(influx, spool, lambda tokens: None, batch_seconds=0.05)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while len(spool) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        writer.stop()
    assert (len(spool), writer.stats.segments_drained) == (0, 2)
    assert stored(influx) == (7, 2)


def test_malformed_batches_are_kept_with_influxdbs_reason_and_counted(
    influx: InfluxClient, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append(b"line_counts,store=s1 entries=oops 1\n")
    spool.append(b"line_counts,store=s1 entries=\n")
    writer: BatchWriter[int] = BatchWriter(influx, spool, lambda tokens: None)
    assert writer.drain_now()
    assert writer.stats.batches_rejected == 2
    reasons = sorted(spool.rejected_directory.glob("*.error"))
    assert len(reasons) == 2
    assert all("/write answered 400" in path.read_text() for path in reasons)
    assert re.match(
        r"InfluxDB refused a batch as malformed, kept at .+\.lp: InfluxDB /write answered 400",
        writer.stats.last_error or "",
    )


def test_a_segment_that_cannot_be_read_is_named_and_stays(
    influx: InfluxClient, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    segment = spool.append((line(0, 3) + "\n").encode())
    segment.path.unlink()
    writer: BatchWriter[int] = BatchWriter(influx, spool, lambda tokens: None)
    assert not writer.drain_now()
    assert len(spool) == 1
    assert (writer.stats.last_error or "").startswith(
        f"cannot read spool segment {segment.path}: [Errno 2]"
    )
