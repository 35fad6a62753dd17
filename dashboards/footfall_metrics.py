"""The Footfall dashboard's store metrics row: capture rate, conversion, visit time and dwell
in zones, per store-local day, for the selected stores together.

Each ratio is two queries joined on the day and divided by Grafana (``calculateField``): an
InfluxQL query cannot divide sums taken under different filters (InfluxDB 1.x answers a
subquery per filter with the first one's fields only). The same definitions as
``GET /stores/{id}/metrics`` (:mod:`aggregator.analysis.store_metrics`):

- capture rate = visits (entries on entrance lines) ÷ passers-by (entries + exits on
  ``passing`` lines), in percent;
- conversion = till transactions (``store_transactions``) ÷ visits, in percent;
- visit time (Little's law) = mean occupancy ÷ entry rate, the day's mean of the live
  occupancy sampled each minute (each store's last value carried forward, stores summed)
  over the day's entries per minute (a day taken as 1440 minutes);
- dwell: people who left a counting zone, by dwell bucket (``zone_dwell``).
"""

from __future__ import annotations

from dashboards import influxql
from dashboards.panels import Json, Layout, Target, bar_chart, day_labels
from protocol.messages import LineRole, ZoneRole

_TZ = influxql.store_timezone()
_STORES = influxql.matches(influxql.Tag.STORE, "store")
_DAY = f"GROUP BY time(1d) fill(none) {_TZ}"
_ENTRIES = influxql.LineCountsField.ENTRIES
_EXITS = influxql.LineCountsField.EXITS
VISITS = "visits"
PASSERS_BY = "passers-by"
TRANSACTIONS = "transactions"
OCCUPANCY = "mean occupancy"
ENTRIES_PER_MINUTE = "entries per minute"
DWELL_BUCKETS = {
    influxql.ZoneDwellField.UNDER_30_SECONDS: "< 30 s",
    influxql.ZoneDwellField.FROM_30_TO_120_SECONDS: "30 s - 2 min",
    influxql.ZoneDwellField.FROM_120_TO_600_SECONDS: "2 - 10 min",
    influxql.ZoneDwellField.OVER_600_SECONDS: "> 10 min",
}


def visits_per_day() -> str:
    return (
        f'SELECT sum("{_ENTRIES}") AS "{VISITS}" FROM "{influxql.LINE_COUNTS}" '
        f"WHERE {influxql.visits_filter()} AND $timeFilter {_DAY}"
    )


def passers_by_per_day() -> str:
    return (
        f'SELECT sum("{_ENTRIES}") + sum("{_EXITS}") AS "{PASSERS_BY}" '
        f'FROM "{influxql.LINE_COUNTS}" WHERE "{influxql.Tag.ROLE}" = '
        f"'{LineRole.PASSING.value}' AND {_STORES} AND $timeFilter {_DAY}"
    )


def transactions_per_day() -> str:
    field = influxql.StoreTransactionsField.TRANSACTIONS
    return (
        f'SELECT sum("{field}") AS "{TRANSACTIONS}" FROM "{influxql.STORE_TRANSACTIONS}" '
        f"WHERE {_STORES} AND $timeFilter {_DAY}"
    )


def occupancy_per_day() -> str:
    field = influxql.StoreOccupancyField.OCCUPANCY
    per_store = (
        f'SELECT last("{field}") AS "o" FROM "{influxql.STORE_OCCUPANCY}" WHERE {_STORES} '
        f'AND $timeFilter GROUP BY time(1m), "{influxql.Tag.STORE}" fill(previous)'
    )
    summed = f'SELECT sum("o") AS "o" FROM ({per_store}) WHERE $timeFilter GROUP BY time(1m)'
    return f'SELECT mean("o") AS "{OCCUPANCY}" FROM ({summed}) WHERE $timeFilter {_DAY}'


def entry_rate_per_day() -> str:
    return (
        f'SELECT sum("{_ENTRIES}") / 1440 AS "{ENTRIES_PER_MINUTE}" FROM '
        f'"{influxql.LINE_COUNTS}" WHERE {influxql.visits_filter()} AND $timeFilter {_DAY}'
    )


def dwell_per_day() -> str:
    sums = ", ".join(f'sum("{field}") AS "{label}"' for field, label in DWELL_BUCKETS.items())
    return (
        f'SELECT {sums} FROM "{influxql.ZONE_DWELL}" WHERE "{influxql.Tag.ROLE}" = '
        f"'{ZoneRole.COUNTING.value}' AND {_STORES} AND $timeFilter "
        f"GROUP BY time(1d) fill(0) {_TZ}"
    )


def _ratio(
    left: str, right: str, alias: str, timezone: str, *, percent: bool = True
) -> tuple[Json, ...]:
    """Join the two queries' days, divide ``left`` by ``right`` (×100 for a percentage),
    keep only the result, and label each day with its local date."""
    join, format_time = day_labels(timezone)
    steps: list[Json] = [
        join,
        {
            "id": "calculateField",
            "options": {
                "mode": "binary",
                "binary": {"left": left, "operator": "/", "right": right},
                "alias": alias if not percent else f"{alias} ratio",
                "replaceFields": not percent,
            },
        },
    ]
    if percent:
        steps.append(
            {
                "id": "calculateField",
                "options": {
                    "mode": "binary",
                    "binary": {"left": f"{alias} ratio", "operator": "*", "right": "100"},
                    "alias": alias,
                    "replaceFields": True,
                },
            }
        )
    steps.append(format_time)
    return tuple(steps)


def store_metrics_panels(layout: Layout, timezone: str) -> list[Json]:
    capture = bar_chart(
        "Capture rate per day",
        [Target(visits_per_day(), alias=VISITS), Target(passers_by_per_day(), alias=PASSERS_BY)],
        layout.place(12, 8),
        description="Visits per 100 passers-by (people crossing the passing lines outside "
        "the shop front, either way), per store-local day, selected stores together.",
        x_field="Time",
        transformations=_ratio(VISITS, PASSERS_BY, "capture rate", timezone),
        unit="percent",
    )
    conversion = bar_chart(
        "Conversion per day",
        [
            Target(transactions_per_day(), alias=TRANSACTIONS),
            Target(visits_per_day(), alias=VISITS),
        ],
        layout.place(12, 8),
        description="Till transactions per 100 visits (footfall import transactions), per "
        "store-local day, selected stores together.",
        x_field="Time",
        transformations=_ratio(TRANSACTIONS, VISITS, "conversion", timezone),
        unit="percent",
    )
    visit_time = bar_chart(
        "Visit time per day (Little's law)",
        [
            Target(occupancy_per_day(), alias=OCCUPANCY),
            Target(entry_rate_per_day(), alias=ENTRIES_PER_MINUTE),
        ],
        layout.place(12, 8),
        description="Mean time in store: the day's mean occupancy (sampled each minute) "
        "divided by its entries per minute. Needs the live occupancy of the whole day.",
        x_field="Time",
        transformations=_ratio(
            OCCUPANCY, ENTRIES_PER_MINUTE, "visit minutes", timezone, percent=False
        ),
        unit="m",
    )
    dwell = bar_chart(
        "Dwell in zones per day",
        [Target(dwell_per_day(), alias="$col")],
        layout.place(12, 8),
        description="People who left a counting zone, by how long they had been in it "
        "(counted on the device from tracks; exclusion zones left out).",
        x_field="Time",
        transformations=day_labels(timezone),
    )
    return [capture, conversion, visit_time, dwell]
