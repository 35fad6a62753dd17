"""Edge health: for operators. Per camera: connection status, last health report (last seen),
frames per second, dropped frames, outbox depth (counts waiting to be delivered), time since
the last successful publish, and detector latency.

Status and last-seen tables read the last value ever written (no time filter), so a camera
that went silent a week ago still shows when it was last seen. ``frames_dropped`` is a counter
since the worker started; charts show its increase per interval (a restart resets it, and that
interval shows no value).
"""

from __future__ import annotations

from grafanalib import core

from dashboards import influxql
from dashboards.panels import (
    Json,
    Layout,
    Target,
    dashboard_json,
    query_variable,
    table,
    time_series,
)

UID = "footfall-edge-health"
MAX_DATA_POINTS = 360
MINIMUM_INTERVAL = "1m"
"""Health reports arrive at most every few seconds; 1 min is the finest chart resolution."""

_SELECTED = f"{influxql.matches('store', 'store')} AND {influxql.matches('camera', 'camera')}"
_PER_CAMERA = '"store", "camera"'


def per_interval(selection: str, measurement: str = influxql.EDGE_HEALTH) -> str:
    """``selection`` per ``$__interval`` and camera over the dashboard's range."""
    return (
        f'SELECT {selection} FROM "{measurement}" WHERE {_SELECTED} AND $timeFilter '
        f"GROUP BY time($__interval), {_PER_CAMERA} fill(null)"
    )


def _tables(layout: Layout) -> list[core.Panel]:
    status = table(
        "Status",
        [
            Target(
                'SELECT last("state") AS "state", "online" '
                f'FROM "{influxql.EDGE_STATUS}" WHERE {_SELECTED} GROUP BY {_PER_CAMERA}',
                table=True,
            )
        ],
        layout.place(10, 8),
        description="Connection state per camera (online on connect, offline from the MQTT "
        "last will) and when it last changed.",
        sort_by="state",
        descending=False,
        renamed={"Time": "since"},
    )
    last_seen = table(
        "Last health report",
        [
            Target(
                'SELECT last("frames_per_second") AS "frames_per_second", "frames_dropped", '
                '"outbox_depth", "seconds_since_publish", "source_state" '
                f'FROM "{influxql.EDGE_HEALTH}" WHERE {_SELECTED} GROUP BY {_PER_CAMERA}',
                table=True,
            )
        ],
        layout.place(14, 8),
        description="The latest health report per camera; its time is when the camera was "
        "last seen. Oldest first.",
        sort_by="last seen",
        descending=False,
        renamed={"Time": "last seen"},
    )
    return [status, last_seen]


def _charts(layout: Layout) -> list[core.Panel]:
    charts = (
        ("Frames per second", 'mean("frames_per_second")', "Mean processing rate.", "short"),
        (
            "Dropped frames",
            'non_negative_difference(last("frames_dropped"))',
            "Frames captured but skipped because the detector was busy, per interval.",
            "short",
        ),
        (
            "Outbox depth",
            'max("outbox_depth")',
            "Count intervals stored on the device and not yet confirmed by the broker.",
            "short",
        ),
        (
            "Seconds since last publish",
            'max("seconds_since_publish")',
            "Age of the last confirmed publish when the report was made (-1: never).",
            "s",
        ),
        (
            "Detector latency",
            'mean("detector_milliseconds")',
            "Mean detector time per frame.",
            "ms",
        ),
    )
    return [
        time_series(
            title,
            [Target(per_interval(selection), alias="$tag_store / $tag_camera")],
            layout.place(12, 7),
            description=description,
            unit=unit,
            minimum_interval=MINIMUM_INTERVAL,
            max_data_points=MAX_DATA_POINTS,
        )
        for title, selection, description, unit in charts
    ]


def build(timezone: str) -> Json:
    layout = Layout()
    return dashboard_json(
        uid=UID,
        title="Footfall · Edge health",
        description=__doc__ or "",
        panels=[*_tables(layout), *_charts(layout)],
        variables=[
            query_variable("store", "Store", influxql.tag_values(influxql.EDGE_HEALTH, "store")),
            query_variable(
                "camera",
                "Camera",
                influxql.tag_values(
                    influxql.EDGE_HEALTH, "camera", influxql.matches("store", "store")
                ),
            ),
        ],
        time_from="now-6h",
        refresh="30s",
        timezone=timezone,
    )
