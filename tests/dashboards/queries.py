"""Every query of a dashboard JSON (panel targets, annotations, template variables) with
Grafana's macros substituted, ready to run against InfluxDB.

Template variables are resolved like Grafana resolves them on load: in dashboard order, each
query variable's own query is run (after substituting the variables before it) and its
options become the values of "All". Used by the dashboard tests on synthetic data and by the
end-to-end test on data from a real edge -> MQTT -> aggregator run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from aggregator.storage.influx import InfluxClient, Series
from tests.dashboards.macros import (
    MacroError,
    Substitution,
    TimeRange,
    VariableValue,
    parse_duration,
    query_interval,
)

ALL = "$__all"
Selection = Sequence[str] | Literal["$__all"]
OptionsRunner = Callable[[str], list[str]]
Json = dict[str, Any]
SORT_ALPHABETICAL = 1


@dataclass(frozen=True)
class DashboardQuery:
    """One query as Grafana would send it. ``title`` is the panel title, annotation name or
    variable name; ``reference`` the target's refId (empty for annotations and variables)."""

    dashboard_uid: str
    source: Literal["panel", "annotation", "variable"]
    title: str
    reference: str
    statement: str
    table: bool = False
    alias: str = ""
    """The target's alias with template variables filled in, as Grafana's frontend sends it
    (``$tag_<key>`` is left for the InfluxDB backend)."""


@dataclass(frozen=True)
class QueryResult:
    query: DashboardQuery
    series: list[Series]


def influx_options(client: InfluxClient) -> OptionsRunner:
    """Runs a variable query and reads its options as Grafana does: the second column of each
    row (``value`` of SHOW TAG VALUES, the field of a one-field SELECT), de-duplicated."""

    def run(statement: str) -> list[str]:
        options: list[str] = []
        for series in client.query(statement):
            for row in series.values:
                value = row[1] if len(row) > 1 else row[0]
                if value is not None and str(value) not in options:
                    options.append(str(value))
        return options

    return run


def iter_panels(dashboard: Json) -> Iterator[Json]:
    """Panels, including those collapsed inside rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _choose(
    variable: Json, options: list[str] | None, selection: Selection | None
) -> VariableValue:
    name, include_all = variable["name"], bool(variable.get("includeAll"))
    regex_by_default = include_all or bool(variable.get("multi"))
    if selection is None:
        if include_all:
            selection = ALL
        elif variable["type"] in ("textbox", "constant"):
            selection = [variable["query"]]
        elif variable["type"] == "custom":
            selection = [variable["current"]["value"]]
        elif options:
            selection = [options[0]]
        else:
            raise MacroError(f"variable {name!r} has no values: its query returned nothing")
    if selection == ALL:
        if not include_all:
            raise MacroError(f"variable {name!r} has no All option")
        if not options:
            raise MacroError(f"variable {name!r} has no values for All")
        return VariableValue(tuple(options), regex_by_default=True)
    values = tuple(selection)
    unknown = [value for value in values if options is not None and value not in options]
    if unknown:
        raise MacroError(f"variable {name!r} has no value(s) {unknown}; options: {options}")
    if len(values) > 1 and not variable.get("multi"):
        raise MacroError(f"variable {name!r} takes one value, not {list(values)}")
    return VariableValue(values, regex_by_default=regex_by_default)


def resolve_variables(
    dashboard: Json,
    dashboard_range: TimeRange,
    run_options: OptionsRunner,
    selections: Mapping[str, Selection] | None = None,
) -> dict[str, VariableValue]:
    """The value of every variable, by name. ``selections`` picks values (or ``ALL``); others
    take the dashboard's default: All when offered, else the first option."""
    chosen = dict(selections or {})
    resolved: dict[str, VariableValue] = {}
    for variable in dashboard["templating"]["list"]:
        options: list[str] | None = None
        if variable["type"] == "query":
            statement = Substitution(dashboard_range, resolved).apply(variable["query"])
            options = run_options(statement)
            if variable.get("sort") == SORT_ALPHABETICAL:
                options.sort()
        elif variable["type"] == "custom":
            options = [option["value"] for option in variable["options"]]
        resolved[variable["name"]] = _choose(variable, options, chosen.pop(variable["name"], None))
    if chosen:
        raise MacroError(f"dashboard {dashboard['uid']!r} has no variable(s) {sorted(chosen)}")
    return resolved


