"""The Footfall dashboard, built for the stores' zone (New York), its queries substituted as
Grafana would, against the seeded InfluxDB: hourly, daily and weekly visits equal the seeded
sums in store-local time, entrances are split correctly, and the previous-weeks comparison
reads the right weeks. Grafana's own code (``grafana_checker``) then shows each store-local
day as one bar group labelled by its local date, and the policy changes as annotations."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.build import build_dashboards
from dashboards.panels import Json
from tests.dashboards import seed
from tests.dashboards.grafana_checker import (
    GRAFANA_DATA,
    annotation_events,
    shown_panels,
    table_rows,
)
from tests.dashboards.grafana_frames import epoch_ms
from tests.dashboards.macros import TimeRange
from tests.dashboards.queries import QueryResult, Selection, find_result, iter_panels, run_dashboard
from tests.dashboards.seed import by_tag, by_time, expected_daily, expected_hourly, local_range

WEEK_START = date(2024, 1, 29)
WEEK_END = date(2024, 2, 4)
WEEK = local_range(WEEK_START, WEEK_END)
SIX_WEEKS = local_range(seed.FIRST_DAY, seed.LAST_DAY)
LOCAL = timedelta(hours=-5)


@pytest.fixture(scope="module")
def footfall() -> Json:
    """Built as ``footfall dashboards build --timezone America/New_York``."""
    return build_dashboards(seed.TIMEZONE)["footfall.json"]


def panel_named(dashboard: Json, title: str) -> Json:
    return next(panel for panel in iter_panels(dashboard) if panel["title"] == title)


def run(
    client: InfluxClient,
    dashboard: Json,
    time_range: TimeRange = WEEK,
    **selections: Selection,
) -> list[QueryResult]:
    return run_dashboard(client, dashboard, time_range, selections)


def hours_of(store: str, first: date, last: date) -> dict[datetime, int]:
    return {
        hour: count
        for hour, count in expected_hourly(store).items()
        if first <= hour.date() <= last
    }


def test_store_and_camera_variables(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall, store=["north"])
    store = find_result(results, "store", "")
    assert store.query.statement == 'SHOW TAG VALUES FROM "line_counts" WITH KEY = "store"'
    assert [row[1] for row in store.series[0].values] == ["north", "south"]
    camera = find_result(results, "camera", "")
    assert camera.query.statement.endswith('WHERE "store" =~ /^north$/')
    assert [row[1] for row in camera.series[0].values] == ["door-cam", "side-cam"]


def test_entries_per_hour_are_the_seeded_sums(seeded_influx: InfluxClient, footfall: Json) -> None:
    series = by_tag(find_result(run(seeded_influx, footfall), "Entries per hour").series)
    assert sorted(series) == ["north", "south"]
    for store in ("north", "south"):
        hourly = by_time(series[store])
        assert len(hourly) == 7 * 24
        assert all(moment.utcoffset() == LOCAL and moment.minute == 0 for moment in hourly)
        assert {moment: count for moment, count in hourly.items() if count} == hours_of(
            store, WEEK_START, WEEK_END
        )
    # Monday 20:00 local (01:00 UTC on Tuesday): per interval weekday 1 + hour term 3 +
    # policy 2 + quarter 0..3, plus 3 at the main door: 4 x 9 + 6 and 4 x 6 + 6.
    assert by_time(series["north"])[datetime(2024, 1, 29, 20, tzinfo=seed.ZONE)] == 42 + 30


def test_store_selection_narrows_the_series(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall, store=["south"])
    assert [one.tags for one in find_result(results, "Entries per hour").series] == [
        {"store": "south"}
    ]
    assert "/^south$/" in find_result(results, "Entries per hour").query.statement


def test_entries_per_day_start_at_store_local_midnight(
    seeded_influx: InfluxClient, footfall: Json
) -> None:
    series = by_tag(find_result(run(seeded_influx, footfall), "Entries per day").series)
    for store in ("north", "south"):
        daily = by_time(series[store])
        assert all(day.utcoffset() == LOCAL and day.hour == 0 for day in daily)
        expected = expected_daily(store)
        assert {day.date(): count for day, count in daily.items()} == {
            WEEK_START + timedelta(days=offset): expected[WEEK_START + timedelta(days=offset)]
            for offset in range(7)
        }
    # north on Monday 29 Jan: 12 hours x (48 + 8 x hour term), hour terms 0..3 three times
    assert by_time(series["north"])[datetime(2024, 1, 29, tzinfo=seed.ZONE)] == 720


def test_utc_days_differ_where_evening_hours_cross_midnight(
    seeded_influx: InfluxClient, committed: dict[str, Json]
) -> None:
    """The committed files are built for UTC: their days are UTC days."""
    utc_week = TimeRange(
        datetime(2024, 1, 29, tzinfo=UTC), datetime(2024, 2, 4, 23, 59, 59, 999000, tzinfo=UTC)
    )
    results = run_dashboard(seeded_influx, committed["footfall.json"], utc_week)
    daily = by_time(by_tag(find_result(results, "Entries per day").series)["north"])
    expected: dict[date, int] = defaultdict(int)
    for hour, count in expected_hourly("north").items():
        if utc_week.start_utc <= hour < utc_week.end_utc:
            expected[hour.astimezone(UTC).date()] += count
    assert {day.date(): count for day, count in daily.items()} == dict(expected)
    assert daily[datetime(2024, 1, 29, tzinfo=UTC)] != expected_daily("north")[WEEK_START]


def test_entries_per_week_run_monday_to_sunday(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall, SIX_WEEKS)
    series = by_tag(find_result(results, "Entries per week").series)
    for store in ("north", "south"):
        weekly = by_time(series[store])
        mondays = [seed.FIRST_DAY + timedelta(weeks=week) for week in range(6)]
        assert [moment.date() for moment in weekly] == mondays
        assert list(weekly.values()) == [
            seed.expected_total(store, monday, monday + timedelta(days=6)) for monday in mondays
        ]


def test_entries_by_entrance_follow_the_camera_variable(
    seeded_influx: InfluxClient, footfall: Json
) -> None:
    everything = find_result(run(seeded_influx, footfall), "Entries per hour by entrance")
    lines = {(one.tags["store"], one.tags["camera"], one.tags["line"]) for one in everything.series}
    assert lines == {
        ("north", "door-cam", "main-door"),
        ("north", "side-cam", "side-door"),
        ("south", "front-cam", "front"),
    }, "the staff door is not an entrance"
    one_camera = run(seeded_influx, footfall, store=["north"], camera=["door-cam"])
    (door,) = find_result(one_camera, "Entries per hour by entrance").series
    expected = seed.expected_hourly("north", ["main-door"])
    week_hours = {
        hour: count for hour, count in expected.items() if WEEK_START <= hour.date() <= WEEK_END
    }
    assert {moment: count for moment, count in by_time(door).items() if count} == week_hours


def test_entrance_table_is_sorted_by_entries(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall)
    panel = panel_named(footfall, "Entrances in the selected range")
    (frame,) = shown_panels(footfall, results, [panel], tag_order="reversed")[panel["title"]]
    assert frame.names() == ["store", "camera", "line", "entries", "exits"]
    rows = table_rows(frame, panel)
    expected = {
        line: sum(
            count
            for hour, count in seed.expected_hourly(store, [line]).items()
            if WEEK_START <= hour.date() <= WEEK_END
        )
        for store, line in (("north", "main-door"), ("north", "side-door"), ("south", "front"))
    }
    assert [(row["line"], row["entries"]) for row in rows] == sorted(
        expected.items(), key=lambda item: -item[1]
    )
    assert all("Time" not in row for row in rows)
    north_door = next(row for row in rows if row["line"] == "main-door")
    intervals = 4 * (7 * 12)
    assert north_door["exits"] == north_door["entries"] - intervals


def test_previous_weeks_read_the_same_weekdays(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall)
    for weeks in (1, 2, 3):
        title = f"Entries per hour, {weeks} week{'s' if weeks > 1 else ''} earlier"
        shifted = by_tag(find_result(results, title).series)
        first = WEEK_START - timedelta(weeks=weeks)
        for store in ("north", "south"):
            hourly = {moment: count for moment, count in by_time(shifted[store]).items() if count}
            assert hourly == hours_of(store, first, first + timedelta(days=6))

    title = "Entries: selected range against the same range in previous weeks"
    for reference, weeks in (("A", 0), ("B", 1), ("C", 2), ("D", 3)):
        totals = by_tag(find_result(results, title, reference).series)
        first = WEEK_START - timedelta(weeks=weeks)
        for store in ("north", "south"):
            (total,) = by_time(totals[store]).values()
            assert total == seed.expected_total(store, first, first + timedelta(days=6))


@pytest.mark.parametrize("grafana", sorted(GRAFANA_DATA))
def test_a_store_local_day_is_one_bar_labelled_by_its_date(
    seeded_influx: InfluxClient, footfall: Json, grafana: str
) -> None:
    """Grafana joins the stores' daily series on the bucket start and writes each start as its
    date in the stores' zone: one group of bars per local day, a bar per store side by side
    (not drawn over each other), labelled 2024-01-29 ... 2024-02-04, not "... 05:00"."""
    results = run(seeded_influx, footfall)
    panel = panel_named(footfall, "Entries per day")
    (frame,) = shown_panels(footfall, results, [panel], grafana=grafana)["Entries per day"]
    assert frame.names() == ["Time", "north", "south"]
    assert panel["options"]["xField"] == "Time"
    days = [WEEK_START + timedelta(days=offset) for offset in range(7)]
    assert frame.field("Time").texts == [day.isoformat() for day in days]
    for store in ("north", "south"):
        assert frame.field(store).values == [expected_daily(store)[day] for day in days]


@pytest.mark.parametrize("grafana", sorted(GRAFANA_DATA))
def test_days_east_of_utc_are_labelled_by_their_local_date(
    seeded_influx: InfluxClient, grafana: str
) -> None:
    """Built for Auckland, a day starts at 11:00 UTC the day before: the label is the local
    date (a UTC label would be a day early), the sum that of the Auckland day."""
    auckland = ZoneInfo("Pacific/Auckland")
    dashboard = build_dashboards("Pacific/Auckland")["footfall.json"]
    week = TimeRange(
        datetime.combine(WEEK_START, time(0), tzinfo=auckland),
        datetime.combine(WEEK_END, time(23, 59, 59, 999000), tzinfo=auckland),
    )
    results = run_dashboard(seeded_influx, dashboard, week)
    panel = panel_named(dashboard, "Entries per day")
    (frame,) = shown_panels(dashboard, results, [panel], grafana=grafana)["Entries per day"]
    days = [WEEK_START + timedelta(days=offset) for offset in range(7)]
    assert frame.field("Time").texts == [day.isoformat() for day in days]
    assert frame.field("Time").values[0] == "2024-01-29"
    expected: dict[date, int] = defaultdict(int)
    for hour, count in expected_hourly("north").items():
        expected[hour.astimezone(auckland).date()] += count
    assert frame.field("north").values == [expected[day] for day in days]


def test_weeks_are_labelled_by_their_monday(seeded_influx: InfluxClient, footfall: Json) -> None:
    results = run(seeded_influx, footfall, SIX_WEEKS)
    (frame,) = shown_panels(footfall, results, [panel_named(footfall, "Entries per week")])[
        "Entries per week"
    ]
    mondays = [seed.FIRST_DAY + timedelta(weeks=week) for week in range(6)]
    assert frame.field("Time").texts == [monday.isoformat() for monday in mondays]
    assert frame.field("south").values == [
        seed.expected_total("south", monday, monday + timedelta(days=6)) for monday in mondays
    ]


def test_hourly_bars_stack_and_cover_their_hour(footfall: Json) -> None:
    """Bars of several stores stack instead of hiding each other; a bar is drawn from its
    bucket's start to its end (``barAlignment: 1``), not centred on the start."""
    for title in ("Entries per hour", "Entries per hour by entrance"):
        custom = panel_named(footfall, title)["fieldConfig"]["defaults"]["custom"]
        assert (custom["drawStyle"], custom["stacking"]["mode"]) == ("bars", "normal")
        assert custom["barAlignment"] == 1


