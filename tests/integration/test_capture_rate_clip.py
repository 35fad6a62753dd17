"""Capture rate end to end from a replayed clip with a passing line: the PETS09-S2L1 run's
detections through a real edge worker whose ``right`` line (x = 550) is a ``passing`` line,
real Mosquitto, the running aggregator, real InfluxDB and ``GET /stores/{id}/metrics``: the
endpoint's visits, passers-by and capture rate are exactly the edge's door entries, the
passing line's entries + exits and their ratio (measured: 18 / (15 + 18) = 54.5%)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.api.app import create_app
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from edge.config import EdgeConfig
from edge.transport.sinks import open_sink
from edge.worker import EdgeWorker
from footfall import __version__
from footfall.demo import stored_line_totals
from footfall.local_services import LocalService
from protocol.messages import LineRole
from tests.integration.pets import PetsRun, ReplayedDetector
from tests.integration.test_end_to_end import aggregator_config, clip_start, edge_config

pytestmark = pytest.mark.slow


def with_passing_line(edge: EdgeConfig) -> EdgeConfig:
    """The door is the entrance, ``right`` the pavement outside, the other lines internal."""
    roles = {"door": LineRole.ENTRANCE, "right": LineRole.PASSING}
    camera = edge.cameras[0]
    lines = [
        line.model_copy(update={"role": roles.get(line.id, LineRole.INTERNAL), "entrance": None})
        for line in camera.lines
    ]
    return edge.model_copy(update={"cameras": [camera.model_copy(update={"lines": lines})]})


def test_capture_rate_of_a_replayed_clip(
    pets_run: PetsRun, mosquitto_server: LocalService, influx: InfluxClient, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    edge = with_passing_line(edge_config(pets_run, mosquitto_server, tmp_path, clip_start(now)))
    config = aggregator_config(edge, mosquitto_server, influx, tmp_path, now)
    service = AggregatorService(config)
    service.start()
    try:
        sink = open_sink(edge, __version__)
        worker = EdgeWorker(edge, sink, detector=ReplayedDetector(pets_run.detections))
        sink.start()
        worker.run()
        assert sink.stop(30.0), "the broker did not acknowledge every interval"
        totals = worker.cameras[0].counter.totals
        expected = {
            (edge.store_id, edge.cameras[0].id, line): (counts.entries, counts.exits)
            for line, counts in totals.items()
        }
        assert service.writer.wait_durable(30)
        for _ in range(150):
            if stored_line_totals(influx) == expected:
                break
            service.writer.wait_durable(1)
        assert stored_line_totals(influx) == expected
    finally:
        service.stop()
    visits = totals["door"].entries
    passers_by = totals["right"].entries + totals["right"].exits
    first = clip_start(now).replace(minute=0, second=0)
    with TestClient(create_app(config)) as client:
        response = client.get(
            f"/stores/{edge.store_id}/metrics",
            params={
                "from": first.isoformat(),
                "to": (first + timedelta(hours=2)).isoformat(),
                "resolution": "hour",
            },
        )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert sum(row["visits"] for row in rows) == visits
    assert sum(row["passers_by"] for row in rows) == passers_by
    for row in rows:
        if row["passers_by"]:
            assert row["capture_rate_percent"] == pytest.approx(
                100 * row["visits"] / row["passers_by"]
            )
    print(
        f"FIGURE capture rate on PETS: door {visits} entries, right line {passers_by} "
        f"passers-by ({totals['right'].entries} + {totals['right'].exits}): "
        f"{100 * visits / passers_by:.1f}%; the endpoint: "
        + ", ".join(f"{row['label']} {row['capture_rate_percent']}" for row in rows)
    )
    assert (visits, passers_by) == (
        pets_run.report.lines["door"]["in"],
        pets_run.report.lines["right"]["in"] + pets_run.report.lines["right"]["out"],
    )
