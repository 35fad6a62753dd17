"""Live crossings through the running aggregator (real Mosquitto and InfluxDB), with two
replicas in one share group: each replica takes every live crossing (not shared) and
publishes the new occupancy at once; the count interval, received by one replica and shared
with the other, replaces the live crossings of its interval on both; duplicates and late
live crossings change nothing; occupancy ends equal to the stored intervals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from protocol.messages import CountInterval, LineCount, LiveCrossing
from protocol.topics import counts_topic, live_topic, occupancy_topic
from tests.aggregator.api.support import Publisher
from tests.aggregator.test_service_occupancy import OccupancyFeed
from tests.integration.aggregator_harness import Totals, wait_for_totals

STORE, CAMERA = "shop-1", "entrance"
LIVE_LIMIT_SECONDS = 2.0


@pytest.fixture
def config(
    mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> AggregatorConfig:
    group = f"live-{time.monotonic_ns()}"
    root = f"{group}/v1"
    return AggregatorConfig.model_validate(
        {
            "mqtt": {"port": mosquitto_server.port, "topic_root": root, "share_group": group},
            "influx": influx.settings.model_dump(),
            "stores": [
                {
                    "id": STORE,
                    "daily_reset_local_time": "00:00",
                    "cameras": [{"id": CAMERA, "entrance_lines": ["door"]}],
                }
            ],
            "spool_path": str(tmp_path / "spool"),
            "batch_seconds": 0.05,
        }
    )


@pytest.fixture
def replicas(config: AggregatorConfig) -> Iterator[list[AggregatorService]]:
    started = []
    try:
        for number in (1, 2):
            service = AggregatorService(config, client_id=f"live-{number}-{time.monotonic_ns()}")
            service.start()
            assert service.consumer.connected.wait(10)
            started.append(service)
        time.sleep(0.5)  # both subscriptions in place before anything is published
        yield started
    finally:
        for service in started:
            service.stop()


def crossing(
    start: datetime, sequence: int, direction: Literal["entry", "exit"] = "entry"
) -> LiveCrossing:
    return LiveCrossing(
        store_id=STORE,
        camera_id=CAMERA,
        line_id="door",
        direction=direction,
        time_utc=start + timedelta(seconds=1 + sequence),
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        sequence=sequence,
    )


def interval(start: datetime, entries: int, exits: int) -> CountInterval:
    return CountInterval(
        store_id=STORE,
        camera_id=CAMERA,
        sequence=1,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={
            "door": LineCount(entries=entries, exits=exits),
            "aisle": LineCount(entries=9, exits=0),
        },
        software_version="test",
        config_fingerprint="0123abcd",
    )


def books(replicas: list[AggregatorService]) -> list[tuple[int, int, int, int, int]]:
    figures = []
    for service in replicas:
        snapshot = service.book.tracker(STORE).snapshot(datetime.now(UTC))
        figures.append(
            (
                snapshot.occupancy,
                snapshot.entries_today,
                snapshot.exits_today,
                snapshot.provisional_entries,
                snapshot.provisional_exits,
            )
        )
    return figures


def wait_for_books(
    replicas: list[AggregatorService], expected: tuple[int, ...], timeout_seconds: float = 10
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while books(replicas) != [expected] * len(replicas):
        assert time.monotonic() < deadline, (
            books(replicas),
            [(s.stats, s.rejections.by_reason()) for s in replicas],
        )
        time.sleep(0.05)


def test_live_crossings_move_occupancy_at_once_and_the_interval_reconciles(
    config: AggregatorConfig,
    replicas: list[AggregatorService],
    mosquitto_server: LocalService,
    influx: InfluxClient,
) -> None:
    root = config.mqtt.topic_root
    publisher = Publisher(mosquitto_server.port, root)
    feed = OccupancyFeed(mosquitto_server.port, occupancy_topic(STORE, root))
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        feed.wait_for(lambda message: True)  # the replicas' first publication
        latencies = []
        directions: list[Literal["entry", "exit"]] = ["entry", "entry", "exit", "entry"]
        for sequence, direction in enumerate(directions):
            sent = time.monotonic()
            event = crossing(start, sequence, direction)
            publisher.publish(live_topic(STORE, CAMERA, root), event.model_dump_json())
            entries = directions[: sequence + 1].count("entry")
            expected = (entries, sequence + 1 - entries)

            def reached(message: dict[str, Any], wanted: tuple[int, int] = expected) -> bool:
                return (message["entries_today"], message["exits_today"]) == wanted

            feed.wait_for(reached, LIVE_LIMIT_SECONDS)
            latencies.append(time.monotonic() - sent)
        print(f"FIGURE live crossing -> retained occupancy: max {max(latencies):.3f} s")
        assert max(latencies) < LIVE_LIMIT_SECONDS
        wait_for_books(replicas, (2, 3, 1, 3, 1))  # every replica took every crossing

        duplicate = crossing(start, 1)
        publisher.publish(live_topic(STORE, CAMERA, root), duplicate.model_dump_json())
        # The interval: 4 entries (one live crossing was lost), 1 exit; one replica gets it.
        publisher.publish(
            counts_topic(STORE, CAMERA, root), interval(start, 4, 1).model_dump_json()
        )
        wait_for_books(replicas, (3, 4, 1, 0, 0))
        late = crossing(start, 7)
        publisher.publish(live_topic(STORE, CAMERA, root), late.model_dump_json())
        time.sleep(1.0)
        assert books(replicas) == [(3, 4, 1, 0, 0)] * 2
        assert sum(service.stats.accepted for service in replicas) == 1
        assert wait_for_totals(influx, Totals(13, 1, 2), 10) == Totals(13, 1, 2)
        last = feed.wait_for(lambda m: (m["entries_today"], m["provisional_entries"]) == (4, 0))
        assert (last["occupancy"], last["exits_today"]) == (3, 1)  # entries - exits of door
        assert last["last_update_utc"] is not None
    finally:
        feed.close()
        publisher.close()
