"""Edge health: for operators. Per camera: connection status, last health report (last seen),
frames per second, dropped frames, outbox depth (counts waiting to be delivered), time since
the last successful publish, detector latency and duty cycle.

Status and last-seen tables read the last value ever written (no time filter), so a camera
that went silent a week ago still shows when it was last seen. ``frames_dropped`` is a counter
since the worker started; charts show its increase per interval (a restart resets it, and that
interval shows no value).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards import influxql
from dashboards.document import dashboard_json, query_variable
from dashboards.influxql import EdgeHealthField, EdgeStatusField, Tag
from dashboards.panels import (
    Json,
    Layout,
    Target,
    ValueText,
    field_defaults,
    override,
    table,
    time_series,
)

UID = "footfall-edge-health"
MAX_DATA_POINTS = 360
MINIMUM_INTERVAL = "1m"
"""Health reports arrive at most every few seconds; 1 min is the finest chart resolution."""

STATES = (ValueText("online", "online", "green"), ValueText("offline", "offline", "red"))
NEVER_PUBLISHED = (ValueText("-1", "never", "red"),)
"""``seconds_since_publish`` is -1 when the worker has not published since it started."""

_SELECTED = f"{influxql.matches(Tag.STORE, 'store')} AND {influxql.matches(Tag.CAMERA, 'camera')}"
_PER_CAMERA = influxql.quoted(Tag.STORE, Tag.CAMERA)
_LAST_REPORT = f'last("{EdgeHealthField.FRAMES_PER_SECOND}") AS "frames_per_second", ' + (
    influxql.quoted(
        EdgeHealthField.FRAMES_DROPPED,
        EdgeHealthField.OUTBOX_DEPTH,
        EdgeHealthField.SECONDS_SINCE_PUBLISH,
        EdgeHealthField.SOURCE_STATE,
    )
)
"""The latest report: ``last()`` picks the row, the other fields come from the same row."""


def per_interval(selection: str, measurement: str = influxql.EDGE_HEALTH) -> str:
    """``selection`` per ``$__interval`` and camera over the dashboard's range; an interval
    without reports is null, drawn as a gap (``spanNulls: false``)."""
    return (
        f'SELECT {selection} FROM "{measurement}" WHERE {_SELECTED} AND $timeFilter '
        f"GROUP BY time($__interval), {_PER_CAMERA} fill(null)"
    )


def _mapped(column: str, mappings: tuple[ValueText, ...], **properties: object) -> Json:
    """Column ``column`` shown through value mappings, its cell coloured by them."""
    return override(
        column,
        mappings=field_defaults(mappings=mappings)["mappings"],
        **{"custom.cellOptions": {"type": "color-text"}},
        **properties,
    )


def _tables(layout: Layout) -> list[Json]:
    status = table(
        "Status",
        [
            Target(
                f'SELECT last("{EdgeStatusField.STATE}") AS "state", "{EdgeStatusField.ONLINE}" '
                f'FROM "{influxql.EDGE_STATUS}" WHERE {_SELECTED} GROUP BY {_PER_CAMERA}',
                table=True,
            )
        ],
        layout.place(10, 8),
        description="Connection state per camera (online on connect, offline from the MQTT "
        "last will) and when it last changed.",
        columns=(Tag.STORE, Tag.CAMERA, "state", EdgeStatusField.ONLINE, "Time"),
        sort_by="state",
        descending=False,
        renamed={"Time": "since"},
        overrides=[_mapped("state", STATES)],
    )
    last_seen = table(
        "Last health report",
        [
            Target(
                f"SELECT {_LAST_REPORT} "
                f'FROM "{influxql.EDGE_HEALTH}" WHERE {_SELECTED} GROUP BY {_PER_CAMERA}',
                table=True,
            )
        ],
        layout.place(14, 8),
        description="The latest health report per camera; its time is when the camera was "
        "last seen. Oldest first.",
        columns=(
            Tag.STORE,
            Tag.CAMERA,
            "Time",
            EdgeHealthField.SOURCE_STATE,
            "frames_per_second",
            EdgeHealthField.FRAMES_DROPPED,
            EdgeHealthField.OUTBOX_DEPTH,
            EdgeHealthField.SECONDS_SINCE_PUBLISH,
        ),
        sort_by="last seen",
        descending=False,
        renamed={"Time": "last seen"},
        overrides=[_mapped(EdgeHealthField.SECONDS_SINCE_PUBLISH, NEVER_PUBLISHED, unit="s")],
    )
    return [status, last_seen]


@dataclass(frozen=True)
class Chart:
    title: str
    selection: str
    description: str
    unit: str
    minimum: float | None = 0
    mappings: tuple[ValueText, ...] = ()


CHARTS = (
    Chart(
        "Frames per second",
        f'mean("{EdgeHealthField.FRAMES_PER_SECOND}")',
        "Mean processing rate.",
        "fps",
    ),
    Chart(
        "Dropped frames",
        f'non_negative_difference(last("{EdgeHealthField.FRAMES_DROPPED}"))',
        "Frames captured but skipped because the detector was busy, per interval.",
        "short",
    ),
    Chart(
        "Outbox depth",
        f'max("{EdgeHealthField.OUTBOX_DEPTH}")',
        "Count intervals stored on the device and not yet confirmed by the broker.",
        "short",
    ),
    Chart(
        "Seconds since last publish",
        f'max("{EdgeHealthField.SECONDS_SINCE_PUBLISH}")',
        "Age of the last confirmed publish when the report was made (never: nothing "
        "published since the worker started).",
        "s",
        minimum=None,
        mappings=NEVER_PUBLISHED,
    ),
    Chart(
        "Detector latency",
        f'mean("{EdgeHealthField.DETECTOR_MILLISECONDS}")',
        "Mean detector time per frame.",
        "ms",
    ),
    Chart(
        "Detector duty cycle",
        f'mean("{EdgeHealthField.DETECTOR_DUTY_CYCLE}")',
        "Share of frames the detector ran on (motion gating skips frames where nothing moved "
        "in the regions of interest; 100%: every frame). Low at night, near 100% when busy.",
        "percentunit",
    ),
)


def _charts(layout: Layout) -> list[Json]:
    return [
        time_series(
            chart.title,
            [Target(per_interval(chart.selection), alias="$tag_store / $tag_camera")],
            layout.place(12, 7),
            description=f"{chart.description} A gap: no health report in that interval.",
            unit=chart.unit,
            minimum=chart.minimum,
            mappings=chart.mappings,
            minimum_interval=MINIMUM_INTERVAL,
            max_data_points=MAX_DATA_POINTS,
        )
        for chart in CHARTS
    ]


def build(timezone: str) -> Json:
    layout = Layout()
    return dashboard_json(
        uid=UID,
        title="Footfall · Edge health",
        description=__doc__ or "",
        panels=[*_tables(layout), *_charts(layout)],
        variables=[
            query_variable("store", "Store", influxql.tag_values(influxql.EDGE_HEALTH, Tag.STORE)),
            query_variable(
                "camera",
                "Camera",
                influxql.tag_values(
                    influxql.EDGE_HEALTH, Tag.CAMERA, influxql.matches(Tag.STORE, "store")
                ),
            ),
        ],
        time_from="now-6h",
        refresh="30s",
        timezone=timezone,
    )
