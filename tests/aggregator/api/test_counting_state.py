"""Honest display and API (issue 9, finding 2): which cameras are a store's entrances, each
camera's state from its retained status, its last report and its video, and the store's
``live``/``paused`` state with reasons (a table); then through the real broker:
``/stores/{store}/occupancy`` says why counting is paused and the stream tells at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.counting_state import CameraReport, counting_state, entrance_camera_ids
from aggregator.config import AggregatorConfig, StoreConfig
from footfall.local_services import free_port
from protocol.messages import CameraHealth, CameraStatus
from tests.aggregator.api.support import Publisher, ServedApi, wait_until
from tests.aggregator.api.test_events import next_occupancy, read_events

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SILENCE = 60.0
REGISTRY = StoreConfig.model_validate(
    {
        "id": "s",
        "cameras": [
            {"id": "door"},
            {"id": "back", "entrance_lines": ["gate"]},
            {"id": "tills", "entrance_lines": []},  # no entrance: never holds counting up
        ],
    }
)


def report(
    camera: str,
    status: Literal["online", "offline"] | None = "online",
    seconds_ago: float = 5,
    video: str = "streaming",
) -> CameraReport:
    health = CameraHealth.model_validate(
        {
            "store_id": "s",
            "camera_id": camera,
            "time_utc": NOW,
            "source_state": video,
            "frames_per_second": 7,
            "frames_processed": 100,
            "frames_dropped": 0,
            "detector_milliseconds": 50,
            "outbox_depth": 0,
            "outbox_bytes": 0,
            "software_version": "test",
        }
    )
    return CameraReport(
        camera,
        None if status is None else CameraStatus(state=status, store_id="s", camera_id=camera),
        health,
        NOW - timedelta(seconds=seconds_ago),
    )


def test_entrance_cameras_come_from_the_registry_else_from_the_broker() -> None:
    assert entrance_camera_ids(REGISTRY, ["elsewhere"]) == ["door", "back"]
    assert entrance_camera_ids(StoreConfig(id="s"), ["b", "a"]) == ["a", "b"]
    assert entrance_camera_ids(None, ["x"]) == ["x"]


@pytest.mark.parametrize(
    ("reports", "connected", "state", "cameras", "reasons"),
    [
        pytest.param(
            [report("door"), report("back")], True, "live", ["counting", "counting"], [], id="live"
        ),
        pytest.param(
            [report("door", "offline"), report("back")],
            True,
            "paused",
            ["offline", "counting"],
            ["entrance camera 'door' is offline"],
            id="offline (Last Will)",
        ),
        pytest.param(
            [report("door", seconds_ago=61), report("back", seconds_ago=59)],
            True,
            "paused",
            ["silent", "counting"],
            ["no report from entrance camera 'door' for 61 s (limit 60 s)"],
            id="silent past the threshold",
        ),
        pytest.param(
            [report("door", video="reconnecting"), report("back", status=None)],
            True,
            "paused",
            ["no_video", "counting"],
            ["entrance camera 'door' video is reconnecting"],
            id="no video; health alone counts as a report",
        ),
        pytest.param(
            [report("door"), report("tills", "offline")],
            True,
            "paused",
            ["counting", "unknown"],
            ["entrance camera 'back' has never reported"],
            id="never reported; a non-entrance camera does not matter",
        ),
        pytest.param(
            [report("door"), report("back")],
            False,
            "paused",
            ["counting", "counting"],
            ["the API has lost its connection to the broker"],
            id="API without broker",
        ),
    ],
)
def test_store_counting_state(
    reports: list[CameraReport],
    connected: bool,
    state: str,
    cameras: list[str],
    reasons: list[str],
) -> None:
    result = counting_state(REGISTRY, reports, NOW, SILENCE, broker_connected=connected)
    assert result.state == state
    assert [camera.state for camera in result.cameras] == cameras
    assert result.reasons == reasons
    assert result.silence_threshold_seconds == SILENCE


def test_a_store_no_camera_has_reported_for_is_paused() -> None:
    result = counting_state(StoreConfig(id="s"), [], NOW, SILENCE)
    assert (result.state, result.reasons) == ("paused", ["no entrance camera has reported"])


@pytest.fixture
def served(api_config: AggregatorConfig) -> Iterator[ServedApi]:
    config = api_config.model_copy(
        update={"api": api_config.api.model_copy(update={"camera_silence_seconds": 3})}
    )
    api = ServedApi(create_app(config), free_port())
    api.start()
    yield api
    api.stop()


def counting(url: str, store: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/stores/{store}/occupancy").json()
    return body


def test_occupancy_says_why_counting_is_paused(served: ServedApi, publisher: Publisher) -> None:
    publisher.occupancy("shop-1", 2, capacity=3, last_update_utc=datetime.now(UTC))
    wait_until(lambda: httpx.get(f"{served.url}/stores/shop-1/occupancy").status_code == 200)
    paused = counting(served.url, "shop-1")
    assert paused["occupancy"] == 2
    assert paused["last_update_utc"] is not None
    assert paused["counting"]["state"] == "paused"
    assert paused["counting"]["reasons"] == ["no entrance camera has reported"]

    with httpx.stream(
        "GET", f"{served.url}/events/occupancy", params={"store": "shop-1"}, timeout=20
    ) as response:
        events = read_events(response.iter_lines())
        assert next_occupancy(events)["counting"]["state"] == "paused"
        sent = time.monotonic()
        publisher.camera_status("shop-1", "entrance", "online")
        live = next_occupancy(events)
        assert live["counting"]["state"] == "live", live
        assert live["counting"]["cameras"][0]["state"] == "counting"
        assert time.monotonic() - sent < 1.0

        sent = time.monotonic()
        publisher.camera_status("shop-1", "entrance", "offline")  # the Last Will
        offline = next_occupancy(events)
        assert time.monotonic() - sent < 1.0
        assert offline["counting"]["reasons"] == ["entrance camera 'entrance' is offline"]
        assert (offline["occupancy"], offline["counting"]["state"]) == (2, "paused")

        publisher.camera_status("shop-1", "entrance", "online")
        assert next_occupancy(events)["counting"]["state"] == "live"
        sent = time.monotonic()
        silent = next_occupancy(events)  # nothing more from the camera: silent after 3 s
        waited = time.monotonic() - sent
        assert silent["counting"]["cameras"][0]["state"] == "silent", silent
        assert 2.0 < waited < 5.0, waited
    reason = counting(served.url, "shop-1")["counting"]["reasons"][0]
    assert reason.startswith("no report from entrance camera 'entrance' for ")
    assert reason.endswith("(limit 3 s)")
