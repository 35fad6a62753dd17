"""``create_detector``: which backend runs, what a torch-free device needs, and the errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import DetectorBackend, DetectorConfig, TilingConfig
from edge.vision.detector import DetectorUnavailableError, create_detector
from edge.vision.runtime.metadata import MODELS_DIR_VARIABLE, ExportFormat
from edge.vision.tiling import TiledDetector
from tests.edge.exported_models import exported, models_dir

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def onnx_models(monkeypatch: pytest.MonkeyPatch) -> Path:
    exported(ExportFormat.ONNX)
    directory = models_dir(ExportFormat.ONNX)
    monkeypatch.setenv(MODELS_DIR_VARIABLE, str(directory))
    return directory


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        (DetectorBackend.AUTO, "openvino"),
        (DetectorBackend.OPENVINO, "openvino"),
        (DetectorBackend.ONNXRUNTIME, "onnxruntime"),
    ],
)
def test_exported_default_model_runs_on_a_runtime(
    onnx_models: Path, backend: DetectorBackend, name: str
) -> None:
    detector = create_detector(DetectorConfig(backend=backend))
    assert detector.name == name
    assert detector.exported.directory.parent == onnx_models  # type: ignore[attr-defined]


def test_tiling_wraps_the_backend(onnx_models: Path) -> None:
    config = DetectorConfig(backend=DetectorBackend.ONNXRUNTIME, imgsz=640, tiling=TilingConfig())
    detector = create_detector(config)
    assert isinstance(detector, TiledDetector)
    assert detector.name == "onnxruntime+tiles2x2"


def test_an_export_directory_can_be_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODELS_DIR_VARIABLE, str(tmp_path))  # empty: the path alone must do
    model = exported(ExportFormat.ONNX)
    config = DetectorConfig(backend=DetectorBackend.ONNXRUNTIME, model=str(model.model_file))
    assert create_detector(config).name == "onnxruntime"


def test_without_an_export_auto_falls_back_to_ultralytics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ultralytics")
    monkeypatch.setenv(MODELS_DIR_VARIABLE, str(tmp_path))
    assert create_detector(DetectorConfig()).name == "ultralytics"


def test_an_explicit_runtime_without_an_export_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODELS_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(DetectorUnavailableError, match="Run 'footfall edge export'") as raised:
        create_detector(DetectorConfig(backend=DetectorBackend.ONNXRUNTIME, imgsz=960))
    assert "usable at imgsz 960" in str(raised.value)
    assert str(tmp_path) in str(raised.value)


def test_a_fixed_export_at_another_size_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("ultralytics")
    from edge.vision.export import ExportRequest, export_model

    fixed = export_model(ExportRequest(output_dir=tmp_path, imgsz=640, dynamic=False)).exported
    config = DetectorConfig(model=str(fixed.directory), imgsz=1280)
    with pytest.raises(DetectorUnavailableError, match="fixed 640x640 input"):
        create_detector(config)


TORCH_FREE_RUN = """
import json, sys
import numpy as np
from edge.config import DetectorConfig, TilingConfig
from edge.vision.detector import create_detector
frame = np.full((576, 768, 3), 114, dtype=np.uint8)
names = []
for config in (DetectorConfig(backend="onnxruntime"), DetectorConfig(), DetectorConfig(
        backend="onnxruntime", imgsz=640, tiling=TilingConfig())):
    detector = create_detector(config)
    detector.detect([frame])
    names.append(detector.name)
heavy = sorted(name for name in ("torch", "ultralytics", "torchvision") if name in sys.modules)
print(json.dumps({"names": names, "heavy": heavy}))
"""


def test_runtime_backends_never_import_torch(onnx_models: Path) -> None:
    environment = {**os.environ, MODELS_DIR_VARIABLE: str(onnx_models)}
    completed = subprocess.run(
        [sys.executable, "-c", TORCH_FREE_RUN],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["names"] == ["onnxruntime", "openvino", "onnxruntime+tiles2x2"]
    assert report["heavy"] == []
