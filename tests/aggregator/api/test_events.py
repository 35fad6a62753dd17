"""The server-sent-events stream, read over a real socket from a real uvicorn server: the
current count first, then every change within a fraction of a second."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from footfall.local_services import free_port
from tests.aggregator.api.support import Publisher, ServedApi, wait_until


@pytest.fixture
def api_url(api_config: AggregatorConfig) -> Iterator[str]:
    served = ServedApi(create_app(api_config), free_port())
    served.start()
    yield served.url
    served.stop()


def read_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event name, decoded JSON data) per event of a ``text/event-stream``."""
    name, data = "message", ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


def next_occupancy(events: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    for name, data in events:
        if name == "occupancy":
            return dict(data)
    raise AssertionError("the stream ended")


def test_stream_sends_current_count_then_each_change(api_url: str, publisher: Publisher) -> None:
    publisher.occupancy("shop-1", 1, capacity=3)
    publisher.occupancy("shop-2", 30)  # another store: not on this stream
    wait_until(lambda: len(httpx.get(f"{api_url}/occupancy").json()) == 2)
    with httpx.stream(
        "GET", f"{api_url}/events/occupancy", params={"store": "shop-1"}, timeout=10
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines())
        first = next_occupancy(events)
        assert (first["store_id"], first["occupancy"]) == ("shop-1", 1)
        for count, over in ((4, True), (2, False)):
            published = time.monotonic()
            publisher.occupancy("shop-1", count, capacity=3, over_capacity=over)
            publisher.occupancy("shop-2", 31)
            change = next_occupancy(events)
            latency_seconds = time.monotonic() - published
            assert (change["store_id"], change["occupancy"]) == ("shop-1", count)
            assert change["over_capacity"] is over
            assert latency_seconds < 0.5


def test_stream_of_all_stores_and_unknown_store(api_url: str, publisher: Publisher) -> None:
    publisher.occupancy("shop-1", 2)
    publisher.occupancy("shop-2", 5)
    wait_until(lambda: len(httpx.get(f"{api_url}/occupancy").json()) == 2)
    with httpx.stream("GET", f"{api_url}/events/occupancy", timeout=10) as response:
        events = read_events(response.iter_lines())
        first, second = next_occupancy(events), next_occupancy(events)
        counts = {first["store_id"]: first["occupancy"], second["store_id"]: second["occupancy"]}
        assert counts == {"shop-1": 2, "shop-2": 5}
    unknown = httpx.get(f"{api_url}/events/occupancy", params={"store": "nowhere"})
    assert unknown.status_code == 404
