"""The Grafana alert rules (``dashboards/alert_rules.py``): the committed provisioning file is
current and well formed, and every rule's query runs on a real InfluxDB 1.6 with known data;
its result goes through the rule's expressions (reduce last, math, threshold with recovery)
evaluated here as Grafana defines them, and the numbers and the verdicts are asserted. The
visits rule is checked against the aggregator's own seasonal band on the same numbers."""

from __future__ import annotations

import json
import operator
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from aggregator.alert_settings import VisitsLowSettings
from aggregator.alerts.baseline import seasonal_band
from aggregator.storage.influx import InfluxClient
from aggregator.storage.points import health_point, interval_points, occupancy_point
from dashboards.alert_rules import (
    ALERTING,
    RULES_FILE,
    alert_rules_stale,
    build_alert_rules,
    camera_rule,
    capacity_rule,
    visits_rule,
)
from protocol.alerts import ALERT_KINDS
from protocol.messages import CameraHealth, CountInterval, LineCount
from tests.dashboards.macros import TimeRange

Json = dict[str, Any]
# A fixed evaluation time, 15 s into a 30 s bucket: the queries' ranges are substituted here,
# so nothing depends on the real clock.
EVALUATED = datetime(2026, 11, 23, 11, 0, 15, tzinfo=UTC)
DATASOURCES = Path(__file__).resolve().parents[2] / "dashboards" / "provisioning" / "datasources"
SCHEMAS = Path(__file__).resolve().parent / "grafana" / "schemas" / "main"
EXPRESSION_TYPES = {"reduce": "TypeReduce", "math": "TypeMath", "threshold": "TypeThreshold"}


def test_committed_rules_are_current() -> None:
    assert not alert_rules_stale(), "run `footfall dashboards build` and commit the result"
    committed = yaml.safe_load((ALERTING / RULES_FILE).read_text(encoding="utf-8"))
    assert committed == build_alert_rules()


def test_rules_are_well_formed() -> None:
    datasource_uids = {
        source["uid"]
        for path in DATASOURCES.glob("*.yaml")
        for source in yaml.safe_load(path.read_text())["datasources"]
    }
    rules = build_alert_rules()["groups"][0]["rules"]
    assert len({rule["uid"] for rule in rules}) == len(rules) == 3
    assert {rule["labels"]["footfall_alert"] for rule in rules} == set(ALERT_KINDS)
    for rule in rules:
        seen: list[str] = []
        for node in rule["data"]:
            model = node["model"]
            assert node["refId"] == model["refId"]
            if node["datasourceUid"] == "__expr__":
                named = re.findall(r"\$(\w+)", model["expression"]) or [model["expression"]]
                assert set(named) <= set(seen), (rule["uid"], model["refId"], named)
            else:
                assert node["datasourceUid"] in datasource_uids
                assert "$timeFilter" in model["query"]
            seen.append(node["refId"])
        assert rule["condition"] in seen


def schema(name: str, definition: str) -> jsonschema.Draft7Validator:
    document = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator({**document, "$ref": f"#/definitions/{definition}"})


def test_rules_match_grafanas_schemas() -> None:
    """Each rule against the SDK's ``Rule`` (with the group's folder, org and name, which the
    file format keeps on the group) and each expression against its ``expr`` type."""
    group = build_alert_rules()["groups"][0]
    rule_schema = schema("alerting", "Rule")
    for rule in group["rules"]:
        provisioned = {**rule, "folderUID": "footfall", "orgID": group["orgId"]}
        errors = list(rule_schema.iter_errors({**provisioned, "ruleGroup": group["name"]}))
        assert errors == [], [error.message for error in errors]
        for node in rule["data"]:
            if node["datasourceUid"] != "__expr__":
                continue
            model = node["model"]
            validator = schema("expr", EXPRESSION_TYPES[model["type"]])
            errors = list(validator.iter_errors(model))
            assert errors == [], (rule["uid"], model["refId"], [e.message for e in errors])


# -- evaluating a rule the way Grafana does ------------------------------------------------


