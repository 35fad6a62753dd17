"""The writer when neither InfluxDB nor the spool can take a batch (issue 17, found by ``make
mutation``): InfluxDB is unreachable and the spool directory is gone (as on a disk that was
unmounted). While running, the writer retries the spool until it can be written, then hands
the tokens back; while stopping, it gives up *without* handing them back, so the MQTT
messages stay unacknowledged and the broker redelivers them to the next consumer."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import Backoff, BatchWriter
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import free_port
from tests.aggregator.test_writer_edges import line, stored

FAST_RETRY = Backoff(initial_seconds=0.05, maximum_seconds=0.2)


def unreachable_influx() -> InfluxClient:
    return InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1))


def wait_for_spool_failure(writer: BatchWriter[int], timeout_seconds: float = 10) -> None:
    deadline = time.monotonic() + timeout_seconds
    while "spool write failed" not in (writer.stats.last_error or ""):
        assert time.monotonic() < deadline, writer.stats.last_error
        time.sleep(0.02)


def test_a_batch_neither_written_nor_spooled_while_stopping_is_not_acknowledged(
    tmp_path: Path,
) -> None:
    acknowledged: list[int] = []
    spool = Spool(tmp_path / "spool")
    client = unreachable_influx()
    writer = BatchWriter(client, spool, acknowledged.extend, batch_seconds=0.05, backoff=FAST_RETRY)
    shutil.rmtree(spool.directory)
    writer.start()
    try:
        writer.add([line(0, 3), line(1, 4)], 1)
        wait_for_spool_failure(writer)
        assert not writer.wait_durable(0.3), "durable with no InfluxDB and no spool"
    finally:
        writer.stop(timeout_seconds=10)
        client.close()
    assert acknowledged == [], "acknowledged a batch that is nowhere"
    assert writer.stats.batches_spooled == 0
    assert writer.stats.points_written == 0
    spool.directory.mkdir()
    assert len(Spool(spool.directory)) == 0, "nothing was spooled: the broker must redeliver"


def test_a_spool_that_becomes_writable_again_takes_the_batch_and_it_is_acknowledged(
    influx: InfluxClient, tmp_path: Path
) -> None:
    acknowledged: list[int] = []
    spool = Spool(tmp_path / "spool")
    client = unreachable_influx()
    writer = BatchWriter(client, spool, acknowledged.extend, batch_seconds=0.05, backoff=FAST_RETRY)
    shutil.rmtree(spool.directory)
    writer.start()
    try:
        writer.add([line(0, 3), line(1, 4)], 1)
        wait_for_spool_failure(writer)
        assert acknowledged == []
        spool.directory.mkdir()
        assert writer.wait_durable(10), "never spooled once the directory was back"
        assert acknowledged == [1]
        assert writer.stats.batches_spooled == 1
    finally:
        writer.stop(timeout_seconds=10)
        client.close()
    drainer: BatchWriter[int] = BatchWriter(influx, Spool(spool.directory), lambda tokens: None)
    assert drainer.drain_now()
    assert stored(influx) == (7, 2)
