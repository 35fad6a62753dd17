"""Panel, variable and annotation builders on top of grafanalib, with the project's defaults:
one InfluxDB datasource (by uid), raw InfluxQL targets, explicit grid positions.

grafanalib emits some legacy keys; Grafana ignores them. ``dashboard_json`` returns a plain
dict that ``build`` serialises deterministically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core
from grafanalib._gen import DashboardEncoder
from grafanalib.influxdb import InfluxDBTarget

DATASOURCE_UID = "footfall-influxdb"
DATASOURCE_NAME = "footfall-influxdb"
DATASOURCE: dict[str, str] = {"type": "influxdb", "uid": DATASOURCE_UID}
FOLDER_UID = "footfall"
FOLDER_TITLE = "Footfall"
SCHEMA_VERSION = 39
"""Grafana 10.4 / 11 dashboard schema; older Grafana versions migrate it on load."""

Json = dict[str, Any]
Threshold = tuple[str, float | None]
"""(colour, lower bound); the first step's bound is None (-infinity)."""
BASE_THRESHOLD: tuple[Threshold, ...] = (("green", None),)


@dataclass(frozen=True)
class Target:
    """One raw InfluxQL query of a panel. ``table`` asks Grafana for a table frame (tags as
    columns) instead of one time series per group."""

    query: str
    alias: str = ""
    table: bool = False


@dataclass
class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new row."""

    x: int = 0
    y: int = 0
    row_height: int = 0
    placed: list[core.GridPos] = field(default_factory=list)

    def place(self, width: int, height: int) -> core.GridPos:
        if not 1 <= width <= 24:
            raise ValueError(f"panel width {width} is outside 1..24 grid columns")
        if self.x + width > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        position = core.GridPos(h=height, w=width, x=self.x, y=self.y)
        self.x += width
        self.row_height = max(self.row_height, height)
        return position


def _targets(targets: Sequence[Target]) -> list[InfluxDBTarget]:
    if not targets:
        raise ValueError("a panel needs at least one query")
    return [
        InfluxDBTarget(
            query=target.query,
            alias=target.alias,
            format="table" if target.table else "time_series",
            datasource=DATASOURCE,
            refId=chr(ord("A") + index),
        )
        for index, target in enumerate(targets)
    ]


def _steps(thresholds: Sequence[Threshold]) -> list[Json]:
    return [{"color": color, "value": value} for color, value in thresholds]


def time_series(
    title: str,
    targets: Sequence[Target],
    grid: core.GridPos,
    *,
    description: str,
    unit: str = "short",
    bars: bool = False,
    steps: bool = False,
    minimum_interval: str | None = None,
    max_data_points: int | None = None,
    time_shift: str | None = None,
) -> core.TimeSeries:
    """A time-series panel. ``minimum_interval`` and ``max_data_points`` fix ``$__interval``
    (range / points, rounded, at least the minimum) instead of leaving it to the panel's
    pixel width; ``time_shift`` moves the panel's range back (e.g. ``7d``)."""
    return core.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(targets),
        gridPos=grid,
        unit=unit,
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else 10,
        lineInterpolation="stepAfter" if steps else "linear",
        spanNulls=True,
        interval=minimum_interval,
        maxDataPoints=max_data_points,
        timeShift=time_shift,
        legendDisplayMode="table",
        legendPlacement="right",
        legendCalcs=["sum"] if bars else ["lastNotNull"],
        tooltipMode="multi",
        valueMin=0,
        thresholds=_steps(BASE_THRESHOLD),
    )


def stat(
    title: str,
    targets: Sequence[Target],
    grid: core.GridPos,
    *,
    description: str,
    unit: str = "none",
    thresholds: Sequence[Threshold] = (("blue", None),),
    reduce: str = "lastNotNull",
) -> core.Stat:
    """One big number per series (per store, per camera)."""
    return core.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(targets),
        gridPos=grid,
        format=unit,
        color={"mode": "thresholds"},
        reduceCalc=reduce,
        graphMode="none",
        colorMode="background",
        textMode="value_and_name",
        thresholds=_steps(thresholds),
        noValue="no data",
    )


