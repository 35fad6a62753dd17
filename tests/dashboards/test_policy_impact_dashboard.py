"""The Policy impact dashboard against the seeded InfluxDB: the windows start at store-local
midnight of the effective date read from ``policy_changes``, before/after means and the
day-by-day overlay equal the seeded visits, effect estimates and changes are listed, and the
annotation leaves out removed changes."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean
from typing import Any
from urllib.parse import quote

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.panels import Json
from tests.dashboards import seed
from tests.dashboards.grafana_checker import ShownFrame, shown_panels, table_rows
from tests.dashboards.queries import QueryResult, Selection, find_result, iter_panels, run_dashboard
from tests.dashboards.seed import by_time, expected_daily, local_range

GREEN, RED = "#73BF69", "#F2495C"
"""Grafana's "green" and "red" in its default (dark) theme."""
SIX_WEEKS = local_range(seed.FIRST_DAY, seed.LAST_DAY)
NORTH_EVENINGS: dict[str, Selection] = {
    "store": ["north"],
    "policy": ["evening-opening"],
    "window_days": ["14"],
}


@pytest.fixture
def policy(committed: dict[str, Json]) -> Json:
    return committed["policy-impact.json"]


@pytest.fixture
def results(seeded_influx: InfluxClient, policy: Json) -> list[QueryResult]:
    return run_dashboard(seeded_influx, policy, SIX_WEEKS, NORTH_EVENINGS)


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(count)]


def only_value(result: QueryResult) -> Any:
    (series,) = result.series
    ((value,),) = [row[1:] for row in series.values]
    return value


def test_hidden_variables_read_the_change(results: list[QueryResult]) -> None:
    assert [row[1] for row in find_result(results, "policy", "").series[0].values] == [
        "evening-opening",
        "music-off",
    ]
    assert only_value(find_result(results, "effective_date", "")) == "2024-01-22"
    assert only_value(find_result(results, "timezone", "")) == seed.TIMEZONE


def test_means_before_and_after(results: list[QueryResult]) -> None:
    daily = expected_daily("north")
    before = find_result(results, "Mean visits per day: before and after", "A")
    after = find_result(results, "Mean visits per day: before and after", "B")
    assert "time >= '2024-01-22 00:00:00' - 14d" in before.query.statement
    assert "tz('America/New_York')" in before.query.statement
    assert only_value(before) == pytest.approx(mean(daily[d] for d in days(date(2024, 1, 8), 14)))
    assert only_value(after) == pytest.approx(mean(daily[d] for d in days(seed.POLICY_DAY, 14)))
    assert only_value(after) > only_value(before)


@pytest.fixture
def shown(results: list[QueryResult], policy: Json) -> dict[str, ShownFrame]:
    """Bar charts and tables as Grafana shows them after the panels' transformations."""
    panels = [p for p in iter_panels(policy) if p["type"] in ("barchart", "table")]
    return {
        title: frame
        for title, (frame,) in shown_panels(policy, results, panels, tag_order="reversed").items()
    }


def test_overlay_pairs_day_n_before_with_day_n_after(
    results: list[QueryResult], shown: dict[str, ShownFrame]
) -> None:
    """Grafana's calculateField (row index per query) and joinByField (on that index) put day n
    of the window before next to day n of the window after."""
    title = "Visits per day: before and after, overlaid"
    before = find_result(results, title, "A")
    first_before = next(iter(by_time(before.series[0])))
    assert first_before.isoformat() == "2024-01-08T00:00:00-05:00"
    daily = expected_daily("north")
    overlay = shown[title]
    assert overlay.names() == ["day", "before", "after"]
    assert overlay.field("day").values == [str(day) for day in range(14)]
    assert [[row["before"], row["after"]] for row in overlay.rows()] == [
        [daily[day], daily[day + timedelta(days=14)]] for day in days(date(2024, 1, 8), 14)
    ]


def test_visits_around_the_change(results: list[QueryResult], shown: dict[str, ShownFrame]) -> None:
    around = by_time(find_result(results, "Visits per day around the change").series[0])
    daily = expected_daily("north")
    window = days(date(2024, 1, 8), 28)
    assert {moment.date(): visits for moment, visits in around.items()} == {
        day: daily[day] for day in window
    }
    bars = shown["Visits per day around the change"]
    assert bars.field("Time").texts == [day.isoformat() for day in window]
    assert bars.field("visits").values == [daily[day] for day in window]


