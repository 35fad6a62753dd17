"""Grafana alert rules as code: the same three alerts as the aggregator's (``aggregator.alerts``),
for teams that route alerts through Grafana. Rendered deterministically into
``provisioning/alerting/footfall-alerts.yaml``, Grafana's file-provisioning format (mount the
directory as ``/etc/grafana/provisioning/alerting``); ``footfall dashboards build --check``
fails when the committed file is stale.

Each rule is queries on the ``footfall-influxdb`` datasource, then server-side expressions
(reduce, math, threshold); the names come from :mod:`aggregator.storage.measurements` and the
numbers from the aggregator's alert defaults, so the two agree:

- **over capacity**: last occupancy − capacity per store > 0; recovers (Grafana's recovery
  threshold) at capacity − ``capacity_clear_margin`` or below.
- **entrance camera silent**: health reports per camera in 30 s buckets (``fill(0)``), the
  moving average of the last 4 buckets = 0: no report for 90–120 s. A dead device's Last
  Will stops its health, so this covers "offline" too, a minute or two later than the
  aggregator (which hears the Will at once). Grafana cannot read the store registry: every
  camera that reported in the last day counts.
- **visits far below the usual**: visits of the last hour (ending 5 minutes ago: counts arrive
  once a minute) against the same hour 1–4 weeks earlier, fired when they are below
  median − 3 × max(1.4826 × MAD, √median) and the median is at least 20 — the aggregator's
  rule over a rolling hour. Median and MAD of four numbers are sums minus the smallest and the
  largest, which Grafana's math builds from ``abs`` (max(x, y) = (x + y + |x − y|) / 2); √ is
  avoided by comparing squares. A store needs all four weeks (Grafana joins series by label).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aggregator.alert_settings import AlertSettings
from aggregator.alerts.baseline import MAD_TO_STANDARD_DEVIATION
from dashboards.influxql import (
    EDGE_HEALTH,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    STORE_OCCUPANCY,
    EdgeHealthField,
    LineCountsField,
    StoreOccupancyField,
    Tag,
)

Json = dict[str, Any]

ALERTING = Path(__file__).resolve().parent / "provisioning" / "alerting"
RULES_FILE = "footfall-alerts.yaml"
DATASOURCE_UID = "footfall-influxdb"
EXPRESSION_UID = "__expr__"
FOLDER = "Footfall"
GROUP = "footfall"
EVALUATE_EVERY = "1m"
DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
HEALTH_BUCKET = "30s"
SILENT_BUCKETS = 4
VISITS_LAG_SECONDS = 300
"""The visits hour ends this long before the evaluation: the last minutes' counts may not
have arrived."""

DEFAULTS = AlertSettings()
CAPACITY_CLEAR_MARGIN = DEFAULTS.capacity_clear_margin
VISITS_WEEKS = 4
MAD_MULTIPLIER = DEFAULTS.visits_low.mad_multiplier
MINIMUM_MEDIAN_VISITS = DEFAULTS.visits_low.minimum_median_visits

CAPACITY_QUERY = (
    f'SELECT last("{StoreOccupancyField.OCCUPANCY}") - last("{StoreOccupancyField.CAPACITY}") '
    f'AS "over_capacity_by" FROM "{STORE_OCCUPANCY}" WHERE $timeFilter GROUP BY "{Tag.STORE}"'
)
CAMERA_QUERY = (
    f'SELECT moving_average(count("{EdgeHealthField.FRAMES_PROCESSED}"), {SILENT_BUCKETS}) '
    f'AS "reports" FROM "{EDGE_HEALTH}" WHERE $timeFilter '
    f'GROUP BY time({HEALTH_BUCKET}), "{Tag.STORE}", "{Tag.CAMERA}" fill(0)'
)
VISITS_QUERY = (
    f'SELECT sum("{LineCountsField.ENTRIES}") AS "visits" FROM "{LINE_COUNTS}" '
    f'WHERE "{Tag.ENTRANCE}" = \'{ENTRANCE_TRUE}\' AND $timeFilter GROUP BY "{Tag.STORE}"'
)


def _query(ref: str, statement: str, from_seconds: int, to_seconds: int = 0) -> Json:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": from_seconds, "to": to_seconds},
        "datasourceUid": DATASOURCE_UID,
        "model": {
            "refId": ref,
            "query": statement,
            "rawQuery": True,
            "resultFormat": "time_series",
            "intervalMs": 1000,
            "maxDataPoints": 43200,
        },
    }


def _expression(ref: str, model: Json) -> Json:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": EXPRESSION_UID,
        "model": {"refId": ref, "datasource": {"type": "__expr__", "uid": EXPRESSION_UID}, **model},
    }


def _last(ref: str, source: str) -> Json:
    return _expression(
        ref,
        {"type": "reduce", "expression": source, "reducer": "last", "settings": {"mode": "dropNN"}},
    )


def _math(ref: str, expression: str) -> Json:
    return _expression(ref, {"type": "math", "expression": expression})


def _threshold(ref: str, source: str, fire: Json, recover: Json | None = None) -> Json:
    condition: Json = {"evaluator": fire}
    if recover is not None:
        condition["unloadEvaluator"] = recover
    return _expression(ref, {"type": "threshold", "expression": source, "conditions": [condition]})


def _max(x: str, y: str) -> str:
    return f"(({x}) + ({y}) + abs(({x}) - ({y}))) / 2"


def _min(x: str, y: str) -> str:
    return f"(({x}) + ({y}) - abs(({x}) - ({y}))) / 2"


def median_of_four(a: str, b: str, c: str, d: str) -> str:
    """The median of four numbers in Grafana's math: (sum − smallest − largest) / 2."""
    largest = _max(_max(a, b), _max(c, d))
    smallest = _min(_min(a, b), _min(c, d))
    return f"(({a}) + ({b}) + ({c}) + ({d}) - ({largest}) - ({smallest})) / 2"


