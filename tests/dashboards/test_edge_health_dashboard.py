"""The Edge health dashboard against the seeded InfluxDB: status and last-seen per camera,
and per-minute charts (``$__interval`` = 1 min for an hour at 360 points) whose values follow
from the seeded health reports, including a worker restart and a camera that went silent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.edge_health import CHARTS
from dashboards.panels import Json
from tests.dashboards import seed
from tests.dashboards.grafana_checker import (
    ShownFrame,
    panel_job,
    run_checker,
    shown_panels,
    table_rows,
)
from tests.dashboards.grafana_frames import epoch_ms
from tests.dashboards.macros import TimeRange
from tests.dashboards.queries import QueryResult, find_result, iter_panels, run_dashboard
from tests.dashboards.seed import by_time, health_report

GREEN, RED = "#73BF69", "#F2495C"
"""Grafana's "green" and "red" in its default (dark) theme."""
HOUR = TimeRange(seed.HEALTH_START, seed.HEALTH_START + timedelta(minutes=59, seconds=59.999))


@pytest.fixture
def edge(committed: dict[str, Json]) -> Json:
    return committed["edge-health.json"]


@pytest.fixture
def results(seeded_influx: InfluxClient, edge: Json) -> list[QueryResult]:
    return run_dashboard(seeded_influx, edge, HOUR)


def minute(index: int) -> datetime:
    return seed.HEALTH_START + timedelta(minutes=index)


def per_camera(result: QueryResult) -> dict[str, dict[datetime, object]]:
    return {one.tags["camera"]: by_time(one) for one in result.series}


def panel_named(dashboard: Json, title: str) -> Json:
    return next(panel for panel in iter_panels(dashboard) if panel["title"] == title)


@pytest.fixture
def tables(results: list[QueryResult], edge: Json) -> dict[str, ShownFrame]:
    """The two tables as Grafana shows them (tags in the server's reversed map order)."""
    panels = [panel for panel in iter_panels(edge) if panel["type"] == "table"]
    shown = shown_panels(edge, results, panels, tag_order="reversed")
    return {title: frame for title, (frame,) in shown.items()}


def test_status_table_puts_offline_cameras_first(tables: dict[str, ShownFrame], edge: Json) -> None:
    status = tables["Status"]
    assert status.names() == ["store", "camera", "state", "online", "since"]
    rows = table_rows(status, panel_named(edge, "Status"))
    assert rows[0] == {
        "since": epoch_ms("2024-02-11T12:41:00Z"),
        "camera": "side-cam",
        "store": "north",
        "state": "offline",
        "online": False,
    }
    assert sorted((row["camera"], row["state"]) for row in rows[1:]) == [
        ("door-cam", "online"),
        ("front-cam", "online"),
    ]
    state = status.field("state")
    colours = dict(zip(state.values, state.colors, strict=True))
    assert colours == {"online": GREEN, "offline": RED}, "the state's value mapping"
    assert status.field("since").texts[state.values.index("offline")] == "2024-02-11 12:41:00"


def test_last_seen_is_the_time_of_the_last_report(
    tables: dict[str, ShownFrame], edge: Json
) -> None:
    shown = tables["Last health report"]
    assert shown.names()[:4] == ["store", "camera", "last seen", "source_state"]
    rows = table_rows(shown, panel_named(edge, "Last health report"))
    assert [(row["camera"], row["last seen"]) for row in rows] == [
        ("side-cam", epoch_ms("2024-02-11T12:40:00Z")),
        ("door-cam", epoch_ms("2024-02-11T12:59:30Z")),
        ("front-cam", epoch_ms("2024-02-11T12:59:30Z")),
    ]
    assert set(shown.field("seconds_since_publish").texts) == {"2 s"}
    last_side = health_report("north", "side-cam", seed.SIDE_CAM_LAST_REPORT)
    assert rows[0]["frames_per_second"] == last_side.frames_per_second == 11.0
    assert rows[0]["frames_dropped"] == last_side.frames_dropped
    assert rows[0]["seconds_since_publish"] == 2.0
    assert rows[2]["outbox_depth"] == seed.HEALTH_REPORTS - 1 - 60


def test_never_published_shows_never(edge: Json) -> None:
    """``seconds_since_publish`` is -1 before a worker's first publish: the table and the chart
    say "never" instead of a negative age, and the chart's axis is not cut at 0."""
    table = panel_named(edge, "Last health report")
    chart = panel_named(edge, "Seconds since last publish")
    assert "min" not in chart["fieldConfig"]["defaults"]
    times = {"name": "Time", "type": "time", "values": [0, 60_000], "config": {}}
    ages = {"name": "seconds_since_publish", "type": "number", "values": [-1.0, 2.0]}
    value = {**ages, "name": "Value", "config": {"displayNameFromDS": "north / door-cam"}}
    answers = run_checker(
        [
            panel_job(table, [{"refId": "A", "fields": [times, {**ages, "config": {}}]}], "utc"),
            panel_job(chart, [{"refId": "A", "fields": [times, value]}], "utc"),
        ]
    )
    for answer in answers:
        (frame,) = answer["frames"]
        assert frame["fields"][1]["texts"] == ["never", "2 s"]


