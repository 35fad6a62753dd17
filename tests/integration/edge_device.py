"""An edge device for the reliability tests: the real publishing path in its own process.

``python -m tests.integration.edge_device CONFIG PLAN`` loads an edge config with
``load_config``, opens its sink with ``open_sink`` (an ``MqttSink``: one ``MqttPublisher`` and
MQTT connection per camera, one durable ``Outbox`` with the default re-send window), submits
the plan's one-second intervals of every camera at the plan's rate, prints
``stored <CountInterval JSON>`` once each submit has returned (the interval is durable then),
flushes, prints ``done <DeviceReport JSON>`` and exits. Only the worker's frame loop is left
out: the intervals are generated instead of counted from video.

``EdgeDevice`` is the test's side: it writes the config and the plan, starts the process and
collects what it printed. Those printed intervals are the edge totals that InfluxDB must equal.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from edge.config import load_config
from edge.transport.sinks import MqttSink, open_sink
from protocol.messages import CountInterval, LineCount

REPOSITORY = Path(__file__).resolve().parents[2]
STORED = "stored "
DONE = "done "


class DevicePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_camera: int = Field(ge=1)
    """One-second intervals per camera."""
    rate_per_second: float = Field(gt=0)
    """Submitted intervals per second, all cameras together."""
    now_utc: AwareDatetime
    seed: int = 1
    flush_seconds: float = 60.0
    """How long the device waits for the broker to acknowledge everything before it exits."""


class DeviceReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flushed: bool
    connections_by_camera: dict[str, int]
    outbox_depth: int


def make_intervals(
    store_id: str, camera_ids: list[str], per_camera: int, now_utc: datetime, seed: int = 1
) -> list[CountInterval]:
    """Interleaved one-second intervals of the cameras ending ten minutes before ``now_utc``,
    0-6 entries and exits each on the line ``entrance``."""
    generator = random.Random(seed)
    first = now_utc.replace(microsecond=0) - timedelta(seconds=per_camera + 600)
    messages = []
    for index in range(per_camera):
        start = first + timedelta(seconds=index)
        for camera_id in camera_ids:
            entries, exits = generator.randint(0, 6), generator.randint(0, 6)
            messages.append(
                CountInterval(
                    store_id=store_id,
                    camera_id=camera_id,
                    sequence=index,
                    interval_start_utc=start,
                    interval_end_utc=start + timedelta(seconds=1),
                    frames=10,
                    lines={"entrance": LineCount(entries=entries, exits=exits)},
                    software_version="0.1.0",
                    config_fingerprint="0123abcd",
                )
            )
    return messages


def write_edge_config(path: Path, store_id: str, cameras: int, broker_port: int) -> Path:
    """A device config with ``cameras`` cameras (ids ``camera 0``...), one entrance line
    each, publishing to the broker on ``broker_port``, its outbox next to ``path``."""
    document = {
        "store_id": store_id,
        "cameras": [
            {
                "id": f"camera {index}",
                "source": {"uri": f"rtsp://camera-{index}.invalid/stream"},
                "lines": [
                    {"id": "entrance", "points": [[0, 300], [640, 300]], "inside": [320, 400]}
                ],
            }
            for index in range(cameras)
        ],
        "mqtt": {"port": broker_port, "keepalive_seconds": 5},
        "outbox": {"path": str(path.with_name("outbox.sqlite3"))},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def run_device(config_path: Path, plan_path: Path) -> None:
    """The device process (see the module docstring); its log goes to stderr."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(threadName)s %(levelname)s %(message)s"
    )
    config = load_config(config_path)
    plan = DevicePlan.model_validate_json(plan_path.read_text())
    sink = open_sink(config, software_version="0.1.0")
    if not isinstance(sink, MqttSink):
        raise SystemExit(f"{config_path} has no mqtt section")
    camera_ids = [camera.id for camera in config.cameras]
    messages = make_intervals(config.store_id, camera_ids, plan.per_camera, plan.now_utc, plan.seed)
    sink.start()
    next_submit = time.monotonic()
    for message in messages:
        stored = sink.submit_interval(message)
        print(STORED + stored.model_dump_json(), flush=True)
        next_submit += 1.0 / plan.rate_per_second
        time.sleep(max(0.0, next_submit - time.monotonic()))
    flushed = sink.flush(plan.flush_seconds)
    report = DeviceReport(
        flushed=flushed,
        connections_by_camera={
            camera_id: publisher.status().connections
            for camera_id, publisher in sink.publishers.items()
        },
        outbox_depth=sink.outbox_depth,
    )
    sink.stop(timeout_seconds=0.0)
    print(DONE + report.model_dump_json(), flush=True)


class EdgeDevice:
    """The device process seen from the test: ``start``, ``stored`` (what it has durably
    submitted so far), ``wait_done`` (its report), ``kill`` at teardown."""

    def __init__(
        self, directory: Path, store_id: str, cameras: int, broker_port: int, plan: DevicePlan
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.total = cameras * plan.per_camera
        self.config_path = write_edge_config(
            directory / "edge.yaml", store_id, cameras, broker_port
        )
        self.plan_path = directory / "plan.json"
        self.plan_path.write_text(plan.model_dump_json())
        self.log_path = directory / "edge.log"
        self._stored: list[CountInterval] = []
        self._report: DeviceReport | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.integration.edge_device",
                    str(self.config_path),
                    str(self.plan_path),
                ],
                cwd=REPOSITORY,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._lock:
                if line.startswith(STORED):
                    self._stored.append(CountInterval.model_validate_json(line[len(STORED) :]))
                elif line.startswith(DONE):
                    self._report = DeviceReport.model_validate_json(line[len(DONE) :])

    @property
    def stored(self) -> list[CountInterval]:
        with self._lock:
            return list(self._stored)

    def wait_stored(self, count: int, timeout_seconds: float) -> int:
        """Wait until ``count`` intervals are stored; returns how many are."""
        deadline = time.monotonic() + timeout_seconds
        while len(self.stored) < count:
            if time.monotonic() > deadline or not self.alive():
                raise AssertionError(
                    f"the edge device stored {len(self.stored)} of {count} intervals:\n"
                    + self.log_tail()
                )
            time.sleep(0.01)
        return len(self.stored)

    def wait_done(self, timeout_seconds: float) -> DeviceReport:
        """Wait for the process to exit cleanly; its report."""
        assert self._process is not None
        returncode = self._process.wait(timeout_seconds)
        deadline = time.monotonic() + 5
        while self._report_or_none() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the reader thread is still taking the last line
        report = self._report_or_none()
        assert returncode == 0, f"edge device exited with {returncode}:\n{self.log_tail()}"
        assert report is not None, f"edge device printed no report:\n{self.log_tail()}"
        return report

    def _report_or_none(self) -> DeviceReport | None:
        with self._lock:
            return self._report

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


if __name__ == "__main__":
    run_device(Path(sys.argv[1]), Path(sys.argv[2]))