def test_default_window_counts_only_days_with_data(
    seeded_influx: InfluxClient, policy: Json
) -> None:
    """28 days before 22 January reach back to 25 December, before the first count (1 January):
    the mean leaves those days out, the daily bars show them as 0."""
    defaults = run_dashboard(seeded_influx, policy, SIX_WEEKS)
    assert only_value(find_result(defaults, "effective_date", "")) == "2024-01-22"
    daily = expected_daily("north")
    before = find_result(defaults, "Mean visits per day: before and after", "A")
    assert only_value(before) == pytest.approx(mean(daily[d] for d in days(seed.FIRST_DAY, 21)))
    bars = find_result(defaults, "Visits per day: before and after, overlaid", "A")
    assert [row[1] for row in bars.series[0].values][:8] == [0] * 7 + [daily[seed.FIRST_DAY]]


def test_effect_estimates_and_registered_changes(
    shown: dict[str, ShownFrame], policy: Json
) -> None:
    panels = {panel["title"]: panel for panel in iter_panels(policy)}
    estimates = shown["Effect estimates"]
    assert estimates.names() == [
        "store",
        "policy",
        "method",
        "effect_pct",
        "ci_low_pct",
        "ci_high_pct",
    ]
    effects = table_rows(estimates, panels["Effect estimates"])
    assert [
        (row["store"], row["policy"], row["method"], row["effect_pct"], row["ci_low_pct"])
        for row in effects
    ] == [
        ("north", "evening-opening", "its", 12.5, 8.0),
        ("pooled", "evening-opening", "did", 11.0, 6.0),
        ("north", "evening-opening", "did", 10.0, 4.0),
    ], "the pooled estimate of another policy (queue-rule) is left out"

    effect = estimates.field("effect_pct")
    assert sorted(zip(effect.texts, effect.colors, strict=True)) == [
        ("10.0%", GREEN),
        ("11.0%", GREEN),
        ("12.5%", GREEN),
    ], "percent unit"
    assert sorted(estimates.field("ci_low_pct").texts) == ["4.0%", "6.0%", "8.0%"]

    title = "Registered policy changes"
    changes = table_rows(shown[title], panels[title])
    assert [
        (row["store"], row["policy"], row["effective_date"], row["removed"]) for row in changes
    ] == [
        ("north", "music-off", "2024-02-05", True),
        ("south", "queue-rule", "2024-02-01", False),
        ("north", "evening-opening", "2024-01-22", False),
    ]


def test_negative_effects_are_red(seeded_influx: InfluxClient, policy: Json) -> None:
    south = run_dashboard(seeded_influx, policy, SIX_WEEKS, {"store": ["south"]})
    panel = next(p for p in iter_panels(policy) if p["title"] == "Effect estimates")
    (frame,) = shown_panels(policy, south, [panel])["Effect estimates"]
    effect, low = frame.field("effect_pct"), frame.field("ci_low_pct")
    assert sorted(zip(effect.texts, effect.colors, strict=True)) == [
        ("-2.0%", RED),
        ("-3.0%", RED),
    ]
    assert sorted(zip(low.texts, low.colors, strict=True)) == [("-7.0%", RED), ("-9.0%", RED)]


GAINED = "Visits gained or lost over the after window"
GAINED_FIELDS = ("visits_gained", "visits_gained_low", "visits_gained_high")


def gained_cells(frame: ShownFrame) -> dict[str, list[tuple[str, str | None]]]:
    """Store -> (text, colour) of the estimate, low and high cells, as Grafana formats them."""
    stores = frame.field("store").values
    return {
        store: [
            (frame.field(name).texts[row], frame.field(name).colors[row]) for name in GAINED_FIELDS
        ]
        for row, store in enumerate(stores)
    }


