"""Harness for the alert tests: a subscriber that collects alert events from the broker, a
local HTTP server that receives the webhook's POSTs, and an edge-like client with a Last
Will whose connection can be cut."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol.alerts import AlertEvent
from protocol.messages import CameraHealth, CameraStatus
from protocol.topics import alerts_filter, health_topic, status_topic


class AlertSubscriber:
    """Every alert event published under ``root``, in arrival order, with its topic."""

    def __init__(self, port: int, root: str) -> None:
        self.received: list[tuple[str, AlertEvent]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_connect = lambda client, *args: client.subscribe(alerts_filter(root), 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(5), "alert subscriber never subscribed"

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.payload:
            event = AlertEvent.model_validate_json(message.payload)
            with self._lock:
                self.received.append((message.topic, event))

    def events(self) -> list[AlertEvent]:
        with self._lock:
            return [event for _, event in self.received]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class WebhookReceiver:
    """A local HTTP server recording each POST (headers and JSON); it answers the first
    ``failures`` requests with 503, then 200, each after ``delay_seconds``."""

    def __init__(self, failures: int = 0, port: int = 0, delay_seconds: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.answers: list[int] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay_seconds)
                status = 503 if len(receiver.answers) < receiver.failures else 200
                receiver.answers.append(status)
                if status == 200:
                    receiver.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/footfall"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def events(self) -> list[AlertEvent]:
        return [AlertEvent.model_validate(body) for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EdgeCamera:
    """An edge device's MQTT session for one camera: retained status online on connect,
    ``offline`` as its Last Will, health on demand; ``cut`` drops the connection without a
    DISCONNECT, as a power cut does, so the broker publishes the Will."""

    def __init__(self, port: int, root: str, store_id: str, camera_id: str) -> None:
        self.store_id, self.camera_id, self.root = store_id, camera_id, root
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        offline = CameraStatus(state="offline", store_id=store_id, camera_id=camera_id)
        self.client.will_set(
            status_topic(store_id, camera_id, root), offline.model_dump_json(), 1, retain=True
        )
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()
        online = CameraStatus(state="online", store_id=store_id, camera_id=camera_id)
        self._publish(status_topic(store_id, camera_id, root), online.model_dump_json(), True)

    def _publish(self, topic: str, payload: str, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert info.is_published(), f"no PUBACK for {topic}"

    def health(self) -> None:
        health = CameraHealth(
            store_id=self.store_id,
            camera_id=self.camera_id,
            time_utc=datetime.now(UTC),
            source_state="streaming",
            frames_per_second=10.0,
            frames_processed=100,
            frames_dropped=0,
            detector_milliseconds=50.0,
            outbox_depth=0,
            outbox_bytes=0,
            software_version="test",
        )
        self._publish(
            health_topic(self.store_id, self.camera_id, self.root), health.model_dump_json()
        )

    def cut(self) -> None:
        self.client.loop_stop()
        sock = self.client.socket()
        assert sock is not None
        sock.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
