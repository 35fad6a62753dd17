"""Exports of the bundled yolo11n-pose made once per test session (needs torch), shared by the
detector, tiling and export tests. Each lands in its own temporary models directory."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest

from edge.vision.runtime.metadata import ExportedModel, ExportFormat


@cache
def _models_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="footfall-test-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@cache
def exported(export_format: ExportFormat = ExportFormat.ONNX) -> ExportedModel:
    """A dynamic-shape export of the bundled model in ``models_dir(export_format)``."""
    pytest.importorskip("ultralytics", reason="exporting needs ultralytics and torch")
    from edge.vision.export import ExportRequest, export_model

    request = ExportRequest(output_dir=models_dir(export_format), format=export_format)
    return export_model(request).exported


def models_dir(export_format: ExportFormat = ExportFormat.ONNX) -> Path:
    return _models_root() / export_format.value
