"""Policy impact: for analysts. Visits around a registered policy change (a store's opening
hours, a queueing rule, a layout change), the window before against the window after, the
effect estimates the aggregator stored (in percent, and as visits gained or lost over the after
window), and every change as an annotation.

Pick a store and one of its policies; hidden variables read the policy's effective date and
the store's time zone from ``policy_changes``, so windows start at store-local midnight of the
effective date whatever the dashboard's time range. The panels anchored on the date are bar
charts (a time-series panel would clip them to the time range).

"Overlaid" before/after: Grafana cannot shift one query in time, so each window's daily visits
get a row index (day 0, 1, ...) and are joined on it (Grafana transformations), giving one bar
pair per day of the window.
"""

from __future__ import annotations

from dashboards import influxql
from dashboards.document import (
    custom_variable,
    dashboard_json,
    influxql_annotation,
    query_variable,
)
from dashboards.influxql import LineCountsField, PolicyChangesField, PolicyEffectsField, Tag
from dashboards.panels import (
    Json,
    Layout,
    Target,
    bar_chart,
    day_labels,
    stat,
    table,
    threshold_column,
    time_series,
)

UID = "footfall-policy-impact"
WINDOW_DAYS = ("7", "14", "28", "56")
DEFAULT_WINDOW_DAYS = "28"
EFFECT_THRESHOLDS = (("red", None), ("green", 0.0))
"""Effects, visits gained and interval bounds: red below zero (fewer visits), green from zero."""

_CHANGE = "'${effective_date:raw} 00:00:00'"
"""Store-local midnight of the effective date (read in the ``tz()`` zone of the query)."""
_WINDOW = "${window_days:raw}d"
_BEFORE = f"time >= {_CHANGE} - {_WINDOW} AND time < {_CHANGE}"
_AFTER = f"time >= {_CHANGE} AND time < {_CHANGE} + {_WINDOW} AND time <= now()"
_AROUND = f"time >= {_CHANGE} - {_WINDOW} AND time < {_CHANGE} + {_WINDOW} AND time <= now()"
_SELECTED_POLICY = (
    f"{influxql.matches(Tag.STORE, 'store')} AND {influxql.matches(Tag.POLICY, 'policy')}"
)
_EFFECT_FIELDS = (
    PolicyEffectsField.EFFECT_PCT,
    PolicyEffectsField.CI_LOW_PCT,
    PolicyEffectsField.CI_HIGH_PCT,
)
_GAINED_FIELDS = (
    PolicyEffectsField.VISITS_GAINED,
    PolicyEffectsField.VISITS_GAINED_LOW,
    PolicyEffectsField.VISITS_GAINED_HIGH,
)
"""Only the primary method's point carries them, so other methods' series return no row."""


def _last(fields: tuple[str, ...]) -> str:
    return ", ".join(f'last("{field}") AS "{field}"' for field in fields)


_STORE_OR_POOLED = (
    f"({influxql.matches(Tag.STORE, 'store')} "
    f"""OR ("{Tag.STORE}" = '{influxql.POOLED_STORE}' """
    f"""AND {influxql.matches(Tag.POLICY, "policy")})) AND "{Tag.METRIC}" = ''"""
)
"""Every policy of the selected store, and the selected policy's estimate pooled over its
stores (the pooled estimates of other policies are left out); effects on visits only (no
``metric`` tag), so a conversion or capture-rate estimate at the same time and method never
stands in for the visits one."""
_CHANGE_FIELDS = (
    PolicyChangesField.EFFECTIVE_DATE,
    PolicyChangesField.TIMEZONE,
    PolicyChangesField.DESCRIPTION,
    PolicyChangesField.REMOVED,
)
"""The registered changes' columns, in the order the table shows them."""
_REGISTERED = influxql.quoted(
    PolicyChangesField.DESCRIPTION,
    PolicyChangesField.EFFECTIVE_DATE,
    PolicyChangesField.TIMEZONE,
    PolicyChangesField.REMOVED,
)

