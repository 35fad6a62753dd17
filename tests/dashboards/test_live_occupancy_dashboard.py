"""The Live occupancy dashboard against the seeded InfluxDB: the current values are the last
change per store, load is occupancy over capacity, the table puts the fullest store first,
and ``$__interval`` is what Grafana would compute for the panel."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest

from aggregator.storage.influx import InfluxClient, Series
from dashboards.live_occupancy import TABLE_COLUMNS
from dashboards.panels import Json
from tests.dashboards import seed
from tests.dashboards.grafana_checker import shown_panels, table_rows
from tests.dashboards.macros import TimeRange
from tests.dashboards.queries import find_result, iter_panels, run_dashboard
from tests.dashboards.seed import by_tag, by_time, local_range

GREEN, ORANGE, RED = "#73BF69", "#FF9830", "#F2495C"
"""Grafana's "green", "orange" and "red" in its default (dark) theme."""
LAST_DAY = local_range(seed.LAST_DAY, seed.LAST_DAY)


@pytest.fixture
def live(committed: dict[str, Json]) -> Json:
    return committed["live-occupancy.json"]


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(seed.LAST_DAY, time(hour, minute), tzinfo=seed.ZONE)


def latest(series_list: list[Series]) -> dict[str, Any]:
    """The one value per store of a ``last()`` query without time grouping."""
    return {store: next(iter(by_time(one).values())) for store, one in by_tag(series_list).items()}


def test_current_occupancy_load_and_entries(seeded_influx: InfluxClient, live: Json) -> None:
    results = run_dashboard(seeded_influx, live, LAST_DAY)
    assert latest(find_result(results, "Occupancy now").series) == {
        "north": 45,
        "south": 12,
        "east": 30,
        "west": 7,
    }
    assert latest(find_result(results, "Load (occupancy / capacity)").series) == {
        "north": 90.0,
        "south": 30.0,
        "east": 120.0,
        "west": None,
    }
    assert latest(find_result(results, "Entries today").series) == {
        "north": 80,
        "south": 33,
        "east": 44,
        "west": 9,
    }


def test_store_variable_filters_the_stat_panels(seeded_influx: InfluxClient, live: Json) -> None:
    results = run_dashboard(seeded_influx, live, LAST_DAY, {"store": ["east", "west"]})
    assert sorted(latest(find_result(results, "Occupancy now").series)) == ["east", "west"]
    assert [row[1] for row in find_result(results, "store", "").series[0].values] == [
        "east",
        "north",
        "south",
        "west",
    ]


def test_table_lists_all_stores_fullest_first(seeded_influx: InfluxClient, live: Json) -> None:
    results = run_dashboard(seeded_influx, live, LAST_DAY, {"store": ["north"]})
    panel = next(p for p in iter_panels(live) if p["title"] == "All stores by load")
    (frame,) = shown_panels(live, results, [panel], tag_order="reversed")[panel["title"]]
    assert frame.names() == list(TABLE_COLUMNS[:-1]), "fixed order, Time hidden"
    rows = table_rows(frame, panel)
    assert [
        (row["store"], row["occupancy"], row["capacity"], row["load_percent"]) for row in rows
    ] == [
        ("east", 30, 25, 120.0),
        ("north", 45, 50, 90.0),
        ("south", 12, 40, 30.0),
        ("west", 7, None, None),
    ]
    assert [row["over_capacity"] for row in rows] == [True, False, False, False]
    assert [row["entries_today"] - row["exits_today"] for row in rows] == [30, 45, 12, 7]
    assert "Time" not in rows[0]
    load = frame.field("load_percent")
    shown = dict(zip(load.values, zip(load.texts, load.colors, strict=True), strict=True))
    assert shown == {
        120.0: ("120%", RED),
        90.0: ("90%", ORANGE),
        30.0: ("30%", GREEN),
        None: ("", GREEN),
    }, "percent unit, orange from 80 %, red from 100 %"


def test_occupancy_over_time_holds_each_change(seeded_influx: InfluxClient, live: Json) -> None:
    results = run_dashboard(seeded_influx, live, LAST_DAY)
    occupancy = find_result(results, "Occupancy and capacity", "A")
    # 24 h / 500 points = 172.8 s, rounded by Grafana to 2 min (above the 1 min minimum)
    assert "GROUP BY time(2m)" in occupancy.query.statement
    north = by_time(by_tag(occupancy.series)["north"])
    assert len(north) == 24 * 30
    assert north[at(9, 58)] is None
    assert [north[at(10)], north[at(12, 28)], north[at(12, 30)], north[at(15, 4)]] == [
        10,
        10,
        30,
        45,
    ]
    assert north[at(23, 58)] == 45
    capacity = by_time(by_tag(find_result(results, "Occupancy and capacity", "B").series)["east"])
    assert capacity[at(9, 30)] == 25


def test_short_range_uses_the_one_minute_minimum(seeded_influx: InfluxClient, live: Json) -> None:
    six_hours = TimeRange(at(10), at(16))
    results = run_dashboard(seeded_influx, live, six_hours)
    occupancy = find_result(results, "Occupancy and capacity", "A")
    # 6 h / 500 = 43.2 s rounds to 30 s, below the panel's 1 min minimum interval
    assert "GROUP BY time(1m)" in occupancy.query.statement
    south = by_time(by_tag(occupancy.series)["south"])
    assert len(south) == 6 * 60 + 1
    assert (south[at(13, 59)], south[at(14)]) == (20, 12)


def test_a_day_without_changes_shows_nothing(seeded_influx: InfluxClient, live: Json) -> None:
    day_before = local_range(seed.LAST_DAY - timedelta(days=1), seed.LAST_DAY - timedelta(days=1))
    results = run_dashboard(seeded_influx, live, day_before, {"store": ["north"]})
    assert find_result(results, "Occupancy now").series == []
    assert find_result(results, "All stores by load").series == []
