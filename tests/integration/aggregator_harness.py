"""Test support for the aggregator reliability tests: the aggregator as a real subprocess
(the ``footfall aggregator run`` CLI) and helpers that read totals back from InfluxDB and
occupancy back from the broker. The edge side is ``tests/integration/edge_device.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.storage.influx import InfluxClient
from protocol.messages import CountInterval
from protocol.topics import occupancy_topic

STORE = "store 1, north"  # a space and a comma: escaping is exercised end to end
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
    every interval the edge sends counts towards today's occupancy."""
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
        return len(self.sessions())

    def sessions(self) -> list[str]:
        """Per connection so far: ``new`` or ``resumed`` (the broker still had its session)."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace")
        return re.findall(r"connected to MQTT .*\(session (\w+)\)", text)

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


def assert_occupancy_equals_stored_intervals(
    book_owner: Any, influx: InfluxClient, store_id: str, timeout_seconds: float = 30
) -> tuple[int, int]:
    """Issue 9: at the end of a run a store's occupancy is entries - exits of the entrance
    intervals stored in InfluxDB (plus what clamping at 0 added back, ``drift``), with no
    live crossing left provisional: live crossings and intervals were never counted twice.
    ``book_owner`` is an in-process ``AggregatorService``. Returns the stored totals."""
    escaped = store_id.replace("\\", "\\\\").replace("'", "\\'")
    deadline = time.monotonic() + timeout_seconds
    while True:
        series = influx.query(
            "SELECT sum(entries), sum(exits) FROM line_counts "
            f"WHERE store = '{escaped}' AND entrance = 'true'"
        )
        stored = (int(series[0].values[0][1]), int(series[0].values[0][2])) if series else (0, 0)
        snapshot = book_owner.book.tracker(store_id).snapshot(datetime.now(UTC))
        figures = (snapshot.entries_today, snapshot.exits_today)
        provisional = (snapshot.provisional_entries, snapshot.provisional_exits)
        if (figures, provisional) == (stored, (0, 0)) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    print(
        f"FIGURE stored entrance intervals of {store_id!r} {stored}: occupancy {snapshot.occupancy}"
    )
    assert figures == stored, (figures, stored)
    assert provisional == (0, 0)
    assert snapshot.occupancy == stored[0] - stored[1] + snapshot.drift  # drift: clamped at 0
    return stored