INDEX_AND_JOIN: tuple[Json, ...] = (
    {
        "id": "calculateField",
        "options": {
            "mode": "index",
            "alias": "day",
            "index": {"asPercentile": False},
            "replaceFields": False,
            "timeSeries": False,
        },
    },
    {"id": "joinByField", "options": {"byField": "day", "mode": "outer"}},
    {
        "id": "convertFieldType",
        "options": {
            "conversions": [{"targetField": "day", "destinationType": "string"}],
            "fields": {},
        },
    },
    {"id": "filterFieldsByName", "options": {"include": {"names": ["day", "before", "after"]}}},
)
"""Row index per query result ("day" of its window), outer join on it, index as category,
then only the day and the two windows' visits (the join keeps each window's time field).
``timeSeries: false`` keeps the two results apart: otherwise Grafana first joins them on time,
and the index would count across both windows."""


def daily_visits(window: str, name: str = "visits", fill: str = "0") -> str:
    """Visits per store-local day of the selected store inside ``window``; days without any
    count interval are 0 (``fill="0"``, one bar per day) or left out (``fill="none"``)."""
    return (
        f'SELECT sum("{LineCountsField.ENTRIES}") AS "{name}" FROM "{influxql.LINE_COUNTS}" '
        f"WHERE {influxql.visits_filter()} AND {window} "
        f"GROUP BY time(1d) fill({fill}) {influxql.store_timezone()}"
    )


def mean_daily_visits(window: str, name: str) -> str:
    """Mean over the days of ``window`` with counts: a day the edge sent nothing for (not yet
    installed, offline) is no measurement, while a closed day still has zero intervals."""
    return f'SELECT mean("visits") AS "{name}" FROM ({daily_visits(window, fill="none")})'


def policy_change_annotation() -> Json:
    """Every registered (not removed) policy change of the selected stores, at store-local
    midnight of its effective date, one marker per store: title = the policy, text = its
    description, tags = the store. Shared with the Footfall dashboard.

    The policy comes first and matches neither column setting, so the InfluxDB plugin takes it
    as the title; ``tagsColumn`` is not ``policy``, which the plugin would also find in every
    server-side column name (``policy_changes.<column>``)."""
    return influxql_annotation(
        "Policy changes",
        f"SELECT {influxql.quoted(Tag.POLICY, PolicyChangesField.DESCRIPTION, Tag.STORE)} "
        f'FROM "{influxql.POLICY_CHANGES}" '
        f'WHERE "{PolicyChangesField.REMOVED}" = false '
        f"AND {influxql.matches(Tag.STORE, 'store')} AND $timeFilter",
        text_column=PolicyChangesField.DESCRIPTION,
        tags_column=Tag.STORE,
        colour="purple",
    )


def _window_panels(layout: Layout, timezone: str) -> list[Json]:
    means = stat(
        "Mean visits per day: before and after",
        [
            Target(mean_daily_visits(_BEFORE, "before"), alias="before"),
            Target(mean_daily_visits(_AFTER, "after"), alias="after"),
        ],
        layout.place(8, 8),
        description="Mean daily visits in the window before the effective date and in the "
        "window from it (days so far; days without any count data are left out).",
    )
    overlaid = bar_chart(
        "Visits per day: before and after, overlaid",
        [
            Target(daily_visits(_BEFORE, "before"), alias="before"),
            Target(daily_visits(_AFTER, "after"), alias="after"),
        ],
        layout.place(16, 8),
        description="Day n of the window before the change next to day n of the window "
        "after it (day 0 = the first day of each window; the same weekday when the window "
        "is a whole number of weeks).",
        x_field="day",
        transformations=INDEX_AND_JOIN,
    )
    around = bar_chart(
        "Visits per day around the change",
        [Target(daily_visits(_AROUND), alias="visits")],
        layout.place(24, 8),
        description="Daily visits from the window before to the window after the change, "
        "labelled with the date in the dashboard's time zone.",
        x_field="Time",
        transformations=day_labels(timezone),
    )
    return [means, overlaid, around]


