"""Live occupancy: for store managers. Current occupancy against capacity per store, today's
entries, occupancy over the day, and all stores in one table sorted by load.

Everything comes from ``store_occupancy``, which the aggregator writes at every change: the
"current" value is the last point in the dashboard's time range (default: the last 24 hours,
which covers a closed night).
"""

from __future__ import annotations

from dashboards import influxql
from dashboards.document import dashboard_json, query_variable
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
_SELECTED = f"{influxql.matches('store', 'store')} AND $timeFilter"
TABLE_COLUMNS = (
    "store",
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
                f'SELECT last("occupancy") AS "occupancy" {_FROM} WHERE {_SELECTED} '
                'GROUP BY "store"',
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
                'SELECT last("occupancy") / last("capacity") * 100 AS "load_percent" '
                f'{_FROM} WHERE {_SELECTED} GROUP BY "store"',
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
                f'SELECT last("entries_today") AS "entries_today" {_FROM} WHERE {_SELECTED} '
                'GROUP BY "store"',
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
                f'SELECT last("occupancy") {_FROM} WHERE {_SELECTED} '
                'GROUP BY time($__interval), "store" fill(previous)',
                alias="$tag_store occupancy",
            ),
            Target(
                f'SELECT last("capacity") {_FROM} WHERE {_SELECTED} '
                'GROUP BY time($__interval), "store" fill(previous)',
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
                'SELECT last("occupancy") AS "occupancy", last("capacity") AS "capacity", '
                'last("occupancy") / last("capacity") * 100 AS "load_percent", '
                'last("entries_today") AS "entries_today", '
                'last("exits_today") AS "exits_today", '
                'last("over_capacity") AS "over_capacity" '
                f'{_FROM} WHERE $timeFilter GROUP BY "store"',
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
                "store", "Store", influxql.tag_values(influxql.STORE_OCCUPANCY, "store")
            ),
        ],
        time_from="now-24h",
        refresh="10s",
        timezone=timezone,
    )