def table(
    title: str,
    targets: Sequence[Target],
    grid: core.GridPos,
    *,
    description: str,
    sort_by: str | None = None,
    descending: bool = True,
    renamed: dict[str, str] | None = None,
    hidden: Sequence[str] = (),
    row_link: tuple[str, str] | None = None,
) -> core.Table:
    """A table of table-format queries, sorted by a column (Grafana sorts: InfluxQL orders
    by time only). ``renamed`` and ``hidden`` apply Grafana's ``organize`` transformation;
    ``sort_by`` names the column after renaming. ``row_link`` is a (title, URL) data link on
    every cell; the URL may use the row's values as ``${__data.fields.<column>}``."""
    transformations: list[Json] = []
    if renamed or hidden:
        transformations.append(
            {
                "id": "organize",
                "options": {
                    "excludeByName": {name: True for name in hidden},
                    "renameByName": dict(renamed or {}),
                },
            }
        )
    order = [core.TableSortByField(displayName=sort_by, desc=descending)] if sort_by else []
    return core.Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(targets),
        gridPos=grid,
        sortBy=order,
        transformations=transformations,
        thresholds=_steps(BASE_THRESHOLD),
        extraJson=_links(row_link),
    )


def _links(row_link: tuple[str, str] | None) -> Json | None:
    if row_link is None:
        return None
    title, url = row_link
    return {"fieldConfig": {"defaults": {"links": [{"title": title, "url": url}]}}}


def bar_chart(
    title: str,
    targets: Sequence[Target],
    grid: core.GridPos,
    *,
    description: str,
    x_field: str | None = None,
    transformations: Sequence[Json] = (),
) -> core.BarChart:
    """Bars over a category axis: unlike a time-series panel it shows every returned row,
    whatever the dashboard's time range (used for windows anchored on a policy date)."""
    options: Json = {"options": {"xField": x_field}} if x_field else {}
    return core.BarChart(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(targets),
        gridPos=grid,
        transformations=list(transformations),
        showValue="never",
        xTickLabelRotation=-45,
        extraJson=options or None,
    )


def query_variable(
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = True,
    hidden: bool = False,
) -> core.Template:
    """A variable filled by an InfluxQL query (``SHOW TAG VALUES`` or a one-field SELECT).
    Multi-value variables get an "All" option without a custom all value, so Grafana expands
    "All" to every value (``(a|b|c)`` in regex format)."""
    return core.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        multi=multi,
        includeAll=multi,
        default="$__all" if multi else None,
        refresh=core.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=core.SORT_ALPHA_ASC,
        hide=core.HIDE_VARIABLE if hidden else core.SHOW,
    )


def textbox_variable(name: str, label: str, default: str) -> core.Template:
    return core.Template(name=name, label=label, query=default, default=default, type="textbox")


def custom_variable(name: str, label: str, values: Sequence[str], default: str) -> core.Template:
    if default not in values:
        raise ValueError(f"default {default!r} of variable {name!r} is not one of {values}")
    return core.Template(
        name=name, label=label, query=",".join(values), default=default, type="custom"
    )


def annotation(name: str, query: str, *, text: str, tags: Sequence[str], colour: str) -> Json:
    """An InfluxQL annotation: each returned row becomes a marker at its time."""
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "query": query,
        "textColumn": text,
        "tagsColumn": ",".join(tags),
        "titleColumn": "",
    }


def dashboard_json(
    *,
    uid: str,
    title: str,
    description: str,
    panels: Sequence[core.Panel],
    variables: Sequence[core.Template],
    annotations: Sequence[Json] = (),
    time_from: str,
    refresh: str,
    timezone: str,
) -> Json:
    """The dashboard as plain JSON data. ``timezone`` is Grafana's display time zone: an IANA
    name, ``browser``, or UTC (written ``utc``, Grafana's spelling)."""
    built = core.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=["footfall"],
        panels=list(panels),
        templating=core.Templating(list=list(variables)),
        annotations=core.Annotations(list=list(annotations)),
        time=core.Time(time_from, "now"),
        refresh=refresh,
        timezone="utc" if timezone.upper() == "UTC" else timezone,
        graphTooltip=core.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=True,
    ).auto_panel_ids()
    data: Json = json.loads(json.dumps(built.to_json_data(), cls=DashboardEncoder))
    data["schemaVersion"] = SCHEMA_VERSION
    for variable in data["templating"]["list"]:
        _modernise(variable)
    return data


def _modernise(variable: Json) -> None:
    """Shape a grafanalib variable like one saved by Grafana 10/11: "All" selected as a
    list for multi-value variables, the text box's value as its only option."""
    if variable["type"] == "query":
        variable["definition"] = variable["query"]
        variable["regex"] = ""
    if variable["multi"]:
        variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    elif variable["type"] == "textbox":
        value = variable["query"]
        variable["current"] = {"selected": False, "text": value, "value": value}
        variable["options"] = [{"selected": True, "text": value, "value": value}]
    elif variable["type"] == "query":
        variable["current"] = {}