def _table_panels(layout: Layout) -> list[Json]:
    effects = table(
        "Effect estimates",
        [
            Target(
                f"SELECT {_last(_EFFECT_FIELDS)} "
                f'FROM "{influxql.POLICY_EFFECTS}" WHERE {_STORE_OR_POOLED} '
                f"GROUP BY {influxql.quoted(Tag.STORE, Tag.POLICY, Tag.METHOD)}",
                table=True,
            )
        ],
        layout.place(12, 8),
        description="Effect on visits in percent with its confidence interval, per policy of "
        "the store and estimation method, and the selected policy's estimate pooled over its "
        "stores, as last stored by the aggregator.",
        columns=(Tag.STORE, Tag.POLICY, Tag.METHOD, *_EFFECT_FIELDS, "Time"),
        sort_by=PolicyEffectsField.EFFECT_PCT,
        hidden=("Time",),
        overrides=[
            threshold_column(column, EFFECT_THRESHOLDS, unit="percent", decimals=1)
            for column in _EFFECT_FIELDS
        ],
    )
    gained = table(
        "Visits gained or lost over the after window",
        [
            Target(
                f"SELECT {_last(_GAINED_FIELDS)} "
                f'FROM "{influxql.POLICY_EFFECTS}" WHERE {_STORE_OR_POOLED} '
                f"GROUP BY {influxql.quoted(Tag.STORE, Tag.POLICY, Tag.METHOD)}",
                table=True,
            )
        ],
        layout.place(12, 8),
        description="Cumulative effect: visits gained (negative: lost) over the whole after "
        "window with its 95% interval, from the primary method's estimate, per policy of the "
        "store and for the selected policy pooled over its stores, as last stored by "
        "`footfall impact --store-effects`.",
        columns=(Tag.STORE, Tag.POLICY, Tag.METHOD, *_GAINED_FIELDS, "Time"),
        sort_by=PolicyEffectsField.VISITS_GAINED,
        hidden=("Time",),
        overrides=[
            threshold_column(column, EFFECT_THRESHOLDS, unit="none", decimals=0)
            for column in _GAINED_FIELDS
        ],
    )
    changes = table(
        "Registered policy changes",
        [
            Target(
                f'SELECT {_REGISTERED} FROM "{influxql.POLICY_CHANGES}" '
                f"GROUP BY {influxql.quoted(Tag.STORE, Tag.POLICY)}",
                table=True,
            )
        ],
        layout.place(24, 8),
        description="All stores' policy changes, latest effective date first; click a row "
        "to see the visits around that change.",
        columns=(Tag.STORE, Tag.POLICY, *_CHANGE_FIELDS, "Time"),
        sort_by=PolicyChangesField.EFFECTIVE_DATE,
        hidden=("Time",),
        row_link=(
            "Visits around this change",
            f"/d/{UID}/?var-store=${{__data.fields.{Tag.STORE}:percentencode}}"
            f"&var-policy=${{__data.fields.{Tag.POLICY}:percentencode}}&${{window_days:queryparam}}",
        ),
    )
    return [effects, gained, changes]


def _context_panel(layout: Layout) -> Json:
    return time_series(
        "Visits per day",
        [Target(daily_visits("$timeFilter"), alias="$store")],
        layout.place(24, 8),
        description="Daily visits of the store over the dashboard's range, policy changes marked.",
        bars=True,
    )


def build(timezone: str) -> Json:
    layout = Layout()
    changes = influxql.POLICY_CHANGES
    return dashboard_json(
        uid=UID,
        title="Footfall · Policy impact",
        description=__doc__ or "",
        panels=[
            *_window_panels(layout, timezone),
            *_table_panels(layout),
            _context_panel(layout),
        ],
        variables=[
            query_variable("store", "Store", influxql.tag_values(changes, Tag.STORE), multi=False),
            query_variable(
                "policy",
                "Policy",
                influxql.tag_values(changes, Tag.POLICY, influxql.matches(Tag.STORE, "store")),
                multi=False,
            ),
            query_variable(
                "effective_date",
                "Effective date",
                f'SELECT last("{PolicyChangesField.EFFECTIVE_DATE}") FROM "{changes}" '
                f"WHERE {_SELECTED_POLICY}",
                multi=False,
                hidden=True,
            ),
            query_variable(
                "timezone",
                "Store time zone",
                f'SELECT last("{PolicyChangesField.TIMEZONE}") FROM "{changes}" '
                f"WHERE {_SELECTED_POLICY}",
                multi=False,
                hidden=True,
            ),
            custom_variable("window_days", "Window (days)", WINDOW_DAYS, DEFAULT_WINDOW_DAYS),
        ],
        annotations=[policy_change_annotation()],
        time_from="now-89d/d",
        time_to="now/d",
        refresh="",
        timezone=timezone,
    )
