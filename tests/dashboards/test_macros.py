"""Grafana's macro and variable substitution, checked against Grafana's documented and coded
behaviour (tables of numbers from ``gtime.RoundInterval`` / ``FormatInterval``, the InfluxQL
backend's time filter, the ``regex`` variable format)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboards.macros import (
    MacroError,
    Substitution,
    TimeRange,
    VariableValue,
    format_interval,
    format_variable,
    parse_duration,
    query_interval,
    references,
    regex_escape,
    round_interval,
)
from tests.dashboards.queries import panel_time_range

START = datetime(2024, 1, 29, 5, tzinfo=UTC)
DAY = TimeRange(START, START + timedelta(days=1))


@pytest.mark.parametrize(
    ("seconds", "rounded_seconds"),
    [
        (0.005, 0.001),
        (0.9, 1),
        (1.5, 1),
        (1.6, 2),
        (8, 10),
        (43.2, 30),
        (46, 60),
        (90, 60),
        (91, 120),
        (172.8, 120),
        (1209.6, 1200),
        (2016, 1800),
        (10_080, 10_800),
        (86_400, 43_200),
        (100_000, 86_400),
        (700_000, 604_800),
        (2_000_000, 2_592_000),
        (4_000_000, 31_536_000),
    ],
)
def test_round_interval_follows_grafana_steps(seconds: float, rounded_seconds: float) -> None:
    assert round_interval(timedelta(seconds=seconds)) == timedelta(seconds=rounded_seconds)


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (timedelta(milliseconds=1), "1ms"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(seconds=30), "30s"),
        (timedelta(seconds=90), "1m"),
        (timedelta(minutes=20), "20m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=7), "7d"),
        (timedelta(days=30), "30d"),
        (timedelta(days=365), "1y"),
    ],
)
def test_format_interval(interval: timedelta, text: str) -> None:
    assert format_interval(interval) == text


@pytest.mark.parametrize(
    ("duration", "points", "minimum", "expected"),
    [
        (timedelta(hours=6), 500, None, timedelta(seconds=30)),
        (timedelta(hours=6), 500, timedelta(minutes=1), timedelta(minutes=1)),
        (timedelta(days=7), 500, timedelta(minutes=1), timedelta(minutes=20)),
        (timedelta(hours=1), 360, timedelta(minutes=1), timedelta(minutes=1)),
        (timedelta(weeks=6), 360, timedelta(minutes=1), timedelta(hours=3)),
    ],
)
def test_query_interval(
    duration: timedelta, points: int, minimum: timedelta | None, expected: timedelta
) -> None:
    assert query_interval(TimeRange(START, START + duration), points, minimum) == expected


def test_time_filter_is_inclusive_epoch_milliseconds() -> None:
    # 2024-01-29T05:00:00Z = 1706504400 s
    assert DAY.time_filter() == "time >= 1706504400000ms and time <= 1706590800000ms"


@pytest.mark.parametrize(
    ("value", "format_name", "text"),
    [
        (VariableValue(("north",), regex_by_default=True), "regex", "north"),
        (VariableValue(("north", "south"), regex_by_default=True), "regex", "(north|south)"),
        (VariableValue(("a.b", "c/d"), regex_by_default=True), "regex", r"(a\.b|c\/d)"),
        (VariableValue(("Europe/London",)), "raw", "Europe/London"),
        (VariableValue(("north",)), None, "north"),
        (VariableValue(("north",), regex_by_default=True), None, "(north)"),
        (VariableValue(("x+y", "z"), regex_by_default=True), None, r"(x\+y|z)"),
    ],
)
def test_format_variable(value: VariableValue, format_name: str | None, text: str) -> None:
    assert format_variable(value, format_name) == text


def test_regex_escape_covers_every_metacharacter() -> None:
    assert regex_escape(r"a\^$*+?.()|[]{}/b") == r"a\\\^\$\*\+\?\.\(\)\|\[\]\{\}\/b"


def test_substitution_of_a_panel_query() -> None:
    panel_range = DAY.shifted_back(timedelta(days=7))
    substitution = Substitution(
        dashboard_range=DAY,
        variables={
            "store": VariableValue(("north", "south"), regex_by_default=True),
            "timezone": VariableValue(("America/New_York",)),
        },
        panel_range=panel_range,
        interval=timedelta(minutes=20),
    )
    query = (
        'SELECT sum("entries") FROM "line_counts" WHERE "store" =~ /^${store:regex}$/ '
        "AND $timeFilter AND time <= ${__to}ms - 7d "
        "GROUP BY time($__interval) tz('${timezone:raw}') -- $__interval_ms [[store]]"
    )
    assert substitution.apply(query) == (
        'SELECT sum("entries") FROM "line_counts" WHERE "store" =~ /^(north|south)$/ '
        "AND time >= 1705899600000ms and time <= 1705986000000ms "
        "AND time <= 1706590800000ms - 7d "
        "GROUP BY time(20m) tz('America/New_York') -- 1200000 (north|south)"
    )


def test_substitution_refuses_what_it_cannot_substitute() -> None:
    with pytest.raises(MacroError, match="unknown variable"):
        Substitution(DAY, {}).apply("WHERE x = '$nothing'")
    with pytest.raises(MacroError, match="max data points"):
        Substitution(DAY, {}).apply("GROUP BY time($__interval)")
    with pytest.raises(MacroError, match="format 'csv'"):
        Substitution(DAY, {"a": VariableValue(("1",))}).apply("${a:csv}")


def test_references_lists_names_and_formats() -> None:
    assert references("/^${store:regex}$/ AND $timeFilter [[camera]] tz('${timezone:raw}')") == [
        ("store", "regex"),
        ("timeFilter", None),
        ("camera", None),
        ("timezone", "raw"),
    ]


def test_panel_time_overrides() -> None:
    now = START + timedelta(days=1)
    shifted = panel_time_range({"timeShift": "7d"}, DAY, now)
    assert shifted == TimeRange(START - timedelta(days=7), START - timedelta(days=6))
    relative = panel_time_range({"timeFrom": "2h", "timeShift": "1h"}, DAY, now)
    assert relative == TimeRange(now - timedelta(hours=3), now - timedelta(hours=1))


@pytest.mark.parametrize("text", ["7", "1 d", "1 week", "-1d", ""])
def test_parse_duration_rejects_malformed_durations(text: str) -> None:
    with pytest.raises(MacroError):
        parse_duration(text)


def test_time_range_rejects_naive_and_reversed_times() -> None:
    with pytest.raises(MacroError, match="no time zone"):
        TimeRange(datetime(2024, 1, 1), datetime(2024, 1, 2, tzinfo=UTC))
    with pytest.raises(MacroError, match="before it starts"):
        TimeRange(START, START - timedelta(seconds=1))