def test_default_range_is_whole_weeks_in_the_stores_zone(footfall: Json) -> None:
    assert (footfall["time"], footfall["weekStart"]) == (
        {"from": "now-3w/w", "to": "now/w"},
        "monday",
    )
    assert footfall["timezone"] == seed.TIMEZONE, "display zone = the tz() zone"


def test_policy_changes_annotation(seeded_influx: InfluxClient, footfall: Json) -> None:
    """Grafana's InfluxDB plugin makes one marker per store of each registered change: title =
    the policy, text = its description, tags = the store; removed changes are left out. (The
    plugin's end time defaults to the time column: a point in time.)"""
    (annotation,) = footfall["annotations"]["list"]
    result = find_result(run(seeded_influx, footfall, SIX_WEEKS), "Policy changes", "")
    assert annotation_events(annotation, result) == [
        {
            "time": epoch_ms("2024-01-22T05:00:00Z"),
            "title": "evening-opening",
            "text": "Open until 21:00",
            "tags": ["north"],
            "timeEnd": epoch_ms("2024-01-22T05:00:00Z"),
        },
        {
            "time": epoch_ms("2024-02-01T05:00:00Z"),
            "title": "queue-rule",
            "text": "One queue for all tills",
            "tags": ["south"],
            "timeEnd": epoch_ms("2024-02-01T05:00:00Z"),
        },
    ]
