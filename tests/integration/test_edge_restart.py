"""Reliability test 4: the edge publisher process is killed with SIGKILL mid-stream and
restarted. Everything acknowledged or in the outbox is delivered, sequence numbers continue
after the restart without reuse, and no interval is lost. A real Mosquitto broker (paused
for the last 60 intervals before the kill, so those are in flight when it happens), a real
subscriber, and the publisher in a child process (``child_main`` below)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from edge.config import MqttConfig, OutboxConfig
from edge.transport.outbox import Outbox
from edge.transport.publisher import MqttPublisher
from footfall.local_services import LocalService
from protocol.messages import CameraStatus
from tests.edge.mqtt_support import Collector
from tests.edge.test_outbox import EPOCH, make_interval

pytestmark = pytest.mark.integration

STORE = "restart-store"
CAMERA = "door"
TOTAL_INTERVALS = 300
STALL_AFTER_INTERVALS = 60
KILL_AFTER_INTERVALS = 120
REPOSITORY = Path(__file__).resolve().parents[2]


def entries_for(index: int) -> int:
    return 1 + index % 4


def child_main(outbox_path: str, port: int) -> None:
    """The edge side: resume after the last stored interval, submit the rest of the
    ``TOTAL_INTERVALS`` one-minute intervals, print ``sequence index`` after each durable
    submit, then stop cleanly and print ``done``."""
    outbox = Outbox.from_config(OutboxConfig(path=Path(outbox_path)))
    publisher = MqttPublisher(
        MqttConfig(port=port, keepalive_seconds=5),
        STORE,
        CAMERA,
        outbox,
        software_version="0.1.0",
    )
    publisher.start()
    last_end = outbox.last_interval_end(CAMERA)
    first = 0 if last_end is None else round((last_end - EPOCH) / timedelta(minutes=1))
    for index in range(first, TOTAL_INTERVALS):
        interval = make_interval(index, entries_for(index), store_id=STORE)
        stored = publisher.submit_interval(interval)
        print(stored.sequence, index, flush=True)
        time.sleep(0.01)
    assert publisher.stop(timeout_seconds=30), publisher.status()
    print("done", flush=True)


def start_child(outbox_path: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    """The child process and the lines it has printed so far (filled by a thread)."""
    command = (
        "from tests.integration.test_edge_restart import child_main; "
        f"child_main({str(outbox_path)!r}, {port})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", command],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def wait_for(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def run_and_kill(outbox_path: Path, broker: LocalService) -> set[int]:
    """The first run: after ``STALL_AFTER_INTERVALS`` the broker is paused (PUBACKs stop,
    so the next intervals stay in flight); after ``KILL_AFTER_INTERVALS`` the child gets
    SIGKILL. Returns the sequence numbers it reported as stored."""
    first_run, first_lines = start_child(outbox_path, broker.port)
    wait_for(lambda: len(first_lines) >= STALL_AFTER_INTERVALS, 30, "the first run to submit")
    broker.pause()
    try:
        wait_for(lambda: len(first_lines) >= KILL_AFTER_INTERVALS, 30, "more submits")
        os.kill(first_run.pid, signal.SIGKILL)
        first_run.wait(10)
    finally:
        broker.resume()
    return {int(line.split()[0]) for line in first_lines}


def test_publisher_killed_mid_stream_and_restarted_loses_nothing(
    tmp_path: Path, mosquitto_server: LocalService
) -> None:
    outbox_path = tmp_path / "outbox.sqlite3"
    collector = Collector(mosquitto_server.port, topic=f"footfall/v1/{STORE}/#")

    printed = run_and_kill(outbox_path, mosquitto_server)

    # The Last Will marks the camera offline as soon as the broker sees the socket close.
    wait_for(
        lambda: any(
            CameraStatus.model_validate_json(payload).state == "offline"
            for payload in collector.payloads("/status")
        ),
        10,
        "the Last Will",
    )
    delivered_before_restart = set(collector.unique_counts())
    with Outbox(outbox_path, 1 << 20) as outbox:  # the dead process no longer holds it
        next_sequence = outbox.next_sequence(CAMERA)
        waiting = {message.sequence for message in outbox.pending(CAMERA, limit=10_000)}
    appended = set(range(next_sequence))
    assert printed <= appended
    assert len(waiting) >= 30  # the kill really caught intervals in flight
    assert delivered_before_restart | waiting == appended  # acknowledged or in the outbox

    second_run, second_lines = start_child(outbox_path, mosquitto_server.port)
    assert second_run.wait(60) == 0, second_run.stderr.read() if second_run.stderr else ""
    wait_for(lambda: "done" in second_lines, 5, "the second run's output")
    resumed = [int(line.split()[0]) for line in second_lines if line != "done"]
    assert resumed == list(range(next_sequence, TOTAL_INTERVALS))  # continues, no reuse

    wait_for(lambda: len(collector.unique_counts()) >= TOTAL_INTERVALS, 10, "every interval")
    unique = collector.unique_counts()
    assert set(unique) == set(range(TOTAL_INTERVALS))
    starts = [message.interval_start_utc for message in unique.values()]
    assert sorted(starts) == [EPOCH + timedelta(minutes=index) for index in range(TOTAL_INTERVALS)]
    total_entries = sum(message.lines["entrance"].entries for message in unique.values())
    assert total_entries == sum(entries_for(index) for index in range(TOTAL_INTERVALS))
    final_status = CameraStatus.model_validate_json(collector.payloads("/status")[-1])
    assert final_status.state == "offline"  # the clean stop's explicit offline status
    collector.close()