def _rule(uid: str, title: str, kind: str, condition: str, data: list[Json], **extra: Any) -> Json:
    return {
        "uid": uid,
        "title": title,
        "condition": condition,
        "data": data,
        "noDataState": extra.pop("no_data", "OK"),
        "execErrState": "Error",
        "for": extra.pop("pending", "0s"),
        "annotations": extra.pop("annotations"),
        "labels": {"footfall_alert": kind},
        "isPaused": False,
    }


def capacity_rule() -> Json:
    recover_below = -(CAPACITY_CLEAR_MARGIN - 1)  # over_by < -(m-1): at capacity - m or fewer
    return _rule(
        "footfall-over-capacity",
        "Store over capacity",
        "over_capacity",
        "C",
        [
            _query("A", CAPACITY_QUERY, DAY_SECONDS),
            _last("B", "A"),
            _threshold(
                "C", "B", {"type": "gt", "params": [0]}, {"type": "lt", "params": [recover_below]}
            ),
        ],
        annotations={
            "summary": "{{ $labels.store }}: {{ $values.B }} people over capacity",
            "description": (
                f"Occupancy is above the store's capacity; resolves at capacity − "
                f"{CAPACITY_CLEAR_MARGIN} or fewer people inside."
            ),
        },
    )


def camera_rule() -> Json:
    silent_seconds = 30 * (SILENT_BUCKETS - 1)
    return _rule(
        "footfall-camera-silent",
        "Camera silent or offline",
        "camera_offline",
        "C",
        [
            _query("A", CAMERA_QUERY, DAY_SECONDS),
            _last("B", "A"),
            _threshold("C", "B", {"type": "lt", "params": [1 / SILENT_BUCKETS]}),
        ],
        no_data="NoData",
        annotations={
            "summary": "{{ $labels.store }} / {{ $labels.camera }}: no health report",
            "description": (
                f"No health report for at least {silent_seconds} s (a dead device's Last Will "
                "stops its reports too): occupancy is not being counted from this camera."
            ),
        },
    )


def visits_rule() -> Json:
    lag, hour = VISITS_LAG_SECONDS, 3600
    weeks = [f"W{week}" for week in range(1, VISITS_WEEKS + 1)]
    data = [_query("A", VISITS_QUERY, hour + lag, lag)]
    data += [
        _query(ref, VISITS_QUERY, week * WEEK_SECONDS + hour + lag, week * WEEK_SECONDS + lag)
        for week, ref in enumerate(weeks, start=1)
    ]
    data += [_last("VISITS", "A")] + [_last(f"R{ref}", ref) for ref in weeks]
    history = [f"$R{ref}" for ref in weeks]
    data.append(_math("MEDIAN", median_of_four(*history)))
    deviations = [f"abs({value} - $MEDIAN)" for value in history]
    data.append(_math("MAD", median_of_four(*deviations)))
    gap = "($MEDIAN - $VISITS)"
    k = MAD_MULTIPLIER
    low = (
        f"({gap} > {k * MAD_TO_STANDARD_DEVIATION:.6g} * $MAD) && ({gap} > 0) && "
        f"({gap} * {gap} > {k * k:g} * $MEDIAN) && ($MEDIAN >= {MINIMUM_MEDIAN_VISITS:g})"
    )
    data.append(_math("LOW", low))
    return _rule(
        "footfall-visits-low",
        "Visits far below the usual",
        "visits_low",
        "LOW",
        data,
        annotations={
            "summary": (
                "{{ $labels.store }}: {{ $values.VISITS }} visits in the last hour, usual "
                "{{ $values.MEDIAN }}"
            ),
            "description": (
                f"Visits of the last hour (to {lag // 60} minutes ago) are below median − "
                f"{k:g} × max(1.4826 × MAD, √median) of the same hour in the previous "
                f"{VISITS_WEEKS} weeks."
            ),
        },
    )


def build_alert_rules() -> Json:
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER,
                "interval": EVALUATE_EVERY,
                "rules": [capacity_rule(), camera_rule(), visits_rule()],
            }
        ],
    }


HEADER = """\
# Grafana alert rules for footfall, generated by dashboards/alert_rules.py: do not edit, run
# `footfall dashboards build`. Mount this directory as /etc/grafana/provisioning/alerting;
# the rules query the datasource with uid "footfall-influxdb" (provisioning/datasources).
"""


def render_alert_rules() -> str:
    return HEADER + yaml.safe_dump(
        build_alert_rules(), sort_keys=False, width=100, allow_unicode=True
    )


def write_alert_rules(directory: Path = ALERTING) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RULES_FILE
    path.write_text(render_alert_rules(), encoding="utf-8")
    return path


def alert_rules_stale(directory: Path = ALERTING) -> bool:
    path = directory / RULES_FILE
    return not path.is_file() or path.read_text(encoding="utf-8") != render_alert_rules()
