"""Helpers shared by the API and entrance-display tests: an MQTT publisher that waits for
PUBACK, occupancy messages, polling, and a real uvicorn server in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import uvicorn
from fastapi import FastAPI
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel

from protocol.messages import CameraStatus, StoreOccupancy


class Publisher:
    """A plain MQTT 5 client that publishes and waits for the broker's PUBACK."""

    def __init__(self, port: int, root: str) -> None:
        self.root = root
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert info.is_published(), f"no PUBACK for {topic}"

    def publish_model(self, topic_suffix: str, message: BaseModel, retain: bool = True) -> None:
        self.publish(f"{self.root}/{topic_suffix}", message.model_dump_json(), retain=retain)

    def occupancy(self, store_id: str, count: int, **fields: Any) -> StoreOccupancy:
        message = occupancy_message(store_id, count, **fields)
        self.publish_model(f"{store_id}/occupancy", message)
        return message

    def camera_status(self, store_id: str, camera_id: str, state: str = "online") -> None:
        """The retained status an edge device publishes (``offline`` as its Last Will)."""
        status = CameraStatus.model_validate(
            {"state": state, "store_id": store_id, "camera_id": camera_id}
        )
        self.publish_model(f"{store_id}/{camera_id}/status", status)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def occupancy_message(store_id: str, count: int, **fields: Any) -> StoreOccupancy:
    values: dict[str, Any] = {
        "store_id": store_id,
        "time_utc": datetime.now(UTC),
        "business_day": datetime.now(UTC).date().isoformat(),
        "occupancy": count,
        "entries_today": count + 10,
        "exits_today": 10,
    }
    values.update(fields)
    return StoreOccupancy.model_validate(values)


def wait_until(check: Callable[[], Any], timeout_seconds: float = 5.0) -> Any:
    """Poll ``check`` until it returns a truthy value; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout_seconds
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.02)
        value = check()
    assert value, f"condition not met within {timeout_seconds} s (last value {value!r})"
    return value


class ServedApi:
    """The app on a real socket (uvicorn in a thread); ``stop`` and ``start`` again on the
    same port simulate an API restart."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_until(self._answers, 10)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            assert not self._thread.is_alive(), "uvicorn did not stop within 10 s"
        self._server = None
        self._thread = None

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
