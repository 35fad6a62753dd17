"""Helpers for the tests that talk to real Mosquitto brokers: a recording subscriber, a
factory of started publishers, brokers that can be restarted on their port."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import MqttConfig
from edge.transport.outbox import Outbox
from edge.transport.publisher import MqttPublisher
from footfall.local_services import LocalService, free_port, mosquitto
from protocol.messages import CameraStatus, CountInterval

STORE = "store-1"
CAMERA = "door"
# Mosquitto started as root drops to the ``mosquitto`` user, which cannot read the test's
# password file or write its persistence file under pytest's private temp dir.
KEEP_PRIVILEGES = "user root\n" if os.geteuid() == 0 else ""


class Collector:
    """A real subscriber (MQTT 5, QoS 1, persistent session) recording every message."""

    def __init__(
        self,
        port: int,
        topic: str = "footfall/v1/#",
        login: tuple[str, str] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topic = topic
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.reconnect_delay_set(1, 1)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect(
            "127.0.0.1", port, keepalive=5, clean_start=False, properties=properties
        )
        self.client.loop_start()
        assert self._subscribed.wait(10), f"collector could not subscribe on port {port}"

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_subscribe(self, *_: object) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), message.retain))

    def payloads(self, suffix: str) -> list[bytes]:
        with self._lock:
            return [payload for topic, payload, _ in self.messages if topic.endswith(suffix)]

    def counts(self) -> list[CountInterval]:
        return [CountInterval.model_validate_json(payload) for payload in self.payloads("/counts")]

    def unique_counts(self) -> dict[int, CountInterval]:
        """By sequence; a redelivered sequence must carry the identical payload."""
        unique: dict[int, CountInterval] = {}
        for message in self.counts():
            assert unique.setdefault(message.sequence, message) == message
        return unique

    def wait_until(self, condition: Callable[[], bool], timeout_seconds: float) -> bool:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained_status(port: int, topic: str) -> CameraStatus:
    """What a new subscriber sees first on the status topic."""
    collector = Collector(port, topic)
    try:
        assert collector.wait_until(lambda: bool(collector.payloads("/status")), 5)
        return CameraStatus.model_validate_json(collector.payloads("/status")[0])
    finally:
        collector.close()


class PublisherFactory:
    """Builds started publishers of ``STORE``/``CAMERA`` (a fresh outbox each unless one is
    given); ``stop_all`` at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[MqttPublisher] = []

    def __call__(
        self, port: int, outbox: Outbox | None = None, config: dict[str, object] | None = None
    ) -> MqttPublisher:
        publisher = MqttPublisher(
            MqttConfig.model_validate({"port": port, "keepalive_seconds": 5, **(config or {})}),
            STORE,
            CAMERA,
            outbox or Outbox(self.directory / f"outbox-{len(self.started)}.sqlite3", 1 << 20),
            software_version="0.1.0",
        )
        publisher.start()
        self.started.append(publisher)
        return publisher

    def stop_all(self) -> None:
        for publisher in self.started:
            publisher.stop(timeout_seconds=0.5)


def own_broker(directory: Path, autosave_seconds: int = 1) -> LocalService:
    """A broker on a fixed port, so it can be restarted where clients expect it. It saves
    its state every ``autosave_seconds``, so subscriptions survive a crash."""
    broker = mosquitto(
        directory,
        free_port(),
        f"allow_anonymous true\nautosave_interval {autosave_seconds}\n{KEEP_PRIVILEGES}",
    )
    broker.start()
    return broker


def wait_for_error(publisher: MqttPublisher, fragment: str, timeout_seconds: float = 5) -> str:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        error = publisher.status().error
        if error is not None and fragment in error:
            return error
        time.sleep(0.05)
    raise AssertionError(f"no error containing {fragment!r}; status {publisher.status()}")
