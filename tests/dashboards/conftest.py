"""One database with the synthetic data of ``seed.py`` and ``seed_metrics.py``, written once
for all dashboard tests (they only read it), on the session's real InfluxDB server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from aggregator.storage.influx import InfluxClient, InfluxSettings
from dashboards.build import load_dashboards
from dashboards.panels import Json
from footfall.local_services import LocalService
from tests.dashboards import seed
from tests.dashboards.seed_metrics import seed_metrics


@pytest.fixture(scope="session")
def seeded_influx(influx_server: LocalService) -> Iterator[InfluxClient]:
    database = f"dashboards_{uuid.uuid4().hex[:12]}"
    client = InfluxClient(
        InfluxSettings(url=f"http://127.0.0.1:{influx_server.port}", database=database)
    )
    client.ensure_database()
    seed.seed(client)
    seed_metrics(client)
    yield client
    client.execute(f'DROP DATABASE "{database}"')
    client.close()


@pytest.fixture(scope="session")
def committed() -> dict[str, Json]:
    """The committed dashboard JSON, by file name: the files Grafana will load."""
    return load_dashboards()