def run_query(influx: InfluxClient, node: Json, tag_keys: tuple[str, ...]) -> dict[Any, float]:
    """The query over its relative range before ``EVALUATED``, reduced to the last non-null
    value of each series (reduce ``last``, mode ``dropNN``), by the series' tags."""
    relative = node["relativeTimeRange"]
    window = TimeRange(
        EVALUATED - timedelta(seconds=relative["from"]),
        EVALUATED - timedelta(seconds=relative["to"]),
    )
    statement = node["model"]["query"].replace("$timeFilter", window.time_filter())
    values = {}
    for series in influx.query(statement):
        numbers = [row[1] for row in series.values if row[1] is not None]
        if numbers:
            values[tuple(series.tags[key] for key in tag_keys)] = float(numbers[-1])
    return values


def math(expression: str, variables: dict[str, float]) -> float:
    """Grafana's math on numbers: ``$A``, + - * /, abs, comparisons, && (true = 1)."""
    python = re.sub(r"\$(\w+)", r"v['\1']", expression).replace("&&", " and ")
    return float(eval(python, {"__builtins__": {}, "abs": abs}, {"v": variables}))


def threshold(node: Json, value: float, firing: bool) -> bool:
    """A threshold node with its recovery threshold: a firing series stays firing until the
    recovery condition holds."""
    condition = node["model"]["conditions"][0]
    tests = {"gt": operator.gt, "lt": operator.lt}
    fires = tests[condition["evaluator"]["type"]](value, condition["evaluator"]["params"][0])
    recover = condition.get("unloadEvaluator")
    if firing and recover is not None:
        return not tests[recover["type"]](value, recover["params"][0])
    return bool(fires)


def nodes(rule: Json) -> dict[str, Json]:
    return {node["refId"]: node for node in rule["data"]}


# -- the rules on real InfluxDB ------------------------------------------------------------


def test_capacity_rule(influx: InfluxClient) -> None:
    changes: dict[str, list[tuple[int, int | None]]] = {  # (occupancy, capacity), oldest first
        "over": [(5, 10), (12, 10)],
        "at": [(11, 10), (10, 10)],
        "near": [(9, 10)],
        "cleared": [(12, 10), (8, 10)],
        "no-capacity": [(50, None)],
    }
    points = [
        occupancy_point(
            store,
            EVALUATED - timedelta(minutes=30 - index),
            occupancy=occupancy,
            entries_today=occupancy,
            exits_today=0,
            over_capacity=capacity is not None and occupancy > capacity,
            drift=0,
            reset_residual=0,
            capacity=capacity,
        )
        for store, history in changes.items()
        for index, (occupancy, capacity) in enumerate(history)
    ]
    influx.write(points)
    rule = nodes(capacity_rule())
    over_by = run_query(influx, rule["A"], ("store",))
    assert over_by == {("over",): 2.0, ("at",): 0.0, ("near",): -1.0, ("cleared",): -2.0}
    verdicts = {store: threshold(rule["C"], value, False) for (store,), value in over_by.items()}
    assert verdicts == {"over": True, "at": False, "near": False, "cleared": False}
    # Recovery threshold: a firing store stays firing at capacity - 1, recovers at - 2.
    assert threshold(rule["C"], over_by[("near",)], True) is True
    assert threshold(rule["C"], over_by[("cleared",)], True) is False


def health(camera: str, moment: datetime) -> CameraHealth:
    return CameraHealth(
        store_id="shop-1",
        camera_id=camera,
        time_utc=moment,
        source_state="streaming",
        frames_per_second=10.0,
        frames_processed=100,
        frames_dropped=0,
        detector_milliseconds=50.0,
        outbox_depth=0,
        outbox_bytes=0,
        software_version="test",
    )


