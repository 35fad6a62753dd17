"""Test support for the aggregator reliability tests: the aggregator as a real subprocess
(the ``footfall aggregator run`` CLI), an edge emulator that publishes count intervals, and
helpers that read totals back from InfluxDB and occupancy back from the broker.

The edge emulator follows the edge publisher's delivery contract (``edge/publisher.py``,
``edge/outbox.py``): QoS 1 on a persistent MQTT 5 session, every message kept until its
PUBACK (paho re-sends in-flight messages after a reconnect), and after every reconnect the
intervals acknowledged in the last ``replay_seconds`` are sent again (a broker killed before
saving what it acknowledged). One addition the real publisher needs before it can replace
the emulator here: a PUBACK with reason code 0x10 "No matching subscribers" is not taken as
delivered; the message is sent again half a second later. Mosquitto 2.0 does not restore
shared subscriptions from its database, so after a broker restart nothing matches until the
aggregator has subscribed again, and the broker says so with 0x10. The aggregator's
idempotent storage makes every re-send free.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from aggregator.influx import InfluxClient
from edge.messages import CountInterval, LineCount, counts_topic, occupancy_topic

STORE = "store 1, north"
NO_MATCHING_SUBSCRIBERS = 0x10  # a space and a comma: escaping is exercised end to end
FOOTFALL = Path(sys.executable).with_name("footfall")


def write_config(
    path: Path,
    *,
    broker_port: int,
    influx_port: int,
    database: str,
    spool_path: Path,
    now_utc: datetime,
) -> Path:
    """An aggregator config whose store's business day started 12 h before ``now_utc``, so
    every interval the emulator sends counts towards today's occupancy."""
    reset = (now_utc - timedelta(hours=12)).strftime("%H:%M")
    document = {
        "mqtt": {"port": broker_port, "keepalive_seconds": 5},
        "influx": {"url": f"http://127.0.0.1:{influx_port}", "database": database},
        "stores": [{"id": STORE, "timezone": "UTC", "daily_reset_local_time": reset}],
        "spool_path": str(spool_path),
        "batch_points": 500,
        "batch_seconds": 0.2,
    }
    path.write_text(yaml.safe_dump(document))
    return path


@dataclass
class AggregatorProcess:
    """``footfall aggregator run`` as a subprocess; ``kill`` is SIGKILL (a crash)."""

    config_path: Path
    client_id: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(FOOTFALL),
                    "aggregator",
                    "run",
                    "--config",
                    str(self.config_path),
                    "--client-id",
                    self.client_id,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def connections(self) -> int:
        if not self.log_path.exists():
            return 0
        return self.log_path.read_text(errors="replace").count("connected to MQTT")

    def start_and_wait(self, timeout_seconds: float = 30) -> None:
        before = self.connections()
        self.start()
        deadline = time.monotonic() + timeout_seconds
        while self.connections() <= before:
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"aggregator did not connect:\n{self.log_tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


@dataclass(frozen=True)
class Totals:
    entries: int
    exits: int
    intervals: int


def make_intervals(
    cameras: int, per_camera: int, now_utc: datetime, seed: int = 1
) -> list[CountInterval]:
    """Interleaved one-second intervals of several cameras ending ten minutes ago."""
    generator = random.Random(seed)
    first = now_utc.replace(microsecond=0) - timedelta(seconds=per_camera + 600)
    messages = []
    for index in range(per_camera):
        start = first + timedelta(seconds=index)
        for camera in range(cameras):
            messages.append(
                CountInterval(
                    store_id=STORE,
                    camera_id=f"camera {camera}",
                    sequence=index,
                    interval_start_utc=start,
                    interval_end_utc=start + timedelta(seconds=1),
                    frames=10,
                    lines={
                        "entrance": LineCount(
                            entries=generator.randint(0, 6), exits=generator.randint(0, 6)
                        )
                    },
                    software_version="test",
                    config_fingerprint="0123abcd",
                )
            )
    return messages


def totals_of(messages: list[CountInterval]) -> Totals:
    return Totals(
        sum(line.entries for message in messages for line in message.lines.values()),
        sum(line.exits for message in messages for line in message.lines.values()),
        sum(len(message.lines) for message in messages),
    )


def stored_totals(influx: InfluxClient) -> Totals:
    series = influx.query("SELECT sum(entries), sum(exits), count(entries) FROM line_counts")
    if not series:
        return Totals(0, 0, 0)
    _, entries, exits, count = series[0].values[0]
    return Totals(int(entries), int(exits), int(count))


def wait_for_totals(influx: InfluxClient, expected: Totals, timeout_seconds: float) -> Totals:
    deadline = time.monotonic() + timeout_seconds
    found = stored_totals(influx)
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        found = stored_totals(influx)
    return found


