"""Every panel target, annotation and template-variable query of every committed dashboard,
substituted with the dashboards' default variable values, runs on the real InfluxDB and
returns data for the seeded six weeks: no query is only "parsed"."""

from __future__ import annotations

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.panels import Json
from tests.dashboards import seed
from tests.dashboards.macros import TimeRange
from tests.dashboards.queries import iter_panels, queries_without_data, run_dashboard

SIX_WEEKS = seed.local_range(seed.FIRST_DAY, seed.LAST_DAY)
LAST_DAY = seed.local_range(seed.LAST_DAY, seed.LAST_DAY)


@pytest.mark.parametrize(
    ("name", "time_range"),
    [
        ("live-occupancy.json", LAST_DAY),
        ("footfall.json", SIX_WEEKS),
        ("policy-impact.json", SIX_WEEKS),
        ("edge-health.json", LAST_DAY),
    ],
)
def test_every_query_returns_data(
    seeded_influx: InfluxClient, committed: dict[str, Json], name: str, time_range: TimeRange
) -> None:
    dashboard = committed[name]
    results = run_dashboard(seeded_influx, dashboard, time_range)

    targets = sum(len(panel["targets"]) for panel in iter_panels(dashboard))
    annotations = len(dashboard["annotations"]["list"])
    variables = sum(1 for v in dashboard["templating"]["list"] if v["type"] == "query")
    sources = [result.query.source for result in results]
    assert sources.count("panel") == targets
    assert sources.count("annotation") == annotations
    assert sources.count("variable") == variables

    assert queries_without_data(results) == []
    for result in results:
        assert "$" not in result.query.statement.replace("$/", "/"), result.query.statement