def panel_time_range(panel: Json, dashboard_range: TimeRange, now_utc: datetime) -> TimeRange:
    """The panel's range after its relative time (``timeFrom``: the last N up to now) and
    time shift (``timeShift``: moved back by N), as Grafana applies them."""
    time_range = dashboard_range
    if panel.get("timeFrom"):
        time_range = TimeRange(now_utc - parse_duration(panel["timeFrom"]), now_utc)
    if panel.get("timeShift"):
        time_range = time_range.shifted_back(parse_duration(panel["timeShift"]))
    return time_range


def _panel_interval(
    panel: Json, panel_range: TimeRange, minimum_interval: timedelta | None
) -> timedelta | None:
    if not panel.get("maxDataPoints"):
        return None
    minimum = parse_duration(panel["interval"]) if panel.get("interval") else minimum_interval
    return query_interval(panel_range, int(panel["maxDataPoints"]), minimum)


def dashboard_queries(
    dashboard: Json,
    dashboard_range: TimeRange,
    variables: Mapping[str, VariableValue],
    *,
    now_utc: datetime | None = None,
    minimum_interval: timedelta | None = None,
) -> list[DashboardQuery]:
    """Every panel target (not hidden), enabled annotation and query variable of the
    dashboard, substituted. ``now_utc`` (default: the end of the range) anchors panels'
    relative times; ``minimum_interval`` is the datasource's ``timeInterval``."""
    now = now_utc or dashboard_range.end_utc
    uid = dashboard["uid"]
    found: list[DashboardQuery] = []
    for panel in iter_panels(dashboard):
        panel_range = panel_time_range(panel, dashboard_range, now)
        interval = _panel_interval(panel, panel_range, minimum_interval)
        substitution = Substitution(dashboard_range, variables, panel_range, interval)
        for target in panel.get("targets", []):
            if target.get("hide"):
                continue
            found.append(
                DashboardQuery(
                    uid,
                    "panel",
                    panel["title"],
                    target["refId"],
                    substitution.apply(target["query"]),
                    table=target.get("resultFormat") == "table",
                    alias=_alias(target.get("alias", ""), variables),
                )
            )
    plain = Substitution(dashboard_range, variables)
    for annotation in dashboard.get("annotations", {}).get("list", []):
        # Grafana's InfluxDB plugin runs an annotation's target query; legacy top-level keys
        # are read only into an existing target without a query (its prepareAnnotation).
        query = (annotation.get("target") or {}).get("query")
        if annotation.get("enable") and query:
            statement = plain.apply(query)
            found.append(DashboardQuery(uid, "annotation", annotation["name"], "", statement))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            statement = plain.apply(variable["query"])
            found.append(DashboardQuery(uid, "variable", variable["name"], "", statement))
    return found


def _alias(alias: str, variables: Mapping[str, VariableValue]) -> str:
    for name, value in variables.items():
        pattern = re.compile(r"\$\{" + re.escape(name) + r"\}|\$" + re.escape(name) + r"\b")
        alias = pattern.sub(",".join(value.values).replace("\\", "\\\\"), alias)
    return alias


def run_dashboard(
    client: InfluxClient,
    dashboard: Json,
    dashboard_range: TimeRange,
    selections: Mapping[str, Selection] | None = None,
    *,
    now_utc: datetime | None = None,
) -> list[QueryResult]:
    """Resolve the variables on ``client``'s database, then run every query of the
    dashboard there."""
    variables = resolve_variables(dashboard, dashboard_range, influx_options(client), selections)
    queries = dashboard_queries(dashboard, dashboard_range, variables, now_utc=now_utc)
    return [QueryResult(query, client.query(query.statement)) for query in queries]


def find_result(results: Sequence[QueryResult], title: str, reference: str = "A") -> QueryResult:
    """The result of a panel's target (or, with ``reference=""``, an annotation or variable)."""
    for result in results:
        if result.query.title == title and result.query.reference == reference:
            return result
    known = sorted({(result.query.title, result.query.reference) for result in results})
    raise KeyError(f"no query {title!r}/{reference!r}; queries: {known}")


def queries_without_data(results: Sequence[QueryResult]) -> list[DashboardQuery]:
    """The queries that returned no series: on data that should fill every panel (a seeded
    database, an end-to-end run) this list is empty."""
    return [result.query for result in results if not result.series]
