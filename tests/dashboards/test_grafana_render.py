"""The Grafana checker on all four dashboards: every panel's query results, shaped as Grafana's
InfluxDB backend returns them, go through the panel's transformations and display settings in
Grafana's own code (``@grafana/data`` in Node), and every annotation through the InfluxDB
plugin's parsing. Tables come out the same whatever order the server emits the tags in.

The last tests keep the two annotation defects of the grafanalib version as examples of what
the plugin's logic does: without a ``target`` the layer never runs; with ``policy`` among the
tag columns, every server-side column (``policy_changes.<column>``) becomes a tag."""

from __future__ import annotations

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.panels import DATASOURCE, Json
from tests.dashboards import seed
from tests.dashboards.grafana_checker import (
    GRAFANA_DATA,
    annotation_events,
    annotation_job,
    panel_frames,
    panel_job,
    run_checker,
    shown_frames,
)
from tests.dashboards.grafana_frames import backend_frames, epoch_ms
from tests.dashboards.macros import TimeRange
from tests.dashboards.queries import (
    DashboardQuery,
    QueryResult,
    find_result,
    iter_panels,
    run_dashboard,
)

SIX_WEEKS = seed.local_range(seed.FIRST_DAY, seed.LAST_DAY)
LAST_DAY = seed.local_range(seed.LAST_DAY, seed.LAST_DAY)
GRAFANALIB_ANNOTATION: Json = {
    "name": "Policy changes",
    "datasource": DATASOURCE,
    "enable": True,
    "iconColor": "purple",
    "query": 'SELECT "description", "policy", "store" FROM "policy_changes" '
    'WHERE "removed" = false AND $timeFilter',
    "textColumn": "description",
    "tagsColumn": "policy,store",
    "titleColumn": "",
}
"""The annotation as the grafanalib build wrote it: legacy top-level keys, no target."""


@pytest.mark.parametrize("grafana", sorted(GRAFANA_DATA))
@pytest.mark.parametrize(
    ("name", "time_range"),
    [
        ("live-occupancy.json", LAST_DAY),
        ("footfall.json", SIX_WEEKS),
        ("policy-impact.json", SIX_WEEKS),
        ("edge-health.json", LAST_DAY),
    ],
)
def test_every_panel_and_annotation_goes_through_grafana(
    seeded_influx: InfluxClient,
    committed: dict[str, Json],
    name: str,
    time_range: TimeRange,
    grafana: str,
) -> None:
    dashboard = committed[name]
    results = run_dashboard(seeded_influx, dashboard, time_range)
    panels = list(iter_panels(dashboard))
    tables = [panel for panel in panels if panel["type"] == "table"]
    annotations = dashboard["annotations"]["list"]
    zone = dashboard["timezone"]
    jobs = [panel_job(p, panel_frames(results, p["title"], "reversed"), zone) for p in panels]
    jobs += [panel_job(p, panel_frames(results, p["title"], "sorted"), zone) for p in tables]
    jobs += [annotation_job(a, find_result(results, a["name"], "")) for a in annotations]
    answers = run_checker(jobs, grafana)  # one Node run

    shown = [shown_frames(answer) for answer in answers[: len(panels)]]
    for panel, frames in zip(panels, shown, strict=True):
        assert frames, f"{panel['title']}: nothing to draw"
        assert all(frame.fields and frame.fields[0].values for frame in frames), panel["title"]
    in_sorted_order = [shown_frames(a) for a in answers[len(panels) : len(panels) + len(tables)]]
    for panel, (sorted_frame,) in zip(tables, in_sorted_order, strict=True):
        (reversed_frame,) = shown[panels.index(panel)]
        assert reversed_frame.names() == sorted_frame.names(), panel["title"]
        assert reversed_frame.rows() == sorted_frame.rows(), panel["title"]
    annotation_answers = answers[len(panels) + len(tables) :]
    for annotation, answer in zip(annotations, annotation_answers, strict=True):
        events = answer["events"]
        assert events, annotation["name"]
        assert all(event["title"] and event["text"] and event["tags"] for event in events)


def test_an_annotation_without_target_is_never_run() -> None:
    assert annotation_events(GRAFANALIB_ANNOTATION, None) is None


def test_policy_as_tag_column_makes_every_column_a_tag(seeded_influx: InfluxClient) -> None:
    """Given a target, the plugin takes the legacy keys, but the server-side column names all
    contain the measurement's name: "policy" matches each of them, the text falls back to the
    time column."""
    statement = GRAFANALIB_ANNOTATION["query"].replace("$timeFilter", SIX_WEEKS.time_filter())
    query = DashboardQuery("footfall-counts", "annotation", "Policy changes", "", statement)
    result = QueryResult(query, seeded_influx.query(statement))
    frames = backend_frames(result.series, ref_id="metricFindQuery", table=False)
    assert [frame["name"] for frame in frames] == [
        "policy_changes.description",
        "policy_changes.policy",
        "policy_changes.store",
    ]
    legacy_with_target = {
        **GRAFANALIB_ANNOTATION,
        "target": {"limit": 100, "matchAny": False, "tags": [], "type": "tags"},
    }
    events = annotation_events(legacy_with_target, result)
    assert events is not None
    first = events[0]
    assert first["tags"] == ["Open until 21:00", "evening-opening", "north"]
    assert first["text"] == first["title"] == first["time"] == epoch_ms("2024-01-22T05:00:00Z")
