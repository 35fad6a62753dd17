"""Every generated dashboard is valid for Grafana 10.4, 11.6 and 12 by Grafana's own published
JSON schemas (``tests/dashboards/grafana/schemas``): no legacy or misspelt key, no ``null``
where Grafana wants a value or no key, every panel's options and field config as its panel
plugin defines them."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dashboards.build import build_dashboards
from dashboards.panels import Json
from tests.dashboards.grafana_schema import VERSIONS, schema_errors

DASHBOARDS = ("live-occupancy.json", "footfall.json", "policy-impact.json", "edge-health.json")
BASE_THRESHOLD = re.compile(r"thresholds/steps/0/value$|/value/steps/0/value$")


def nulls(node: Any, path: str = "") -> Iterator[str]:
    if node is None:
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from nulls(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nulls(value, f"{path}/{index}")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_is_valid_for_grafana(
    committed: dict[str, Json], name: str, version: str
) -> None:
    assert schema_errors(committed[name], version) == []


def test_a_build_for_another_zone_is_valid_too() -> None:
    for name, dashboard in build_dashboards("Asia/Kolkata").items():
        for version in VERSIONS:
            assert schema_errors(dashboard, version) == [], name


def test_the_only_nulls_are_base_thresholds(committed: dict[str, Json]) -> None:
    """Grafana writes a threshold's -infinity base as null; nothing else is null."""
    for name, dashboard in committed.items():
        assert [path for path in nulls(dashboard) if not BASE_THRESHOLD.search(path)] == [], name


def test_the_schemas_catch_what_grafanalib_wrote(committed: dict[str, Json]) -> None:
    """The check is strict: keys grafanalib used to write (legacy rows and spans, top-level
    annotation columns, nulls for absent settings) each fail it."""
    dashboard = copy.deepcopy(committed["footfall.json"])
    dashboard["rows"] = []
    dashboard["panels"][0]["span"] = 12
    dashboard["panels"][0]["cacheTimeout"] = None
    annotation = dashboard["annotations"]["list"][0]
    annotation["query"] = annotation["target"]["query"]
    for version in VERSIONS:
        errors = "\n".join(schema_errors(dashboard, version))
        assert "'rows' was unexpected" in errors
        assert "'span' was unexpected" in errors
        assert "None is not of type 'string'" in errors
        assert "'query' was unexpected" in errors
