"""``footfall dashboards push`` against a fake Grafana HTTP API.

Why a fake: Grafana cannot be installed or run on this machine (it is in no package source
reachable from here), so the test starts a small HTTP server (``fake_grafana.py``) that keeps
folders, datasources and dashboards by uid the way Grafana does and records every request.
The tests check the requests grafana-client sends (paths, methods, the bearer token, bodies)
and that a second push updates in place instead of creating duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from dashboards.build import build_dashboards
from dashboards.panels import DATASOURCE_UID, FOLDER_UID
from footfall.cli import app
from footfall.local_services import free_port
from tests.dashboards.fake_grafana import FakeGrafana

TOKEN = "grafana-service-account-token"
INFLUX_TOKEN = "influx-read-token"
DASHBOARD_UIDS = sorted(dashboard["uid"] for dashboard in build_dashboards().values())


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana(TOKEN)
    server.start()
    yield server
    server.stop()


def push(url: str, *extra: str, token: str = TOKEN) -> Result:
    arguments = ["dashboards", "push", "--url", url, "--token", token, *extra]
    return CliRunner().invoke(app, arguments)


INFLUX_OPTIONS = ("--influx-url", "http://influxdb:8086", "--influx-token", INFLUX_TOKEN)


def test_first_push_creates_folder_datasource_and_dashboards(grafana: FakeGrafana) -> None:
    first = push(grafana.url, *INFLUX_OPTIONS)
    assert first.exit_code == 0, first.output
    state = grafana.state
    calls = [(request.method, request.path) for request in state.requests]
    assert calls[:4] == [
        ("GET", f"/api/folders/{FOLDER_UID}"),
        ("POST", "/api/folders"),
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/datasources"),
    ]
    assert sorted(calls[4:]) == sorted(
        [("GET", f"/api/dashboards/uid/{uid}") for uid in DASHBOARD_UIDS]
        + [("POST", "/api/dashboards/db")] * 4
    )
    assert state.requests[1].body == {"title": "Footfall", "uid": FOLDER_UID}
    source = state.datasources[DATASOURCE_UID]
    assert (source["type"], source["access"], source["url"]) == (
        "influxdb",
        "proxy",
        "http://influxdb:8086",
    )
    assert source["jsonData"] == {
        "version": "InfluxQL",
        "dbName": "footfall",
        "httpMode": "GET",
        "timeInterval": "1m",
        "httpHeaderName1": "Authorization",
    }
    assert source["secureJsonData"] == {"httpHeaderValue1": f"Token {INFLUX_TOKEN}"}
    assert INFLUX_TOKEN not in first.output
    built = {dashboard["uid"]: dashboard for dashboard in build_dashboards().values()}
    for uid, stored in state.dashboards.items():
        assert stored["meta"] == {"folderUid": FOLDER_UID, "version": 1}
        assert stored["dashboard"] == {**built[uid], "id": None}
    posts = [r.body for r in state.requests if r.path == "/api/dashboards/db" and r.body]
    assert all(body["overwrite"] is True for body in posts)
    assert all(request.authorization == f"Bearer {TOKEN}" for request in state.requests)


def test_second_push_updates_without_duplicates(grafana: FakeGrafana) -> None:
    assert push(grafana.url, *INFLUX_OPTIONS).exit_code == 0
    state = grafana.state
    requests_before = len(state.requests)
    second = push(grafana.url, *INFLUX_OPTIONS)
    assert second.exit_code == 0, second.output
    again = [(r.method, r.path) for r in state.requests[requests_before:]]
    assert ("POST", "/api/folders") not in again
    assert ("POST", "/api/datasources") not in again
    assert ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}") in again
    assert (len(state.folders), len(state.datasources), len(state.dashboards)) == (1, 1, 4)
    assert {stored["meta"]["version"] for stored in state.dashboards.values()} == {2}
    assert "folder unchanged; datasource updated" in second.output
    assert all(f"dashboard {uid} updated" in second.output for uid in DASHBOARD_UIDS)


def test_push_renames_a_folder_with_the_same_uid(grafana: FakeGrafana) -> None:
    grafana.state.folders[FOLDER_UID] = {"id": 1, "uid": FOLDER_UID, "title": "Old", "version": 3}
    assert push(grafana.url).exit_code == 0
    (rename,) = [r for r in grafana.state.requests if r.method == "PUT" and "folders" in r.path]
    assert rename.path == f"/api/folders/{FOLDER_UID}"
    assert rename.body == {"title": "Footfall", "overwrite": True}
    assert grafana.state.folders[FOLDER_UID]["title"] == "Footfall"


def test_push_with_influxdb_1_credentials(grafana: FakeGrafana) -> None:
    result = push(
        grafana.url,
        "--database",
        "stores",
        "--influx-username",
        "grafana",
        "--influx-password",
        "reader-password",
    )
    assert result.exit_code == 0, result.output
    source = grafana.state.datasources[DATASOURCE_UID]
    assert (source["user"], source["jsonData"]["dbName"]) == ("grafana", "stores")
    assert source["secureJsonData"] == {"password": "reader-password"}
    assert "httpHeaderName1" not in source["jsonData"]


def test_wrong_token_fails_with_one_clear_message(grafana: FakeGrafana) -> None:
    result = push(grafana.url, token="wrong")
    assert result.exit_code == 2
    assert "Unauthorized" in result.output
    assert "Traceback" not in result.output
    assert grafana.state.folders == {}


def test_contradictory_influx_credentials_are_refused_before_any_request(
    grafana: FakeGrafana,
) -> None:
    result = push(grafana.url, "--influx-token", "t", "--influx-username", "u")
    assert result.exit_code == 2
    assert "not both" in result.output
    assert grafana.state.requests == []


def test_unreachable_grafana_is_an_error_not_a_traceback() -> None:
    result = push(f"http://127.0.0.1:{free_port()}", "--timeout-seconds", "2")
    assert result.exit_code == 2
    assert "error" in result.output
    assert "Traceback" not in result.output