class EdgeEmulator:
    """Publishes payloads in order at ``rate_per_second`` (see the module docstring)."""

    def __init__(
        self,
        port: int,
        client_id: str,
        items: list[tuple[str, bytes]],
        rate_per_second: float,
        replay_seconds: float = 300.0,
    ) -> None:
        self.items = items
        self._interval_seconds = 1.0 / rate_per_second
        self._replay_seconds = replay_seconds
        self._acknowledged_at: dict[int, float] = {}
        self._index_by_mid: dict[int, int] = {}
        self._early_acknowledgements: dict[int, ReasonCode] = {}
        self._lock = threading.Lock()
        self._connections = 0
        self.sent = 0
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.max_inflight_messages_set(20)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._retry: list[int] = []
        self.replays = 0
        self.resent_for_no_subscriber = 0
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self._client.connect_async(
            "127.0.0.1", port, keepalive=5, clean_start=False, properties=properties
        )
        self._thread = threading.Thread(target=self._publish_all, daemon=True)
        self._stopping = threading.Event()
        self._retry_thread = threading.Thread(target=self._retry_loop, daemon=True)

    @classmethod
    def for_intervals(
        cls, port: int, client_id: str, messages: list[CountInterval], rate_per_second: float
    ) -> EdgeEmulator:
        items = [
            (counts_topic(m.store_id, m.camera_id), m.model_dump_json().encode()) for m in messages
        ]
        return cls(port, client_id, items, rate_per_second)

    def start(self) -> None:
        self._client.loop_start()
        self._thread.start()
        self._retry_thread.start()

    def _publish_all(self) -> None:
        next_send = time.monotonic()
        for index in range(len(self.items)):
            self._send(self._client, index)
            self.sent += 1
            next_send += self._interval_seconds
            time.sleep(max(0.0, next_send - time.monotonic()))

    def _send(self, client: mqtt.Client, index: int) -> None:
        """Publish item ``index``. No lock of ours is held while paho runs: paho calls
        ``on_publish`` with its own lock held, and that callback takes ours."""
        topic, payload = self.items[index]
        info = client.publish(topic, payload, qos=1)
        with self._lock:
            early = self._early_acknowledgements.pop(info.mid, None)
            if early is None:
                self._index_by_mid[info.mid] = index
            else:
                self._settle(index, early)

    def _settle(self, index: int, reason: ReasonCode) -> None:
        """Record a PUBACK (our lock held): delivered, or to be sent again."""
        if reason.is_failure or reason.value == NO_MATCHING_SUBSCRIBERS:
            self._retry.append(index)
        else:
            self._acknowledged_at.setdefault(index, time.monotonic())

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self._connections += 1
        if self._connections > 1:
            self._replay(client)

    def _retry_loop(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                due, self._retry = self._retry, []
            for index in due:
                self.resent_for_no_subscriber += 1
                self._send(self._client, index)

    def _replay(self, client: mqtt.Client) -> None:
        self.replays += 1
        now = time.monotonic()
        with self._lock:
            recent = sorted(
                index
                for index, moment in self._acknowledged_at.items()
                if now - moment <= self._replay_seconds
            )
        for index in recent:
            self._send(client, index)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        with self._lock:
            index = self._index_by_mid.pop(mid, None)
            if index is None:  # PUBACK before _send recorded the mid
                self._early_acknowledgements[mid] = reason
            else:
                self._settle(index, reason)

    def acknowledged(self) -> int:
        with self._lock:
            return len(self._acknowledged_at)

    def wait_all_acknowledged(self, timeout_seconds: float) -> bool:
        self._thread.join(timeout_seconds)
        deadline = time.monotonic() + timeout_seconds
        while self.acknowledged() < len(self.items) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acknowledged() == len(self.items)

    def stop(self) -> None:
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()


def retained_occupancy(
    port: int, store_id: str = STORE, timeout_seconds: float = 5
) -> dict[str, Any]:
    """The retained occupancy message of a store, as JSON."""
    received: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda _client, _userdata, message: received.append(bytes(message.payload))
    client.connect("127.0.0.1", port)
    client.subscribe(occupancy_topic(store_id), qos=1)
    client.loop_start()
    deadline = time.monotonic() + timeout_seconds
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    assert received, f"no retained occupancy for {store_id!r}"
    document: dict[str, Any] = json.loads(received[-1])
    return document


def wait_for_occupancy(port: int, expected: Totals, timeout_seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    while True:
        document = retained_occupancy(port)
        figures = (document["entries_today"], document["exits_today"])
        if figures == (expected.entries, expected.exits) or time.monotonic() > deadline:
            return document
        time.sleep(0.5)


def utc_now() -> datetime:
    return datetime.now(UTC)
