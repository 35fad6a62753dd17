"""Capture rate, roles and dwell end to end on real services: schema version 2 intervals
published on real Mosquitto, stored by the running aggregator in real InfluxDB, read back by
``GET /stores/{id}/metrics`` (capture rate = visits ÷ passers-by) and by InfluxQL (the role
tag, ``zone_dwell``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from aggregator.analysis.store_metrics import HourInputs, capture_rate_percent, period_metrics
from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from aggregator.storage.measurements import LINE_COUNTS, ZONE_DWELL, Tag, ZoneDwellField
from protocol.messages import (
    CountInterval,
    DwellCounts,
    LineCount,
    LineRole,
    ZoneOccupancy,
    ZoneRole,
)
from protocol.topics import counts_topic
from tests.aggregator.api.support import Publisher

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("entries", "passers_by", "percent"),
    [(30, 150, 20.0), (0, 10, 0.0), (5, 0, None), (12, 8, 150.0)],
)
def test_capture_rate(entries: int, passers_by: int, percent: float | None) -> None:
    assert capture_rate_percent(entries, passers_by) == percent


def test_a_day_sums_visits_and_passers_by_before_dividing() -> None:
    hours = [
        HourInputs(T0, 30, None, None, passers_by=150),
        HourInputs(T0 + timedelta(hours=1), 9, None, None, passers_by=60),
        HourInputs(T0 + timedelta(hours=2), 4, None, None, passers_by=0),
    ]
    (day,) = period_metrics(hours, "day", ZoneInfo("UTC"))
    assert (day.visits, day.passers_by) == (43, 210)
    assert day.capture_rate_percent == pytest.approx(100 * 43 / 210)


def interval(
    sequence: int, start: datetime, door: int, street: tuple[int, int], dwell: DwellCounts
) -> CountInterval:
    return CountInterval(
        schema_version=2,
        store_id="shop-1",
        camera_id="front",
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={
            "door": LineCount(entries=door, exits=0, role=LineRole.ENTRANCE),
            "street": LineCount(entries=street[0], exits=street[1], role=LineRole.PASSING),
            "staff-door": LineCount(entries=1, exits=1, role=LineRole.STAFF),
        },
        zones={
            "window": ZoneOccupancy(mean=0.5, max=2, role=ZoneRole.COUNTING, dwell=dwell),
        },
        software_version="test",
        config_fingerprint="0123abcd",
    )


def test_capture_rate_roles_and_dwell_through_the_running_aggregator(
    api_config: AggregatorConfig, publisher: Publisher, influx: InfluxClient
) -> None:
    """Hour 09: door 30 entries, street 100 + 50 passers-by (20%); hour 10: door 9, street
    30 + 30 (15%); the day: 39 / 210 = 18.571...%. Staff-door crossings are never visits."""
    service = AggregatorService(api_config, client_id=f"capture-{time.monotonic_ns()}")
    service.start()
    try:
        assert service.consumer.connected.wait(10), "the aggregator never subscribed"
        messages = [
            interval(0, T0, 10, (40, 20), DwellCounts(under_30_seconds=3)),
            interval(1, T0 + timedelta(minutes=20), 20, (60, 30), DwellCounts(over_600_seconds=1)),
            interval(
                2, T0 + timedelta(minutes=70), 9, (30, 30), DwellCounts(from_30_to_120_seconds=2)
            ),
        ]
        for message in messages:
            topic = counts_topic("shop-1", "front", api_config.mqtt.topic_root)
            publisher.publish(topic, message.model_dump_json())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and service.stats.accepted < len(messages):
            time.sleep(0.1)
        assert service.stats.accepted == len(messages)
        assert service.writer.wait_durable(20)
    finally:
        service.stop()
    with TestClient(create_app(api_config)) as client:
        hourly = client.get(
            "/stores/shop-1/metrics",
            params={"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"},
        ).json()["rows"]
        daily = client.get(
            "/stores/shop-1/metrics",
            params={
                "from": "2026-03-02T00:00:00Z",
                "to": "2026-03-03T00:00:00Z",
                "resolution": "day",
            },
        ).json()["rows"]
    assert [(row["visits"], row["passers_by"], row["capture_rate_percent"]) for row in hourly] == [
        (30, 150, 20.0),
        (9, 60, 15.0),
    ]
    assert (daily[0]["visits"], daily[0]["passers_by"]) == (39, 210)
    assert daily[0]["capture_rate_percent"] == pytest.approx(18.571428571)
    roles = influx.query(f"SELECT sum(entries) FROM {LINE_COUNTS} GROUP BY {Tag.ROLE}")
    assert {one.tags[Tag.ROLE]: next(one.rows())["sum"] for one in roles} == {
        "entrance": 39,
        "passing": 130,
        "staff": 3,
    }
    buckets = ", ".join(f"sum({field}) AS {field}" for field in ZoneDwellField.BUCKETS)
    (dwell,) = influx.query(f"SELECT {buckets} FROM {ZONE_DWELL}")
    row = next(dwell.rows())
    assert [row[field] for field in ZoneDwellField.BUCKETS] == [3, 2, 0, 1]
