"""Panel builders that write Grafana's panel JSON directly, with the project's defaults: one
InfluxDB datasource (by uid), raw InfluxQL targets, explicit grid positions, no key Grafana's
schema does not define and no ``null`` except a base threshold's -infinity.
``tests/dashboards/test_grafana_schema.py`` validates the output against Grafana's published
dashboard and panel schemas (10.4, 11.6, 12); variables, annotations and the dashboard itself
are built in ``document.py``.

Why plain JSON rather than a library (measured, docs/dashboards.md): grafanalib 0.7.1 wrote
379 ``null``s and 23 keys the schemas reject; grafana-foundation-sdk has no InfluxDB query
type, must be pinned to its 10.4 build to stay valid on 10.4, and took 114 lines where plain
JSON took 92 for the same two panels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DATASOURCE_UID = "footfall-influxdb"
DATASOURCE_NAME = "footfall-influxdb"
DATASOURCE: dict[str, str] = {"type": "influxdb", "uid": DATASOURCE_UID}
FOLDER_UID = "footfall"
FOLDER_TITLE = "Footfall"
GRID_COLUMNS = 24

Json = dict[str, Any]
Threshold = tuple[str, float | None]
"""(colour, lower bound); the first step's bound is None (-infinity, written ``null``)."""
BASE_THRESHOLD: tuple[Threshold, ...] = (("green", None),)
DAY_LABEL_FORMAT = "YYYY-MM-DD"
"""Bar labels of daily and weekly bar charts: the local date of the bucket start."""


@dataclass(frozen=True)
class Target:
    """One raw InfluxQL query of a panel. ``table`` asks Grafana for a table frame (tags as
    columns) instead of one time series per group; ``alias`` names time series
    (``$tag_store``)."""

    query: str
    alias: str = ""
    table: bool = False


@dataclass(frozen=True)
class ValueText:
    """A value mapping: ``value`` shown as ``text`` in ``colour``."""

    value: str
    text: str
    colour: str


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new row."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_height = 0

    def place(self, width: int, height: int) -> Json:
        if not 1 <= width <= GRID_COLUMNS:
            raise ValueError(f"panel width {width} is outside 1..{GRID_COLUMNS} grid columns")
        if self.x + width > GRID_COLUMNS:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        position = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.x += width
        self.row_height = max(self.row_height, height)
        return position


def _targets(targets: Sequence[Target]) -> list[Json]:
    if not targets:
        raise ValueError("a panel needs at least one query")
    built = []
    for index, target in enumerate(targets):
        query: Json = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "query": target.query,
            "rawQuery": True,
            "resultFormat": "table" if target.table else "time_series",
        }
        if target.alias:
            query["alias"] = target.alias
        built.append(query)
    return built


def thresholds_json(steps: Sequence[Threshold]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": colour, "value": value} for colour, value in steps],
    }


def _mappings(values: Sequence[ValueText]) -> list[Json]:
    if not values:
        return []
    options = {
        item.value: {"text": item.text, "color": item.colour, "index": index}
        for index, item in enumerate(values)
    }
    return [{"type": "value", "options": options}]


def field_defaults(
    *,
    unit: str = "short",
    thresholds: Sequence[Threshold] = BASE_THRESHOLD,
    minimum: float | None = None,
    decimals: int | None = None,
    mappings: Sequence[ValueText] = (),
    custom: Json | None = None,
) -> Json:
    """``fieldConfig.defaults`` of a panel: unit, thresholds, value mappings, axis minimum."""
    defaults: Json = {
        "unit": unit,
        "thresholds": thresholds_json(thresholds),
        "color": {"mode": "thresholds" if len(thresholds) > 1 else "palette-classic"},
        "mappings": _mappings(mappings),
    }
    if minimum is not None:
        defaults["min"] = minimum
    if decimals is not None:
        defaults["decimals"] = decimals
    if custom:
        defaults["custom"] = custom
    return defaults


def override(field_name: str, **properties: Any) -> Json:
    """Field properties for one column (``unit``, ``custom.cellOptions``, ...)."""
    return {
        "matcher": {"id": "byName", "options": field_name},
        "properties": [{"id": key, "value": value} for key, value in properties.items()],
    }


def threshold_column(
    field_name: str,
    steps: Sequence[Threshold],
    *,
    unit: str,
    decimals: int,
    cell: str = "color-text",
) -> Json:
    """A table column coloured by thresholds (``cell``: ``color-text`` or
    ``color-background``). The colour mode must say so: the panel's default colour comes
    from the palette, which ignores thresholds."""
    return override(
        field_name,
        unit=unit,
        decimals=decimals,
        thresholds=thresholds_json(steps),
        color={"mode": "thresholds"},
        **{"custom.cellOptions": {"type": cell}},
    )


def _panel(
    kind: str,
    title: str,
    description: str,
    targets: Sequence[Target],
    grid: Json,
    *,
    defaults: Json,
    options: Json,
    overrides: Sequence[Json] = (),
    transformations: Sequence[Json] = (),
) -> Json:
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "targets": _targets(targets),
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options,
    }
    if transformations:
        panel["transformations"] = list(transformations)
    return panel


def _legend(calcs: Sequence[str]) -> Json:
    return {"showLegend": True, "displayMode": "table", "placement": "right", "calcs": list(calcs)}


_TOOLTIP: Json = {"mode": "multi", "sort": "desc"}


