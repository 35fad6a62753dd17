"""The entrance display in a real headless browser (Debian's chromium driven by Playwright):
counts published over real Mosquitto turn the page green -> red -> green within 2 s, without
a reload, and the page follows the API through a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService, free_port
from protocol.messages import CountInterval, LineCount
from protocol.topics import counts_topic
from tests.aggregator.api.support import Publisher, ServedApi

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UPDATE_LIMIT_SECONDS = 2.0
SELECTOR_WAIT_SECONDS = 10.0
"""Longer than the limit, so that the limit is what the timing assertions check."""
WELCOME_GREEN = "rgb(4, 99, 43)"
WAIT_RED = "rgb(163, 0, 14)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make setup does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS
        )
        yield launched
        launched.close()


@pytest.fixture
def display_config(mosquitto_server: LocalService, topic_root: str) -> AggregatorConfig:
    return AggregatorConfig.model_validate(
        {
            "mqtt": {"port": mosquitto_server.port, "topic_root": topic_root},
            "stores": [{"id": "shop-1", "name": "High Street", "capacity": 3}],
        }
    )


@pytest.fixture
def topic_root() -> str:
    return f"display-{time.monotonic_ns()}/v1"


@pytest.fixture
def publisher(mosquitto_server: LocalService, topic_root: str) -> Iterator[Publisher]:
    client = Publisher(mosquitto_server.port, topic_root)
    yield client
    client.close()


def wait_for_state(page: Any, state: str, occupancy: int, timeout_seconds: float) -> float:
    """Seconds until the page shows ``state`` with ``occupancy``; fails after the timeout."""
    started = time.monotonic()
    page.wait_for_selector(
        f'body[data-state="{state}"][data-occupancy="{occupancy}"]',
        state="attached",
        timeout=timeout_seconds * 1000,
    )
    return time.monotonic() - started


def shown(page: Any) -> dict[str, str]:
    return {
        "message": page.inner_text("#message"),
        "occupancy": page.inner_text("#occupancy"),
        "capacity": page.inner_text("#capacity"),
        "store": page.inner_text("#store-name"),
        "background": page.evaluate("getComputedStyle(document.body).backgroundColor"),
    }


def test_display_turns_red_over_capacity_and_green_again(
    browser: Any, display_config: AggregatorConfig, publisher: Publisher, tmp_path: Path
) -> None:
    served = ServedApi(create_app(display_config), free_port())
    served.start()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        publisher.camera_status("shop-1", "entrance", "online")  # counting, not paused
        publisher.occupancy("shop-1", 1, capacity=3)
        page.goto(f"{served.url}/display/shop-1")
        wait_for_state(page, "welcome", 1, 10)
        page.wait_for_function("document.getElementById('store-name').textContent !== ''")
        assert shown(page) == {
            "message": "Welcome",
            "occupancy": "1",
            "capacity": "3",
            "store": "High Street",
            "background": WELCOME_GREEN,
        }
        count_font_pixels = page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('occupancy')).fontSize)"
        )
        assert count_font_pixels >= 0.3 * 1080  # a third of the screen: readable from 5 m
        page.evaluate("window.sameDocument = true")
        page.screenshot(path=tmp_path / "1-welcome.png")

        publisher.occupancy("shop-1", 4, capacity=3, over_capacity=True)
        assert wait_for_state(page, "wait", 4, SELECTOR_WAIT_SECONDS) < UPDATE_LIMIT_SECONDS
        assert shown(page)["message"] == "Please wait"
        assert (shown(page)["occupancy"], shown(page)["background"]) == ("4", WAIT_RED)
        page.screenshot(path=tmp_path / "2-please-wait.png")

        publisher.occupancy("shop-1", 2, capacity=3)
        assert wait_for_state(page, "welcome", 2, SELECTOR_WAIT_SECONDS) < UPDATE_LIMIT_SECONDS
        assert (shown(page)["occupancy"], shown(page)["background"]) == ("2", WELCOME_GREEN)
        page.screenshot(path=tmp_path / "3-welcome-again.png")

        assert page.evaluate("window.sameDocument") is True  # never reloaded
        assert requested, "the page made no requests"
        assert all(url.startswith(served.url + "/") for url in requested), requested
    finally:
        page.close()
        served.stop()
    for name in ("1-welcome.png", "2-please-wait.png", "3-welcome-again.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name


def test_display_reconnects_after_an_api_restart(
    browser: Any, display_config: AggregatorConfig, publisher: Publisher, tmp_path: Path
) -> None:
    port = free_port()
    served = ServedApi(create_app(display_config), port)
    served.start()
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        publisher.camera_status("shop-1", "entrance", "online")
        publisher.occupancy("shop-1", 2, capacity=3)
        page.goto(f"{served.url}/display/shop-1")
        wait_for_state(page, "welcome", 2, 10)
        page.evaluate("window.sameDocument = true")

        served.stop()
        page.wait_for_selector('body[data-connection="lost"]', state="attached", timeout=5000)
        assert page.is_visible("#connection")
        page.screenshot(path=tmp_path / "4-connection-lost.png")
        publisher.occupancy("shop-1", 5, capacity=3, over_capacity=True)  # while it is down

        served = ServedApi(create_app(display_config), port)
        served.start()
        wait_for_state(page, "wait", 5, 20)
        page.wait_for_selector('body[data-connection="live"]', state="attached", timeout=5000)
        assert not page.is_visible("#connection")
        assert page.evaluate("window.sameDocument") is True
        page.screenshot(path=tmp_path / "5-reconnected.png")
    finally:
        page.close()
        served.stop()


def count_interval(sequence: int, entries: int, exits: int) -> CountInterval:
    """Door-line counts of one minute, the ``sequence``-th minute of the last ten."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10 - sequence)
    return CountInterval(
        store_id="shop-1",
        camera_id="entrance",
        sequence=sequence,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={"door": LineCount(entries=entries, exits=exits)},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def test_display_follows_edge_counts_through_the_aggregator(
    browser: Any,
    display_config: AggregatorConfig,
    publisher: Publisher,
    influx: InfluxClient,
    tmp_path: Path,
) -> None:
    from aggregator.ingest.service import AggregatorService

    # The business day began 12 h ago, so the last ten minutes all count toward today.
    reset = (datetime.now(UTC) - timedelta(hours=12)).time().replace(second=0, microsecond=0)
    data = display_config.model_dump()
    data.update(influx=influx.settings.model_dump(), spool_path=tmp_path / "spool")
    data["stores"][0].update(
        daily_reset_local_time=reset,
        cameras=[{"id": "entrance", "entrance_lines": ["door"]}],
    )
    config = AggregatorConfig.model_validate(data)
    aggregator = AggregatorService(config, client_id=f"display-test-{time.monotonic_ns()}")
    aggregator.start()
    served = ServedApi(create_app(config), free_port())
    served.start()
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    topic = counts_topic("shop-1", "entrance", config.mqtt.topic_root)
    try:
        publisher.camera_status("shop-1", "entrance", "online")
        publisher.publish(topic, count_interval(0, entries=2, exits=0).model_dump_json())
        page.goto(f"{served.url}/display/shop-1")
        wait_for_state(page, "welcome", 2, 10)
        steps = [(1, 3, 1, "wait", 4), (2, 0, 2, "welcome", 2)]
        for sequence, entries, exits, state, occupancy in steps:
            message = count_interval(sequence, entries=entries, exits=exits)
            publisher.publish(topic, message.model_dump_json())
            seconds = wait_for_state(page, state, occupancy, SELECTOR_WAIT_SECONDS)
            assert seconds < UPDATE_LIMIT_SECONDS
            page.screenshot(path=tmp_path / f"aggregated-{sequence}-{state}.png")
        assert shown(page)["capacity"] == "3"
    finally:
        page.close()
        served.stop()
        aggregator.stop()
