"""InfluxQL fragments shared by the dashboards.

Template variables always carry an explicit Grafana format (``${store:regex}``,
``${timezone:raw}``): a plain ``$store`` is escaped differently by different Grafana versions
(raw, regex-escaped, with or without parentheses), an explicit format is not.

Portability: every query runs on InfluxDB 1.x and on 2.x through the v1 compatibility API. Two
features used here are missing from some InfluxDB 3 products: the ``tz()`` clause (store-local
days; InfluxDB 3 Core/Enterprise/Clustered/Dedicated have it, Cloud Serverless lacked it) and
subqueries (the policy before/after means). Without ``tz()`` days are UTC days.

Measurement, tag and field names come from :mod:`aggregator.storage.measurements` (re-exported
here); a dashboard never spells one as a bare string.
"""

from __future__ import annotations

from aggregator.storage.measurements import (
    EDGE_HEALTH,
    EDGE_STATUS,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    POLICY_CHANGES,
    POLICY_EFFECTS,
    POOLED_STORE,
    STORE_OCCUPANCY,
    STORE_TRANSACTIONS,
    ZONE_DWELL,
    EdgeHealthField,
    EdgeStatusField,
    LineCountsField,
    PolicyChangesField,
    PolicyEffectsField,
    StoreOccupancyField,
    StoreTransactionsField,
    Tag,
    ZoneDwellField,
)

__all__ = [
    "EDGE_HEALTH",
    "EDGE_STATUS",
    "ENTRANCE_TRUE",
    "LINE_COUNTS",
    "POLICY_CHANGES",
    "POLICY_EFFECTS",
    "POOLED_STORE",
    "STORE_OCCUPANCY",
    "STORE_TRANSACTIONS",
    "WEEK_OFFSET",
    "ZONE_DWELL",
    "EdgeHealthField",
    "EdgeStatusField",
    "LineCountsField",
    "PolicyChangesField",
    "PolicyEffectsField",
    "StoreOccupancyField",
    "StoreTransactionsField",
    "Tag",
    "ZoneDwellField",
    "matches",
    "quoted",
    "store_timezone",
    "tag_values",
    "visits_filter",
]

WEEK_OFFSET = "4d"
"""``GROUP BY time(7d, 4d)``: InfluxDB aligns 7-day buckets to the epoch, a Thursday; shifting
by 4 days makes weeks start on Monday."""


def matches(tag: str, variable: str) -> str:
    """``"tag" =~ /^(a|b)$/`` for a multi-value variable, anchored so ``north`` never matches
    ``north-2``."""
    return f'"{tag}" =~ /^${{{variable}:regex}}$/'


def visits_filter(*, camera: bool = False) -> str:
    """Entries through store entrances (``entrance = 'true'``) of the selected stores, and of
    the selected cameras when ``camera`` is set. Visits = sum(entries) under this filter."""
    conditions = [f""""{Tag.ENTRANCE}" = '{ENTRANCE_TRUE}'""", matches(Tag.STORE, "store")]
    if camera:
        conditions.append(matches(Tag.CAMERA, "camera"))
    return " AND ".join(conditions)


def quoted(*names: str) -> str:
    """``"a", "b"``: double-quoted identifiers (measurement, tag or field names) for SELECT and
    GROUP BY lists."""
    return ", ".join(f'"{name}"' for name in names)


def store_timezone(variable: str = "timezone") -> str:
    """The ``tz()`` clause: ``GROUP BY time(1d)`` buckets then start at store-local midnight,
    with 23- and 25-hour days at daylight-saving changes, and time literals in the query are
    read in that zone."""
    return f"tz('${{{variable}:raw}}')"


def tag_values(measurement: str, key: str, where: str = "") -> str:
    """A template-variable query; InfluxDB answers it from its index, so it ignores time."""
    statement = f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{key}"'
    return f"{statement} WHERE {where}" if where else statement