def time_series(
    title: str,
    targets: Sequence[Target],
    grid: Json,
    *,
    description: str,
    unit: str = "short",
    bars: bool = False,
    steps: bool = False,
    minimum: float | None = 0,
    mappings: Sequence[ValueText] = (),
    minimum_interval: str | None = None,
    max_data_points: int | None = None,
    time_shift: str | None = None,
) -> Json:
    """A time-series panel. Bars are stacked (one bar per bucket whatever the number of
    stores) and drawn from the bucket's start to its end (``barAlignment: 1``), not centred
    on the start. Missing values are gaps (``spanNulls: false``): a silent camera is not a
    line. ``minimum_interval`` and ``max_data_points`` fix ``$__interval`` (range / points,
    rounded, at least the minimum) instead of leaving it to the panel's pixel width;
    ``time_shift`` moves the panel's range back (e.g. ``7d``)."""
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 70 if bars else 10,
        "lineWidth": 1,
        "lineInterpolation": "stepAfter" if steps else "linear",
        "barAlignment": 1,
        "spanNulls": False,
        "showPoints": "never",
        "stacking": {"mode": "normal" if bars else "none", "group": "A"},
    }
    panel = _panel(
        "timeseries",
        title,
        description,
        targets,
        grid,
        defaults=field_defaults(unit=unit, minimum=minimum, mappings=mappings, custom=custom),
        options={"legend": _legend(["sum"] if bars else ["lastNotNull"]), "tooltip": _TOOLTIP},
    )
    if minimum_interval:
        panel["interval"] = minimum_interval
    if max_data_points:
        panel["maxDataPoints"] = max_data_points
    if time_shift:
        panel["timeShift"] = time_shift
    return panel


def stat(
    title: str,
    targets: Sequence[Target],
    grid: Json,
    *,
    description: str,
    unit: str = "none",
    thresholds: Sequence[Threshold] = (("blue", None),),
    decimals: int | None = None,
) -> Json:
    """One big number per series (per store, per camera): the last non-null value."""
    return _panel(
        "stat",
        title,
        description,
        targets,
        grid,
        defaults={**field_defaults(unit=unit, thresholds=thresholds, decimals=decimals)}
        | {"color": {"mode": "thresholds"}, "noValue": "no data"},
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "graphMode": "none",
            "colorMode": "background",
            "justifyMode": "auto",
            "textMode": "value_and_name",
            "wideLayout": True,
            "showPercentChange": False,
            "orientation": "auto",
        },
    )


def table(
    title: str,
    targets: Sequence[Target],
    grid: Json,
    *,
    description: str,
    columns: Sequence[str],
    sort_by: str | None = None,
    descending: bool = True,
    renamed: Mapping[str, str] | None = None,
    hidden: Sequence[str] = (),
    overrides: Sequence[Json] = (),
    row_link: tuple[str, str] | None = None,
) -> Json:
    """A table of table-format queries. ``columns`` fixes the column order (Grafana's
    ``organize`` transformation): InfluxDB's tags reach Grafana in the server's map order,
    which can change between refreshes. ``renamed`` and ``hidden`` apply in the same step;
    ``sort_by`` names a column after renaming (Grafana sorts: InfluxQL orders by time only).
    ``row_link`` is a (title, URL) data link on every cell; the URL may use the row's values
    as ``${__data.fields.<column>:percentencode}``."""
    organize = {
        "id": "organize",
        "options": {
            "indexByName": {name: index for index, name in enumerate(columns)},
            "excludeByName": {name: True for name in hidden},
            "renameByName": dict(renamed or {}),
        },
    }
    defaults = field_defaults(custom={"align": "auto"})
    if row_link is not None:
        link_title, url = row_link
        # Grafana reads title and url; type, icon, tooltip and tags are what the dashboard
        # schema requires of every link.
        link = {"title": link_title, "url": url, "type": "link", "icon": "", "tooltip": ""}
        defaults["links"] = [{**link, "tags": []}]
    options: Json = {"showHeader": True, "cellHeight": "sm", "frameIndex": 0}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": descending}]
    return _panel(
        "table",
        title,
        description,
        targets,
        grid,
        defaults=defaults,
        options=options,
        overrides=overrides,
        transformations=[organize],
    )


def bar_chart(
    title: str,
    targets: Sequence[Target],
    grid: Json,
    *,
    description: str,
    x_field: str,
    transformations: Sequence[Json],
    unit: str = "short",
) -> Json:
    """Bars over a category axis, one group per category with a bar per series side by side:
    unlike a time-series panel it shows every returned row whatever the dashboard's time
    range, and labels each bar with its category (a local date, a day number)."""
    return _panel(
        "barchart",
        title,
        description,
        targets,
        grid,
        defaults=field_defaults(
            unit=unit, minimum=0, custom={"fillOpacity": 80, "lineWidth": 1, "axisSoftMin": 0}
        ),
        options={
            "xField": x_field,
            "orientation": "vertical",
            "xTickLabelRotation": -45,
            "xTickLabelMaxLength": 12,
            "xTickLabelSpacing": 0,
            "stacking": "none",
            "showValue": "never",
            "barWidth": 0.9,
            "groupWidth": 0.8,
            "fullHighlight": False,
            "legend": _legend(["sum"]),
            "tooltip": _TOOLTIP,
        },
        transformations=transformations,
    )


def day_labels(timezone: str, time_field: str = "Time") -> tuple[Json, ...]:
    """Transformations for daily bars from one time series per store: join the series on
    their bucket start (one row per day, one column per store), then write each start as its
    date in ``timezone`` (the zone of the query's ``tz()``), so a day is one labelled bar.
    ``timezone`` must also be the dashboard's display zone: Grafana versions whose
    ``formatTime`` has no ``timezone`` option format in the display zone (``useTimezone``)."""
    return (
        {"id": "joinByField", "options": {"byField": time_field, "mode": "outer"}},
        {
            "id": "formatTime",
            "options": {
                "timeField": time_field,
                "outputFormat": DAY_LABEL_FORMAT,
                "useTimezone": True,
                "timezone": timezone,
            },
        },
    )
