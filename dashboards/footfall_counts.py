"""Footfall: for analysts. Entries per hour, day and week per store and per entrance, in
store-local time, and the same range in the three previous weeks for comparison; then capture
rate, conversion, visit time and dwell in zones per day (:mod:`dashboards.footfall_metrics`).

Only entrance lines count (``entrance = 'true'``): a staff door or an inner line is counted by
the edge but is not a visit. Days and weeks start at midnight in the build's time zone
(``dashboards build --timezone``; ``tz()`` clause), which is also the dashboard's display zone,
so a day's bar starts at local midnight and is labelled with its local date; weeks start on
Monday. The default range is the last four whole weeks.

Grafana cannot shift one query of a panel in time, so the comparison with previous weeks is
(a) the hourly chart repeated with a panel time shift of 7, 14 and 21 days and (b) one stat
panel whose queries read the same range moved back by whole weeks
(``time >= ${__from}ms - 7d``).
"""

from __future__ import annotations

from dashboards import influxql
from dashboards.document import constant_variable, dashboard_json, query_variable
from dashboards.footfall_metrics import store_metrics_panels
from dashboards.influxql import LineCountsField, Tag
from dashboards.panels import (
    Json,
    Layout,
    Target,
    bar_chart,
    day_labels,
    stat,
    table,
    time_series,
)
from dashboards.policy_impact import policy_change_annotation

UID = "footfall-counts"
WEEKS_BACK = (1, 2, 3)
WEEKS_SHOWN = 4
"""Default range: the last four whole weeks (Monday 00:00 to Sunday 24:00, display zone)."""

_FROM = f'FROM "{influxql.LINE_COUNTS}"'
_TZ = influxql.store_timezone()
_SUM_ENTRIES = f'sum("{LineCountsField.ENTRIES}") AS "entries"'
_BY_STORE = influxql.quoted(Tag.STORE)
_BY_ENTRANCE = influxql.quoted(Tag.STORE, Tag.CAMERA, Tag.LINE)


def entries_per(bucket: str, *, by: str = _BY_STORE, camera: bool = False) -> str:
    """Visits summed per time bucket (``1h``, ``1d``, ``7d, 4d``) and group, zero-filled."""
    return (
        f"SELECT {_SUM_ENTRIES} {_FROM} "
        f"WHERE {influxql.visits_filter(camera=camera)} AND $timeFilter "
        f"GROUP BY time({bucket}), {by} fill(0) {_TZ}"
    )


def _period_panels(layout: Layout, timezone: str) -> list[Json]:
    hourly = time_series(
        "Entries per hour",
        [Target(entries_per("1h"), alias="$tag_store")],
        layout.place(24, 8),
        description="Visits per store-local hour, stores stacked.",
        bars=True,
    )
    daily = bar_chart(
        "Entries per day",
        [Target(entries_per("1d"), alias="$tag_store")],
        layout.place(12, 8),
        description="Visits per store-local day (midnight to midnight), one bar per store, "
        "labelled with the local date.",
        x_field="Time",
        transformations=day_labels(timezone),
    )
    weekly = bar_chart(
        "Entries per week",
        [Target(entries_per(f"7d, {influxql.WEEK_OFFSET}"), alias="$tag_store")],
        layout.place(12, 8),
        description="Visits per week, Monday to Sunday in store-local time, labelled with "
        "the Monday's date. InfluxDB 1.x starts the first week after a daylight-saving change "
        "at 01:00 instead of 00:00.",
        x_field="Time",
        transformations=day_labels(timezone),
    )
    return [hourly, daily, weekly]


def _entrance_panels(layout: Layout) -> list[Json]:
    per_entrance = time_series(
        "Entries per hour by entrance",
        [
            Target(
                entries_per("1h", by=_BY_ENTRANCE, camera=True),
                alias="$tag_store / $tag_camera / $tag_line",
            )
        ],
        layout.place(16, 8),
        description="Visits per hour through each entrance line of the selected cameras.",
        bars=True,
    )
    totals = table(
        "Entrances in the selected range",
        [
            Target(
                f'SELECT {_SUM_ENTRIES}, sum("{LineCountsField.EXITS}") AS "exits" '
                f"{_FROM} WHERE {influxql.visits_filter(camera=True)} AND $timeFilter "
                f"GROUP BY {_BY_ENTRANCE}",
                table=True,
            )
        ],
        layout.place(8, 8),
        description="Entries and exits per entrance line, busiest first.",
        columns=(Tag.STORE, Tag.CAMERA, Tag.LINE, "entries", "exits", "Time"),
        sort_by="entries",
        hidden=("Time",),
    )
    return [per_entrance, totals]


def _shifted_range(weeks: int) -> str:
    return f"time >= ${{__from}}ms - {7 * weeks}d AND time <= ${{__to}}ms - {7 * weeks}d"


def _comparison_panels(layout: Layout) -> list[Json]:
    panels: list[Json] = [
        time_series(
            f"Entries per hour, {weeks} week{'s' if weeks > 1 else ''} earlier",
            [Target(entries_per("1h"), alias="$tag_store")],
            layout.place(8, 7),
            description="The hourly chart above with the range moved back by whole weeks: "
            "the same weekdays and hours in previous weeks.",
            bars=True,
            time_shift=f"{7 * weeks}d",
        )
        for weeks in WEEKS_BACK
    ]
    selection = f"SELECT {_SUM_ENTRIES} {_FROM} WHERE {influxql.visits_filter()}"
    targets = [Target(f"{selection} AND $timeFilter GROUP BY {_BY_STORE}", alias="$tag_store now")]
    targets += [
        Target(
            f"{selection} AND {_shifted_range(weeks)} GROUP BY {_BY_STORE}",
            alias=f"$tag_store {weeks} wk earlier",
        )
        for weeks in WEEKS_BACK
    ]
    panels.append(
        stat(
            "Entries: selected range against the same range in previous weeks",
            targets,
            layout.place(24, 5),
            description="Total visits in the selected range and in the same range 1, 2 and 3 "
            "weeks earlier (same weekdays, same hours).",
        )
    )
    return panels


def build(timezone: str) -> Json:
    layout = Layout()
    stores = influxql.tag_values(influxql.LINE_COUNTS, Tag.STORE)
    cameras = influxql.tag_values(
        influxql.LINE_COUNTS, Tag.CAMERA, influxql.matches(Tag.STORE, "store")
    )
    return dashboard_json(
        uid=UID,
        title="Footfall · Entries",
        description=__doc__ or "",
        panels=[
            *_period_panels(layout, timezone),
            *_entrance_panels(layout),
            *_comparison_panels(layout),
            *store_metrics_panels(layout, timezone),
        ],
        variables=[
            query_variable("store", "Store", stores),
            query_variable("camera", "Camera", cameras),
            constant_variable("timezone", timezone),
        ],
        annotations=[policy_change_annotation()],
        time_from=f"now-{WEEKS_SHOWN - 1}w/w",
        time_to="now/w",
        refresh="5m",
        timezone=timezone,
    )
