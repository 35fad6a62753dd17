"""The edge worker never opens a socket to anything but loopback: no weight downloads, no
pip installs, no telemetry, no font fetches — on this machine or on a store network.

Proven by tracing every ``connect``/``sendto``/``sendmsg`` system call of the real
``footfall edge run`` process (and its children) with strace while it loads the detector,
counts a clip and publishes to a loopback broker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

from footfall.local_services import LocalService
from tests.edge.exported_models import exported, models_dir
from tests.edge.mqtt_support import Collector

pytestmark = pytest.mark.integration

ADDRESS = re.compile(
    r"sa_family=(?P<family>AF_INET6?|AF_UNIX|AF_NETLINK)"
    r"(?:.*?(?:inet_addr\(\"(?P<ipv4>[^\"]+)\"\)|inet_pton\(AF_INET6, \"(?P<ipv6>[^\"]+)\"))?"
)


def short_clip(footage: Path, path: Path, frames: int = 12) -> None:
    capture = cv2.VideoCapture(str(footage / "vtest.avi"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 7, (768, 576))
    for _ in range(frames):
        ok, image = capture.read()
        assert ok
        writer.write(image)
    writer.release()
    capture.release()


def destinations(trace: str) -> list[str]:
    found = []
    for line in trace.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        for match in ADDRESS.finditer(line):
            family = match["family"]
            if family in {"AF_UNIX", "AF_NETLINK"}:
                found.append(family)
            else:
                found.append(match["ipv4"] or match["ipv6"] or f"{family}?")
    return found


@pytest.mark.parametrize("backend", ["auto", "ultralytics"])
def test_worker_talks_to_loopback_only(
    backend: str, footage: Path, mosquitto_server: LocalService, tmp_path: Path
) -> None:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (make setup installs it)")
    clip = tmp_path / "clip.avi"
    short_clip(footage, clip)
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store_id": "offline-store",
                "cameras": [
                    {
                        "id": "cam",
                        "source": {"uri": str(clip), "fps": 7},
                        "lines": [
                            {"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}
                        ],
                    }
                ],
                "detector": {"backend": backend},
                "mqtt": {
                    "host": "127.0.0.1",
                    "port": mosquitto_server.port,
                    "client_id": f"offline-{backend}",
                },
                "outbox": {"path": str(tmp_path / "outbox.sqlite3")},
            }
        )
    )
    trace = tmp_path / "trace.txt"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("YOLO_")}
    environment["HOME"] = str(tmp_path)  # no ultralytics settings or cached fonts from before
    exported()  # auto then runs the export on OpenVINO / ONNX Runtime
    environment["FOOTFALL_MODELS_DIR"] = str(models_dir())
    subscriber = Collector(mosquitto_server.port, topic="footfall/v1/+/+/counts")
    completed = subprocess.run(
        [
            strace,
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto,sendmsg",
            "-o",
            str(trace),
            sys.executable,
            "-m",
            "footfall.cli",
            "edge",
            "run",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "all delivered: True" in completed.stdout + completed.stderr
    assert subscriber.wait_until(lambda: len(subscriber.counts()) >= 1, 5)
    subscriber.close()
    seen = destinations(trace.read_text())
    network = [address for address in seen if address not in {"AF_UNIX", "AF_NETLINK"}]
    assert "127.0.0.1" in network  # the broker connection was traced, so tracing works
    assert set(network) <= {"127.0.0.1", "::1"}, sorted(set(network))
