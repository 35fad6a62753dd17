"""The aggregator service's start and long run (in process, real Mosquitto and InfluxDB;
issue 17, found by ``make mutation`` on ``service.py``): it waits for an InfluxDB that is not
up yet and then counts, but a TLS mismatch is a configuration error at once; a replica that
starts tells the running ones what it rebuilt from InfluxDB; occupancy keeps being published
after the ticker's first status interval."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.ingest.service import AggregatorService
from aggregator.ingest.status_report import STATUS_PUBLISH_SECONDS
from aggregator.storage.encoding import IntervalEncoder
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, influxdb, wait_influx_ping
from protocol.settings import ConfigError
from protocol.topics import counts_topic
from tests.aggregator.api.support import Publisher
from tests.aggregator.test_service_edges import (
    CAMERA,
    STORE,
    aggregator_config,
    interval,
    stored_entries,
    wait_until,
)


def today(service: AggregatorService) -> tuple[int, int]:
    snapshot = service.book.tracker(STORE).snapshot(datetime.now(UTC))
    return (snapshot.entries_today, snapshot.exits_today)


def send(port: int, root: str, message: str) -> None:
    publisher = Publisher(port, root)
    try:
        publisher.publish(counts_topic(STORE, CAMERA, root), message)
    finally:
        publisher.close()


def test_start_waits_for_influxdb_then_counts(
    mosquitto_server: LocalService, tmp_path: Path
) -> None:
    server = influxdb(tmp_path / "influxdb")
    client = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{server.port}"))
    config = aggregator_config(mosquitto_server, client, tmp_path / "spool", replica_sync=False)
    service = AggregatorService(config, client_id=f"waits-{time.monotonic_ns()}")
    failures: list[BaseException] = []

    def start() -> None:
        try:
            service.start()
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    starting = threading.Thread(target=start)
    starting.start()
    try:
        time.sleep(1.5)  # InfluxDB is not up: the service keeps waiting, it does not give up
        assert failures == []
        assert not service.consumer.connected.is_set()
        server.start()
        wait_influx_ping(server.port)
        starting.join(30)
        assert failures == []
        assert service.consumer.connected.wait(10)
        send(mosquitto_server.port, config.mqtt.topic_root, interval(2, 4).model_dump_json())
        wait_until(lambda: stored_entries(client) == (4, 1), "not counted after the wait")
    finally:
        service.stop()
        starting.join(10)
        client.close()
        server.stop()


def test_a_tls_mismatch_is_a_configuration_error_at_once(
    mosquitto_server: LocalService, influx_server: LocalService, tmp_path: Path
) -> None:
    url = f"https://127.0.0.1:{influx_server.port}"
    client = InfluxClient(InfluxSettings(url=url, timeout_seconds=2))
    config = aggregator_config(mosquitto_server, client, tmp_path / "spool", replica_sync=False)
    service = AggregatorService(config, client_id=f"tls-{time.monotonic_ns()}")
    started_monotonic = time.monotonic()
    with pytest.raises(ConfigError, match=f"^create database: influx -> url {url}: TLS failed"):
        service.start()
    assert time.monotonic() - started_monotonic < 10
    client.close()


def test_a_starting_replica_tells_the_running_ones_what_it_rebuilt(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> None:
    """Counts in InfluxDB the running replica never received (stored before it started
    listening to its peers) reach it from the next replica to start."""
    config = aggregator_config(mosquitto_server, influx, tmp_path / "spool")
    running = AggregatorService(config, client_id=f"running-{time.monotonic_ns()}")
    running.start()
    assert running.consumer.connected.wait(10)
    starting: AggregatorService | None = None
    try:
        entrances = config.store(STORE).entrance_lines(CAMERA)
        lines = IntervalEncoder().encode(interval(6, entries=9), entrances)
        influx.write_body(("\n".join(lines) + "\n").encode())
        assert today(running) == (0, 0)
        starting = AggregatorService(config, client_id=f"starting-{time.monotonic_ns()}")
        starting.start()
        assert today(starting) == (9, 1), "rebuilt from InfluxDB"
        wait_until(lambda: today(running) == (9, 1), "the running replica was never told")
        assert running.stats.sync_records_received == 1
        # Stored counts are not news: a seed leaves "last update" alone (and never overrides
        # counts the running replica applied itself; book.seed).
        assert running.book.tracker(STORE).last_update_utc is None
        # Whichever replica takes the next interval shares it, stamped when it arrived.
        send(mosquitto_server.port, config.mqtt.topic_root, interval(4, 2, 2).model_dump_json())
        replicas = (running, starting)
        wait_until(lambda: all(today(r) == (11, 2) for r in replicas), "a replica never told")
        for replica in replicas:
            last_update_utc = replica.book.tracker(STORE).last_update_utc
            assert last_update_utc is not None
            assert datetime.now(UTC) - last_update_utc < timedelta(seconds=30)
    finally:
        if starting is not None:
            starting.stop()
        running.stop()


def test_occupancy_is_still_published_after_the_first_status_interval(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> None:
    config = aggregator_config(mosquitto_server, influx, tmp_path / "spool", replica_sync=False)
    service = AggregatorService(config, client_id=f"ticker-{time.monotonic_ns()}")
    service.start()
    assert service.consumer.connected.wait(10)
    root = config.mqtt.topic_root
    try:
        send(mosquitto_server.port, root, interval(8, entries=3).model_dump_json())
        wait_until(lambda: stored_entries(influx) == (3, 1), "first interval not stored")
        time.sleep(STATUS_PUBLISH_SECONDS + 1.5)  # the ticker has published a status meanwhile
        send(mosquitto_server.port, root, interval(7, entries=2, sequence=2).model_dump_json())
        wait_until(lambda: occupancy_entries(influx) == 5, "occupancy no longer published", 5)
    finally:
        service.stop()


def occupancy_entries(influx: InfluxClient) -> int:
    """Entries today in the last stored occupancy point (the ticker stores what it publishes)."""
    series = influx.query("SELECT last(entries_today) FROM store_occupancy")
    return int(series[0].values[0][1]) if series else 0
