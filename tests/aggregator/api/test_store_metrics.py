"""Conversion and visit time (Little's law): the pure computation on tables of numbers, and
``GET /stores/{id}/metrics`` on known counts written to the real InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from aggregator.analysis.store_metrics import (
    HourInputs,
    conversion_percent,
    period_metrics,
    time_weighted_mean,
    visit_minutes,
)
from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from aggregator.storage.points import interval_points, occupancy_point, transaction_point
from protocol.messages import CountInterval, LineCount

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("transactions", "visits", "expected"),
    [(30, 120, 25.0), (0, 10, 0.0), (5, 0, None), (None, 50, None), (120, 120, 100.0)],
)
def test_conversion(transactions: int | None, visits: int, expected: float | None) -> None:
    assert conversion_percent(transactions, visits) == expected


@pytest.mark.parametrize(
    ("occupancy", "entries", "seconds", "minutes"),
    [
        (10.0, 60, 3600.0, 10.0),  # 1 arrival a minute, 10 inside: 10 minutes each
        (5.0, 120, 3600.0, 2.5),
        (10.0, 19, 3600.0, None),  # below the minimum of 20 entries
        (None, 60, 3600.0, None),
        (0.0, 40, 7200.0, 0.0),
    ],
)
def test_littles_law(
    occupancy: float | None, entries: int, seconds: float, minutes: float | None
) -> None:
    assert visit_minutes(occupancy, entries, seconds) == minutes


@pytest.mark.parametrize(
    ("changes", "mean"),
    [
        ([(at(-5), 4.0)], 4.0),  # known before the hour, unchanged
        ([(at(-5), 0.0), (at(30), 10.0)], 5.0),  # 0 for 30 min, 10 for 30 min
        ([(at(0), 6.0), (at(15), 2.0), (at(45), 10.0)], (6 * 15 + 2 * 30 + 10 * 15) / 60),
        ([(at(10), 3.0)], None),  # nothing known at the start of the hour
        ([(at(-5), 1.0), (at(60), 9.0)], 1.0),  # a change at the end belongs to the next hour
    ],
)
def test_time_weighted_mean(changes: list[tuple[datetime, float]], mean: float | None) -> None:
    found = time_weighted_mean(changes, at(0), at(60))
    if mean is None:
        assert found is None
    else:
        assert found == pytest.approx(mean)


def test_days_are_store_local_and_sum_their_hours() -> None:
    zone = ZoneInfo("Pacific/Auckland")  # UTC+13 in March: 11:00 UTC is local midnight
    hours = [
        HourInputs(datetime(2026, 3, 2, 10, tzinfo=UTC), 30, 6, 5.0),  # local 2026-03-02 23:00
        HourInputs(datetime(2026, 3, 2, 11, tzinfo=UTC), 40, 10, 8.0),  # local 2026-03-03 00:00
        HourInputs(datetime(2026, 3, 2, 12, tzinfo=UTC), 20, None, 4.0),
    ]
    days = period_metrics(hours, "day", zone)
    assert [(day.label, day.visits, day.transactions) for day in days] == [
        ("2026-03-02", 30, 6),
        ("2026-03-03", 60, 10),
    ]
    assert days[1].conversion_percent == pytest.approx(100 * 10 / 60)
    assert days[1].mean_occupancy == pytest.approx(6.0)
    assert days[1].visit_minutes == pytest.approx(6.0 / (60 / 7200) / 60)  # 12 minutes


def _interval(start: datetime, entries: int, line: str = "door") -> CountInterval:
    return CountInterval(
        store_id="shop-1",
        camera_id="entrance",
        sequence=0,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={line: LineCount(entries=entries, exits=0)},
        software_version="test",
        config_fingerprint="0123456789abcdef",
    )


@pytest.fixture
def client(api_config: AggregatorConfig, influx: InfluxClient) -> Iterator[TestClient]:
    points = []
    for minute in range(0, 60, 2):  # hour 09: 30 intervals x 2 entries = 60 entries
        points += interval_points(_interval(at(minute), 2), None)
    points += interval_points(_interval(at(70), 25), None)  # hour 10: 25 entries
    points += interval_points(_interval(at(75), 99, "staff"), {"door"})  # not an entrance
    points += [
        occupancy_point("shop-1", at(-30), occupancy=0, entries_today=0, exits_today=0,
                        over_capacity=False, drift=0, reset_residual=0, capacity=None),
        occupancy_point("shop-1", at(30), occupancy=20, entries_today=30, exits_today=10,
                        over_capacity=False, drift=0, reset_residual=0, capacity=None),
    ]  # fmt: skip
    points += [transaction_point("shop-1", at(0), 15), transaction_point("shop-1", at(60), 5)]
    influx.write(points)
    with TestClient(create_app(api_config)) as test_client:
        yield test_client


def test_metrics_per_hour_from_influxdb(client: TestClient) -> None:
    response = client.get(
        "/stores/shop-1/metrics",
        params={"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    first, second = body["rows"]
    assert (first["visits"], first["transactions"], first["conversion_percent"]) == (60, 15, 25.0)
    assert first["mean_occupancy"] == pytest.approx(10.0)  # 0 for 30 min, then 20
    assert first["visit_minutes"] == pytest.approx(10.0)  # L=10, 1 entry a minute
    assert (second["visits"], second["transactions"], second["conversion_percent"]) == (25, 5, 20.0)
    assert second["mean_occupancy"] == pytest.approx(20.0)
    assert second["visit_minutes"] == pytest.approx(20.0 / (25 / 3600) / 60)  # 48 minutes


def test_metrics_per_local_day(client: TestClient) -> None:
    response = client.get(
        "/stores/shop-1/metrics",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z", "resolution": "day"},
    )
    assert response.status_code == 200, response.text
    (day,) = response.json()["rows"]
    assert (day["label"], day["visits"], day["transactions"]) == ("2026-03-02", 85, 20)
    assert day["mean_occupancy"] is None  # occupancy unknown before 08:30 UTC


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-03-02T10:00:00Z", "to": "2026-03-02T10:30:00Z"}, 422),  # no whole hour
        ({"from": "2026-03-02T10:00:00", "to": "2026-03-02T12:00:00Z"}, 422),  # no time zone
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 422),  # too long
    ],
)
def test_bad_ranges_are_422(client: TestClient, params: dict[str, str], code: int) -> None:
    assert client.get("/stores/shop-1/metrics", params=params).status_code == code


def test_unknown_store_is_404(client: TestClient) -> None:
    response = client.get(
        "/stores/nowhere/metrics",
        params={"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T10:00:00Z"},
    )
    assert response.status_code == 404
