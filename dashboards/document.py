"""The dashboard document around the panels: template variables, the InfluxQL annotation and
the dashboard's own settings (uid, time range, display zone, refresh), as Grafana's dashboard
JSON schema defines them.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.panels import DATASOURCE, Json

SCHEMA_VERSION = 39
"""Grafana 10.4's dashboard schema version; newer Grafana versions migrate it on load."""


def query_variable(
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = True,
    hidden: bool = False,
) -> Json:
    """A variable filled by an InfluxQL query (``SHOW TAG VALUES`` or a one-field SELECT),
    refreshed when the time range changes and sorted alphabetically. Multi-value variables
    get an "All" option without a custom all value, so Grafana expands "All" to every value
    (``(a|b|c)`` in regex format)."""
    variable: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": query,
        "regex": "",
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "hide": 2 if hidden else 0,
        "options": [],
    }
    if multi:
        variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return variable


def constant_variable(name: str, value: str) -> Json:
    """A hidden value fixed by the build (not changeable from the URL or the UI)."""
    current = {"selected": True, "text": value, "value": value}
    return {
        "type": "constant",
        "name": name,
        "query": value,
        "hide": 2,
        "skipUrlSync": True,
        "current": current,
        "options": [current],
    }


def custom_variable(name: str, label: str, values: Sequence[str], default: str) -> Json:
    if default not in values:
        raise ValueError(f"default {default!r} of variable {name!r} is not one of {values}")
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "query": ",".join(values),
        "multi": False,
        "includeAll": False,
        "hide": 0,
        "current": {"selected": True, "text": default, "value": default},
        "options": [
            {"selected": value == default, "text": value, "value": value} for value in values
        ],
    }


def influxql_annotation(
    name: str, query: str, *, text_column: str, tags_column: str, colour: str
) -> Json:
    """An InfluxQL annotation. The query and its column settings live in ``target``: Grafana's
    InfluxDB plugin (10.x to 13.x) reads them there, and moves legacy top-level keys into the
    target only when a target without a query already exists (``prepareAnnotation``), so an
    annotation without ``target`` is skipped silently. ``fromAnnotations`` routes the target
    through the plugin's annotation parsing. The title is the first column that matches
    neither ``text_column`` nor ``tags_column``: the plugin matches those two by substring
    against server-side column names ``<measurement>.<column>``, so neither may occur in the
    measurement's name."""
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "target": {
            "refId": "Anno",
            "datasource": DATASOURCE,
            "query": query,
            "rawQuery": True,
            "fromAnnotations": True,
            "queryType": "tags",
            "textColumn": text_column,
            "tagsColumn": tags_column,
            "titleColumn": "",
            "timeEndColumn": "",
            "name": name,
        },
    }


def dashboard_json(
    *,
    uid: str,
    title: str,
    description: str,
    panels: Sequence[Json],
    variables: Sequence[Json],
    annotations: Sequence[Json] = (),
    time_from: str,
    time_to: str = "now",
    refresh: str,
    timezone: str,
) -> Json:
    """The dashboard as plain JSON data. ``timezone`` is Grafana's display time zone: an IANA
    name, or UTC (written ``utc``, Grafana's spelling). Not editable: provisioning does not
    save UI edits (``allowUiUpdates: false``); change the Python instead."""
    numbered = [{"id": index, **panel} for index, panel in enumerate(panels, start=1)]
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["footfall"],
        "editable": False,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "weekStart": "monday",
        "links": [],
        "panels": numbered,
        "templating": {"list": list(variables)},
        "annotations": {"list": list(annotations)},
        "time": {"from": time_from, "to": time_to},
        "timepicker": {},
        "refresh": refresh,
        "timezone": "utc" if timezone.upper() == "UTC" else timezone,
        "schemaVersion": SCHEMA_VERSION,
    }
