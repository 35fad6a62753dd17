"""The HTTP API against a real Mosquitto broker: what the aggregator publishes retained is
what the API serves, number for number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from protocol.messages import CameraHealth, CameraStatus
from protocol.settings import ConfigError
from tests.aggregator.api.support import Publisher, occupancy_message, wait_until


@pytest.fixture
def client(api_config: AggregatorConfig) -> Iterator[TestClient]:
    with TestClient(create_app(api_config)) as test_client:
        wait_until(lambda: test_client.get("/health").status_code == 200)
        yield test_client


def test_retained_occupancy_published_before_start_is_served(
    api_config: AggregatorConfig, publisher: Publisher
) -> None:
    publisher.occupancy("shop-1", 2, capacity=3, entries_today=57, exits_today=55, drift=1)
    with TestClient(create_app(api_config)) as client:
        body = wait_until(lambda: json_when_found(client, "/stores/shop-1/occupancy"))
        assert body["occupancy"] == 2
        assert body["entries_today"] == 57
        assert body["exits_today"] == 55
        assert body["drift"] == 1
        assert body["capacity"] == 3
        assert body["over_capacity"] is False


def json_when_found(client: TestClient, path: str) -> Any:
    response = client.get(path)
    return response.json() if response.status_code == 200 else None


def test_stores_list_configured_then_seen_stores(client: TestClient, publisher: Publisher) -> None:
    publisher.occupancy("shop-1", 4, capacity=3, over_capacity=True)
    publisher.occupancy("pop-up", 7)
    wait_until(lambda: len(client.get("/occupancy").json()) == 2)
    stores = client.get("/stores").json()
    assert [store["id"] for store in stores] == ["shop-1", "shop-2", "pop-up"]
    shop_1, shop_2, pop_up = stores
    assert shop_1["name"] == "High Street"
    assert (shop_1["occupancy"], shop_1["capacity"], shop_1["over_capacity"]) == (4, 3, True)
    assert (shop_2["occupancy"], shop_2["capacity"]) == (None, 40)
    assert shop_2["timezone"] == "Europe/London"
    assert (pop_up["configured"], pop_up["occupancy"], pop_up["timezone"]) == (False, 7, None)
    assert client.get("/stores/pop-up").json()["occupancy"] == 7


def test_missing_store_and_missing_occupancy_are_404_with_reason(client: TestClient) -> None:
    unknown = client.get("/stores/nowhere/occupancy")
    assert unknown.status_code == 404
    assert "unknown store 'nowhere'" in unknown.json()["detail"]
    assert "shop-1" in unknown.json()["detail"]
    not_yet = client.get("/stores/shop-2/occupancy")
    assert not_yet.status_code == 404
    assert "no occupancy has been published for store 'shop-2' yet" in not_yet.json()["detail"]


def test_newer_count_replaces_older_and_late_old_message_is_ignored(
    client: TestClient, publisher: Publisher
) -> None:
    newer = occupancy_message("shop-1", 3)
    older = occupancy_message("shop-1", 1, time_utc=newer.time_utc.replace(year=2001))
    publisher.publish_model("shop-1/occupancy", newer)
    wait_until(lambda: client.get("/stores/shop-1").json()["occupancy"] == 3)
    publisher.publish_model("shop-1/occupancy", older)
    publisher.occupancy("shop-2", 9)  # a later message on the same connection: a barrier
    wait_until(lambda: client.get("/stores/shop-2").json()["occupancy"] == 9)
    assert client.get("/stores/shop-1").json()["occupancy"] == 3


def test_camera_status_and_health(client: TestClient, publisher: Publisher) -> None:
    status = CameraStatus(state="online", store_id="shop-1", camera_id="door", software_version="1")
    health = CameraHealth.model_validate(
        {
            "store_id": "shop-1",
            "camera_id": "door",
            "time_utc": "2030-05-01T10:00:00Z",
            "source_state": "streaming",
            "frames_per_second": 12.5,
            "frames_processed": 9000,
            "frames_dropped": 12,
            "detector_milliseconds": 41.0,
            "outbox_depth": 3,
            "outbox_bytes": 2048,
            "software_version": "1",
        }
    )
    publisher.publish_model("shop-1/door/status", status)
    publisher.publish_model("shop-1/door/health", health, retain=False)
    cameras = wait_until(
        lambda: [
            camera
            for camera in client.get("/cameras", params={"store": "shop-1"}).json()
            if camera["health"] and camera["status"]
        ]
    )
    assert len(cameras) == 1
    assert cameras[0]["status"]["state"] == "online"
    assert cameras[0]["health"]["frames_dropped"] == 12
    assert cameras[0]["health"]["outbox_depth"] == 3
    assert client.get("/cameras", params={"store": "shop-2"}).json() == []


def test_bad_and_mismatched_payloads_are_rejected_and_counted(
    client: TestClient, publisher: Publisher
) -> None:
    publisher.publish(f"{publisher.root}/shop-1/occupancy", b"{not json", retain=False)
    spoof = occupancy_message("shop-2", 99)
    publisher.publish_model("shop-1/occupancy", spoof, retain=False)
    report = wait_until(
        lambda: (body := client.get("/health").json())["messages_rejected"] == 2 and body
    )
    assert "differs from topic store 'shop-1'" in report["last_rejection"]
    assert client.get("/stores/shop-1/occupancy").status_code == 404
    assert client.get("/stores/shop-2/occupancy").status_code == 404


def test_health_reports_broker_connection(client: TestClient) -> None:
    report = client.get("/health")
    assert report.status_code == 200
    assert report.json()["status"] == "ok"
    assert report.json()["mqtt_connected"] is True


def test_health_is_503_when_the_broker_refuses(api_config: AggregatorConfig) -> None:
    refused = api_config.model_copy(update={"mqtt": api_config.mqtt.model_copy(update={"port": 1})})
    with TestClient(create_app(refused)) as client:
        report = client.get("/health")
        assert report.status_code == 503
        assert report.json()["mqtt_connected"] is False


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/health",
        "/stores",
        "/stores/{store}",
        "/occupancy",
        "/stores/{store}/occupancy",
        "/cameras",
        "/events/occupancy",
        "/display/{store}",
        "/policies",
        "/policies/{name}",
    } <= paths
    schema = client.get("/openapi.json").json()
    assert "write token" in schema["components"]["securitySchemes"]
    assert "security" in schema["paths"]["/policies"]["post"]
    assert "security" not in schema["paths"]["/policies"]["get"]
    assert client.get("/docs").status_code == 200


def test_docs_work_offline_with_bundled_swagger_ui(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "://" not in page.text  # every asset is relative: served by the API itself
    for asset, kind in (
        ("docs-assets/swagger-ui-bundle.js", "javascript"),
        ("docs-assets/swagger-ui.css", "text/css"),
    ):
        assert f'"{asset}"' in page.text
        response = client.get(f"/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert len(response.content) > 10_000
    assert client.get("/redoc").status_code == 404  # ReDoc loads only from a CDN


def test_display_page_and_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/display/shop-1")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'src="static/display.js"' in page.text
    assert "http" not in page.text.replace('href="static', "")  # no external asset
    script = client.get("/display/static/display.js")
    assert script.status_code == 200
    assert "EventSource" in script.text
    assert client.get("/display/static/display.css").headers["content-type"].startswith("text/css")
    assert client.get("/display/static/secrets.txt").status_code == 404
    assert client.get("/display/nowhere").status_code == 404


def test_short_write_token_is_a_config_error(api_config: AggregatorConfig) -> None:
    weak = api_config.model_copy(
        update={"api": api_config.api.model_copy(update={"write_token": SecretStr("short")})}
    )
    with pytest.raises(ConfigError, match="api -> write_token: the token has 5 characters"):
        create_app(weak)