def test_charts_use_one_minute_intervals(results: list[QueryResult]) -> None:
    fps = find_result(results, "Frames per second")
    # 1 h / 360 points = 10 s, below the 1 min minimum interval of the panel
    assert "GROUP BY time(1m)" in fps.query.statement
    cameras = per_camera(fps)
    assert all(len(values) == 60 for values in cameras.values())
    assert cameras["door-cam"][minute(0)] == 10.25
    assert cameras["front-cam"][minute(30)] == 12.25
    assert cameras["side-cam"][minute(40)] == 11.0, "only report 80 (12:40:00) in that minute"
    assert all(cameras["side-cam"][minute(index)] is None for index in range(41, 60))


def test_an_outage_is_a_gap(results: list[QueryResult], edge: Json) -> None:
    """side-cam stops reporting at 12:40: Grafana gets nulls for the later minutes and, with
    ``spanNulls: false``, draws no line over them."""
    for chart in CHARTS:
        custom = panel_named(edge, chart.title)["fieldConfig"]["defaults"]["custom"]
        assert custom["spanNulls"] is False, chart.title
    shown = shown_panels(edge, results, [panel_named(edge, "Frames per second")])
    frames = {frame.fields[1].display_name: frame for frame in shown["Frames per second"]}
    side = frames["north / side-cam"]
    times, values = side.fields[0].values, side.fields[1].values
    missing = [time for time, value in zip(times, values, strict=True) if value is None]
    assert missing == [epoch_ms(minute(index).isoformat()) for index in range(41, 60)]
    assert frames["north / door-cam"].fields[1].values.count(None) == 0


def test_dropped_frames_per_minute_survive_a_restart(results: list[QueryResult]) -> None:
    dropped = per_camera(find_result(results, "Dropped frames"))
    for store, camera in seed.HEALTH_CAMERAS:
        last = seed.SIDE_CAM_LAST_REPORT if camera == "side-cam" else seed.HEALTH_REPORTS - 1
        counters = {
            index // 2: health_report(store, camera, index).frames_dropped
            for index in range(last + 1)
        }
        expected = {
            minute(index): counters[index] - counters[index - 1]
            for index in range(1, max(counters) + 1)
            if counters[index] >= counters[index - 1]
        }
        assert dropped[camera] == expected, camera
    restart_minute = minute(seed.FRONT_CAM_RESTART // 2)
    assert restart_minute not in dropped["front-cam"]
    assert dropped["front-cam"][restart_minute + timedelta(minutes=1)] == 1


def test_outbox_latency_and_publish_age(results: list[QueryResult]) -> None:
    outbox = per_camera(find_result(results, "Outbox depth"))
    assert outbox["front-cam"][minute(29)] == 0
    assert outbox["front-cam"][minute(45)] == 2 * 45 + 1 - 60
    assert set(outbox["door-cam"].values()) == {0}
    latency = per_camera(find_result(results, "Detector latency"))
    assert latency["side-cam"][minute(10)] == 41.0
    age = per_camera(find_result(results, "Seconds since last publish"))
    assert age["door-cam"][minute(59)] == 2.0


def test_camera_variable_depends_on_the_store(seeded_influx: InfluxClient, edge: Json) -> None:
    results = run_dashboard(seeded_influx, edge, HOUR, {"store": ["south"]})
    assert [row[1] for row in find_result(results, "camera", "").series[0].values] == ["front-cam"]
    assert [one.tags["camera"] for one in find_result(results, "Status").series] == ["front-cam"]
    chosen = run_dashboard(seeded_influx, edge, HOUR, {"camera": ["door-cam", "side-cam"]})
    fps = find_result(chosen, "Frames per second")
    assert "/^(door-cam|side-cam)$/" in fps.query.statement
    assert sorted(one.tags["camera"] for one in fps.series) == ["door-cam", "side-cam"]


def test_status_ignores_the_time_range(seeded_influx: InfluxClient, edge: Json) -> None:
    """A camera silent for a day still shows its status and when it was last seen."""
    next_day = TimeRange(
        seed.HEALTH_START + timedelta(days=1), seed.HEALTH_START + timedelta(days=1, hours=1)
    )
    results = run_dashboard(seeded_influx, edge, next_day)
    assert len(find_result(results, "Status").series) == 3
    assert len(find_result(results, "Last health report").series) == 3
    assert find_result(results, "Frames per second").series == []


def test_duty_cycle_per_minute_and_absent_from_older_workers(results: list[QueryResult]) -> None:
    """Seeded duty cycles 0, 0.25, 0.5, 0.75 in turn, a report every 30 s: each minute holds
    two of them (0 and 0.25 in even minutes, 0.5 and 0.75 in odd). side-cam's worker reports
    none (a worker from before motion gating), so its chart is empty rather than zero."""
    duty = per_camera(find_result(results, "Detector duty cycle"))
    for camera in ("door-cam", "front-cam"):
        assert duty[camera][minute(10)] == pytest.approx(0.125), camera
        assert duty[camera][minute(11)] == pytest.approx(0.625), camera
    assert all(value is None for value in duty.get("side-cam", {}).values())
