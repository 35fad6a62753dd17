"""The batching writer against a real InfluxDB: batching, ordering, spooling, draining,
malformed batches, and line-protocol escaping of any store/camera name (property test)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.ingest.spool import Spool
from aggregator.ingest.writer import Backoff, BatchWriter
from aggregator.storage.encoding import PointEncoder
from aggregator.storage.influx import InfluxClient, InfluxSettings, quote_string
from aggregator.storage.line_protocol import Point
from footfall.local_services import LocalService, free_port, influxdb, wait_influx_ping

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
FAST_RETRY = Backoff(initial_seconds=0.05, maximum_seconds=0.2)


def count_line(store: str, minute: int, entries: int) -> str:
    point = Point(
        "line_counts",
        {"store": store, "camera": "door", "line": "entrance", "entrance": "true"},
        {"entries": entries, "exits": 0},
        START + timedelta(minutes=minute),
    )
    return point.encode()


class Collected:
    """Tokens handed back by the writer, in the order it handed them back."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, tokens: list[int]) -> None:
        with self._lock:
            self.tokens.extend(tokens)


def total_entries(client: InfluxClient) -> tuple[int, int]:
    series = client.query("SELECT sum(entries), count(entries) FROM line_counts")
    if not series:
        return (0, 0)
    _, total, count = series[0].values[0]
    return (int(total), int(count))


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[LocalService]:
    """An InfluxDB this test may stop and start (the session server is shared)."""
    server = influxdb(tmp_path / "influxdb")
    server.start()
    wait_influx_ping(server.port)
    yield server
    server.stop()


def test_batches_by_size_and_returns_tokens_in_order(influx: InfluxClient, tmp_path: Path) -> None:
    collected = Collected()
    writer = BatchWriter(
        influx, Spool(tmp_path / "spool"), collected, batch_points=100, batch_seconds=30
    )
    writer.start()
    for minute in range(1000):
        writer.add([count_line("s1", minute, 2)], minute)
    assert writer.wait_durable(30)
    writer.stop()
    assert collected.tokens == list(range(1000))
    assert writer.stats.batches_written == 10
    assert total_entries(influx) == (2000, 1000)


def test_flushes_a_partial_batch_after_batch_seconds(influx: InfluxClient, tmp_path: Path) -> None:
    collected = Collected()
    writer = BatchWriter(
        influx, Spool(tmp_path / "spool"), collected, batch_points=10_000, batch_seconds=0.2
    )
    writer.start()
    writer.add([count_line("s1", 0, 5)], 1)
    writer.add([], 2)  # a message with no lines (e.g. rejected) keeps its place in the order
    deadline = time.monotonic() + 5
    while collected.tokens != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.02)
    writer.stop()
    assert collected.tokens == [1, 2]
    assert total_entries(influx) == (5, 1)


def test_spools_while_influx_is_down_then_drains_in_order(
    own_influx: LocalService, tmp_path: Path
) -> None:
    client = InfluxClient(
        InfluxSettings(url=f"http://127.0.0.1:{own_influx.port}", timeout_seconds=2)
    )
    client.ensure_database()
    collected = Collected()
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(
        client, spool, collected, batch_points=1, batch_seconds=0.05, backoff=FAST_RETRY
    )
    writer.start()
    own_influx.stop()
    # The same point three times with different values: the last written must win.
    for token, entries in enumerate([1, 2, 3]):
        writer.add([count_line("s1", 0, entries)], token)
    writer.add([count_line("s1", 1, 10)], 3)
    assert writer.wait_durable(20), "spooled batches count as durable"
    assert collected.tokens == [0, 1, 2, 3]
    assert writer.spooled_segments == 4
    assert sorted(path.name for path in spool.directory.glob("*.lp")) == [
        f"{sequence:020d}.lp" for sequence in range(4)
    ]
    own_influx.start()
    wait_influx_ping(own_influx.port)
    deadline = time.monotonic() + 20
    while writer.spooled_segments and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.stop()
    assert writer.spooled_segments == 0
    assert writer.stats.segments_drained == 4
    assert total_entries(client) == (13, 2)


def test_spool_left_by_a_stopped_writer_is_drained_by_the_next(
    influx: InfluxClient, tmp_path: Path
) -> None:
    unreachable = InfluxClient(
        InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    )
    first = BatchWriter(
        unreachable, Spool(tmp_path / "spool"), Collected(), batch_points=2, backoff=FAST_RETRY
    )
    first.start()
    for minute in range(6):
        first.add([count_line("s1", minute, 1)], minute)
    assert first.wait_durable(10)
    first.stop()
    assert first.spooled_segments == 3
    assert total_entries(influx) == (0, 0)

    second = BatchWriter(influx, Spool(tmp_path / "spool"), Collected())
    assert second.drain_now()
    assert total_entries(influx) == (6, 6)


def test_a_batch_influx_refuses_is_kept_aside_and_acknowledged(
    influx: InfluxClient, tmp_path: Path
) -> None:
    collected = Collected()
    spool = Spool(tmp_path / "spool")
    writer = BatchWriter(influx, spool, collected, batch_points=1)
    writer.start()
    writer.add([count_line("s1", 0, 1)], 0)
    writer.add(['line_counts,store=s1 entries="a string now" 1714557600000000000'], 1)
    writer.add([count_line("s1", 2, 1)], 2)
    assert writer.wait_durable(10)
    writer.stop()
    assert collected.tokens == [0, 1, 2]
    assert writer.stats.batches_rejected == 1
    [kept] = spool.rejected_directory.glob("*.lp")
    assert b"a string now" in kept.read_bytes()
    assert "field type conflict" in kept.with_suffix(".error").read_text()
    assert total_entries(influx) == (2, 2)


@pytest.mark.parametrize(
    ("failures", "delay_seconds"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (60, 10.0)]
)
def test_backoff_doubles_up_to_the_cap(failures: int, delay_seconds: float) -> None:
    assert Backoff(0.5, 10.0).delay_seconds(failures) == delay_seconds


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="initial_seconds"):
        Backoff(5.0, 1.0)


# Identifiers as the wire schema allows them (no MQTT separators or control characters),
# minus a trailing backslash, which the aggregator refuses at validation.
identifiers = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="/#+" + "".join(chr(code) for code in range(32)),
    ),
    min_size=1,
    max_size=40,
).filter(lambda text: not text.endswith("\\"))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    store=identifiers | st.sampled_from(["a b", "a,b", "a=b", 'say "hi"', "it's", "Æøå ✓ 店"]),
    camera=identifiers,
    software=st.text(max_size=30),
)
def test_any_name_round_trips_through_influxdb(
    influx: InfluxClient, store: str, camera: str, software: str
) -> None:
    moment = START + timedelta(seconds=uuid.uuid4().int % 10**6)
    point = Point(
        "camera_intervals",
        {"store": store, "camera": camera},
        {"frames": 7, "software_version": software},
        moment,
    )
    line = PointEncoder().encode(point)
    assert line == point.encode()
    influx.write_body((line + "\n").encode())
    series = influx.query(
        "SELECT frames, software_version, store, camera FROM camera_intervals "
        f"WHERE store = {quote_string(store)} AND camera = {quote_string(camera)} "
        f"AND time = {quote_string(moment.isoformat().replace('+00:00', 'Z'))}"
    )
    assert len(series) == 1
    [row] = list(series[0].rows())
    assert (row["store"], row["camera"], row["frames"]) == (store, camera, 7)
    assert row["software_version"] == software
