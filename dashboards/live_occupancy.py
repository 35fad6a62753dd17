"""Live occupancy: for store managers. Current occupancy against capacity per store, today's
entries, occupancy over the day, and all stores in one table sorted by load.

Everything comes from ``store_occupancy``, which the aggregator writes at every change: the
"current" value is the last point in the dashboard's time range (default: the last 24 hours,
which covers a closed night).
"""

from __future__ import annotations

from dashboards import influxql
from dashboards.document import dashboard_json, query_variable
from dashboards.influxql import StoreOccupancyField, Tag
from dashboards.panels import (
    Json,
    Layout,
    Target,
    stat,
    table,
    threshold_column,
    time_series,
)

UID = "footfall-live-occupancy"
LOAD_THRESHOLDS = (("green", None), ("orange", 80.0), ("red", 100.0))
"""Load = occupancy / capacity in percent: orange from 80 %, red at capacity."""

_FROM = f'FROM "{influxql.STORE_OCCUPANCY}"'
_SELECTED = f"{influxql.matches(Tag.STORE, 'store')} AND $timeFilter"
_BY_STORE = influxql.quoted(Tag.STORE)
_OCCUPANCY = influxql.quoted(StoreOccupancyField.OCCUPANCY)
_CAPACITY = influxql.quoted(StoreOccupancyField.CAPACITY)
_ENTRIES_TODAY = influxql.quoted(StoreOccupancyField.ENTRIES_TODAY)
_EXITS_TODAY = influxql.quoted(StoreOccupancyField.EXITS_TODAY)
_OVER_CAPACITY = influxql.quoted(StoreOccupancyField.OVER_CAPACITY)
_LOAD_PERCENT = f'last({_OCCUPANCY}) / last({_CAPACITY}) * 100 AS "load_percent"'
TABLE_COLUMNS = (
    Tag.STORE,
    "load_percent",
    "occupancy",
    "capacity",
    "entries_today",
    "exits_today",
    "over_capacity",
    "Time",
)


def _current_panels(layout: Layout) -> list[Json]:
    occupancy = stat(
        "Occupancy now",
        [
            Target(
                f'SELECT last({_OCCUPANCY}) AS "occupancy" {_FROM} WHERE {_SELECTED} '
                f"GROUP BY {_BY_STORE}",
                alias="$tag_store",
            )
        ],
        layout.place(8, 6),
        description="People inside each store now (entries minus exits since the daily reset).",
    )
    load = stat(
        "Load (occupancy / capacity)",
        [
            Target(
                f"SELECT {_LOAD_PERCENT} {_FROM} WHERE {_SELECTED} GROUP BY {_BY_STORE}",
                alias="$tag_store",
            )
        ],
        layout.place(8, 6),
        description="Occupancy as a percentage of the store's capacity: orange from 80 %, "
        "red at capacity; stores without a configured capacity show no value.",
        unit="percent",
        thresholds=LOAD_THRESHOLDS,
        decimals=0,
    )
    entries = stat(
        "Entries today",
        [
            Target(
                f'SELECT last({_ENTRIES_TODAY}) AS "entries_today" {_FROM} '
                f"WHERE {_SELECTED} GROUP BY {_BY_STORE}",
                alias="$tag_store",
            )
        ],
        layout.place(8, 6),
        description="Entries since the store's daily reset (store-local business day).",
    )
    return [occupancy, load, entries]


def _history_panels(layout: Layout) -> list[Json]:
    over_time = time_series(
        "Occupancy and capacity",
        [
            Target(
                f"SELECT last({_OCCUPANCY}) {_FROM} WHERE {_SELECTED} "
                f"GROUP BY time($__interval), {_BY_STORE} fill(previous)",
                alias="$tag_store occupancy",
            ),
            Target(
                f"SELECT last({_CAPACITY}) {_FROM} WHERE {_SELECTED} "
                f"GROUP BY time($__interval), {_BY_STORE} fill(previous)",
                alias="$tag_store capacity",
            ),
        ],
        layout.place(24, 9),
        description="Occupancy (last value per interval, held until the next change) and "
        "capacity per store.",
        steps=True,
        minimum_interval="1m",
        max_data_points=500,
    )
    all_stores = table(
        "All stores by load",
        [
            Target(
                f'SELECT last({_OCCUPANCY}) AS "occupancy", '
                f'last({_CAPACITY}) AS "capacity", {_LOAD_PERCENT}, '
                f'last({_ENTRIES_TODAY}) AS "entries_today", '
                f'last({_EXITS_TODAY}) AS "exits_today", '
                f'last({_OVER_CAPACITY}) AS "over_capacity" '
                f"{_FROM} WHERE $timeFilter GROUP BY {_BY_STORE}",
                table=True,
            )
        ],
        layout.place(24, 10),
        description="Every store, fullest first (by load; stores without capacity last).",
        columns=TABLE_COLUMNS,
        sort_by="load_percent",
        hidden=("Time",),
        overrides=[
            threshold_column(
                "load_percent", LOAD_THRESHOLDS, unit="percent", decimals=0, cell="color-background"
            )
        ],
    )
    return [over_time, all_stores]


def build(timezone: str) -> Json:
    layout = Layout()
    return dashboard_json(
        uid=UID,
        title="Footfall · Live occupancy",
        description=__doc__ or "",
        panels=[*_current_panels(layout), *_history_panels(layout)],
        variables=[
            query_variable(
                "store", "Store", influxql.tag_values(influxql.STORE_OCCUPANCY, Tag.STORE)
            ),
        ],
        time_from="now-24h",
        refresh="10s",
        timezone=timezone,
    )