def test_camera_rule(influx: InfluxClient) -> None:
    """Buckets of 30 s; the last four span 10:58:30 to 11:00:15 (the last one partial).
    ``door`` reports every 30 s up to 10 s ago (4 in the window), ``side`` stopped 110 s ago
    (none: silent), ``back`` reported once, 100 s ago (one in four buckets)."""
    reports = {
        "door": [EVALUATED - timedelta(seconds=10 + 30 * k) for k in range(40)],
        "side": [EVALUATED - timedelta(seconds=110 + 30 * k) for k in range(40)],
        "back": [EVALUATED - timedelta(seconds=100 + 600 * k) for k in range(3)],
    }
    influx.write(
        [
            health_point(health(camera, moment), moment)
            for camera, moments in reports.items()
            for moment in moments
        ]
    )
    rule = nodes(camera_rule())
    reports_per_bucket = run_query(influx, rule["A"], ("store", "camera"))
    assert reports_per_bucket == {
        ("shop-1", "door"): 1.0,
        ("shop-1", "side"): 0.0,
        ("shop-1", "back"): 0.25,
    }
    silent = {
        camera
        for (_, camera), value in reports_per_bucket.items()
        if threshold(rule["C"], value, False)
    }
    assert silent == {"side"}


VISITS = {  # store: (the last hour, then the same hour 1, 2, 3 and 4 weeks earlier)
    "low": (40, 100, 110, 90, 120),  # median 105, MAD 10: below 60.52
    "normal": (95, 100, 100, 100, 100),  # MAD 0: the floor sqrt(100) keeps 95 normal (> 70)
    "closure-week": (30, 100, 104, 96, 0),  # median 98, MAD 4, floor sqrt(98): below 68.30
    "quiet": (2, 10, 12, 8, 11),  # usual below 20: not judged
    "just-above": (61, 100, 110, 90, 120),  # 61 > 60.52
}


def visits_interval(store: str, start: datetime, entries: int, sequence: int) -> CountInterval:
    return CountInterval(
        store_id=store,
        camera_id="entrance",
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={
            "door": LineCount(entries=entries, exits=0),
            "staff": LineCount(entries=50, exits=0),
        },
        software_version="test",
        config_fingerprint="0123abcd",
    )


def test_visits_rule(influx: InfluxClient) -> None:
    """Each window's visits are two intervals inside the hour that ends 5 minutes before the
    evaluation (one at its first minute), the same hour 1-4 weeks earlier; the staff line is
    no entrance and is not counted."""
    points = []
    for store, figures in VISITS.items():
        for week, visits in enumerate(figures):
            hour_start = EVALUATED - timedelta(weeks=week, seconds=3900)
            for minute, entries in ((0, visits // 2), (30, visits - visits // 2)):
                message = visits_interval(
                    store, hour_start + timedelta(minutes=minute), entries, week * 2 + minute
                )
                points += interval_points(message, {"door"})
    influx.write(points)
    rule = nodes(visits_rule())
    weeks = ["A", "W1", "W2", "W3", "W4"]
    by_query = {ref: run_query(influx, rule[ref], ("store",)) for ref in weeks}
    for store, figures in VISITS.items():
        assert tuple(by_query[ref][(store,)] for ref in weeks) == figures
    verdicts = {}
    settings = VisitsLowSettings()
    for store, figures in VISITS.items():
        variables = {"VISITS": float(figures[0])}
        variables |= {
            f"R{ref}": float(value) for ref, value in zip(weeks[1:], figures[1:], strict=True)
        }
        variables["MEDIAN"] = math(rule["MEDIAN"]["model"]["expression"], variables)
        variables["MAD"] = math(rule["MAD"]["model"]["expression"], variables)
        verdicts[store] = bool(math(rule["LOW"]["model"]["expression"], variables))
        band = seasonal_band(list(figures[1:]), settings)
        aggregator_says_low = band is not None and figures[0] < band.threshold
        assert verdicts[store] == aggregator_says_low, store
        if band is not None:
            assert variables["MEDIAN"] == band.median
    assert verdicts == {
        "low": True,
        "normal": False,
        "closure-week": True,
        "quiet": False,
        "just-above": False,
    }
    assert (
        math(
            rule["MAD"]["model"]["expression"],
            {"RW1": 100, "RW2": 110, "RW3": 90, "RW4": 120, "MEDIAN": 105},
        )
        == 10
    )