def test_visits_gained_per_store_and_pooled(
    results: list[QueryResult], shown: dict[str, ShownFrame], policy: Json
) -> None:
    """The cumulative effect as stored by ``footfall impact --store-effects``: only the primary
    method's point carries it, so the store's other method (north, did) has no row; the pooled
    estimate of the selected policy is there, another policy's (queue-rule) is not."""
    raw = find_result(results, GAINED)
    assert {(one.tags["store"], one.tags["policy"], one.tags["method"]) for one in raw.series} == {
        ("north", "evening-opening", "its"),
        ("pooled", "evening-opening", "did"),
    }
    panel = next(p for p in iter_panels(policy) if p["title"] == GAINED)
    frame = shown[GAINED]
    assert frame.names() == ["store", "policy", "method", *GAINED_FIELDS]
    assert [tuple(row.values()) for row in table_rows(frame, panel)] == [
        ("pooled", "evening-opening", "did", 1630.2, 880.7, 2391.9),
        ("north", "evening-opening", "its", 812.4, 530.6, 1101.5),
    ], "largest gain first, values exactly as stored"
    assert gained_cells(frame) == {
        "north": [("812", GREEN), ("531", GREEN), ("1102", GREEN)],
        "pooled": [("1630", GREEN), ("881", GREEN), ("2392", GREEN)],
    }, "whole visits, green from zero"


def test_visits_lost_are_red(seeded_influx: InfluxClient, policy: Json) -> None:
    """South's queue rule: visits lost (red), an interval from a loss to a gain (red, green)."""
    south = run_dashboard(seeded_influx, policy, SIX_WEEKS, {"store": ["south"]})
    panel = next(p for p in iter_panels(policy) if p["title"] == GAINED)
    (frame,) = shown_panels(policy, south, [panel], tag_order="reversed")[GAINED]
    assert [tuple(row.values()) for row in table_rows(frame, panel)] == [
        ("south", "queue-rule", "its", -310.6, -905.2, 290.4),
        ("pooled", "queue-rule", "its", -402.0, -1410.8, 603.3),
    ]
    assert gained_cells(frame) == {
        "south": [("-311", RED), ("-905", RED), ("290", GREEN)],
        "pooled": [("-402", RED), ("-1411", RED), ("603", GREEN)],
    }


def test_daily_context_and_annotation(results: list[QueryResult]) -> None:
    daily = by_time(find_result(results, "Visits per day").series[0])
    assert {moment.date(): visits for moment, visits in daily.items()} == expected_daily("north")
    (annotations,) = find_result(results, "Policy changes", "").series
    assert [row[0] for row in annotations.values] == ["2024-01-22T05:00:00Z"]


def percent_encoded(value: str) -> str:
    """Grafana's ``percentencode`` format: JavaScript's ``encodeURIComponent``."""
    return quote(value, safe="-_.!~*'()")


def test_row_links_encode_the_row_values(policy: Json) -> None:
    """A store or policy name with ``&``, ``#`` or spaces must not break the link's query."""
    panel = next(p for p in iter_panels(policy) if p["title"] == "Registered policy changes")
    (link,) = panel["fieldConfig"]["defaults"]["links"]
    assert "${__data.fields.store:percentencode}" in link["url"]
    assert "${__data.fields.policy:percentencode}" in link["url"]
    assert percent_encoded("north & co #2") == "north%20%26%20co%20%232"


def test_each_registered_change_links_to_its_own_window(
    seeded_influx: InfluxClient, policy: Json, shown: dict[str, ShownFrame]
) -> None:
    """Following a row's data link selects that store and policy; the hidden variables then
    anchor the windows on that row's effective date."""
    title = "Registered policy changes"
    panel = next(p for p in iter_panels(policy) if p["title"] == title)
    (link,) = panel["fieldConfig"]["defaults"]["links"]
    for row in table_rows(shown[title], panel):
        url = (
            link["url"]
            .replace("${__data.fields.store:percentencode}", percent_encoded(row["store"]))
            .replace("${__data.fields.policy:percentencode}", percent_encoded(row["policy"]))
            .replace("${window_days:queryparam}", "var-window_days=14")
        )
        assert url == (
            f"/d/footfall-policy-impact/?var-store={row['store']}"
            f"&var-policy={row['policy']}&var-window_days=14"
        )
        chosen: dict[str, Selection] = {"store": [row["store"]], "policy": [row["policy"]]}
        followed = run_dashboard(seeded_influx, policy, SIX_WEEKS, chosen)
        assert only_value(find_result(followed, "effective_date", "")) == row["effective_date"]
