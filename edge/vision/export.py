"""Convert an ultralytics model once (needs torch) into a runtime model plus ``footfall.json``.

``footfall edge export`` calls ``export_model``. The export runs in a scratch copy of the
weights, because ultralytics writes its output beside the source file (which may be inside a
read-only site-packages). Nothing is downloaded: ``YOLO_OFFLINE`` / ``YOLO_AUTOINSTALL`` are
set first, and the runtimes ultralytics needs for exporting are pip dependencies of
``footfall[edge]``.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.offline import disable_ultralytics_sync, prepare_offline, resolve_model_path
from edge.vision.letterbox import rectangular_input_shape
from edge.vision.runtime.metadata import (
    MODEL_FILES,
    ExportedModel,
    ExportFormat,
    ModelMetadata,
    export_directory_name,
    file_sha256,
    find_exports,
    models_dir,
    write_metadata,
)

DEFAULT_EXPORT_IMGSZ = 1280
MODEL_STRIDE = 32


@dataclass(frozen=True)
class ExportRequest:
    """What to export. ``frame_size`` (width, height in source pixels) picks the rectangle of a
    fixed-shape export; ``dynamic`` exports leave batch, height and width free."""

    model: Path | None = None
    """ultralytics weights; None: the bundled yolo11n-pose."""
    imgsz: int = DEFAULT_EXPORT_IMGSZ
    format: ExportFormat = ExportFormat.ONNX
    output_dir: Path | None = None
    """Where the export directory goes; None: ``models_dir()``."""
    dynamic: bool = True
    frame_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.imgsz % MODEL_STRIDE or self.imgsz < MODEL_STRIDE:
            raise ValueError(
                f"imgsz must be a positive multiple of {MODEL_STRIDE}, got {self.imgsz}"
            )
        if self.dynamic and self.frame_size is not None:
            raise ValueError("frame_size fixes the input shape; it cannot go with a dynamic export")

    def input_shape(self) -> tuple[int, int] | None:
        """``(height, width)`` input pixels of a fixed-shape export; None when dynamic."""
        if self.dynamic:
            return None
        if self.frame_size is None:
            return self.imgsz, self.imgsz
        width, height = self.frame_size
        return rectangular_input_shape(height, width, self.imgsz, MODEL_STRIDE)


@dataclass(frozen=True)
class ExportResult:
    exported: ExportedModel
    created: bool
    """False when ``if_missing`` found an equivalent export already on disk."""


def export_model(request: ExportRequest, if_missing: bool = False) -> ExportResult:
    """Export ``request.model`` and write ``footfall.json``; returns the export directory."""
    source = resolve_model_path(None if request.model is None else str(request.model))
    source_sha256 = file_sha256(source)
    output_dir = (request.output_dir or models_dir()).expanduser()
    if if_missing:
        existing = _existing_export(output_dir, source_sha256, request)
        if existing is not None:
            return ExportResult(exported=existing, created=False)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="footfall-export-", dir=output_dir) as scratch:
        scratch_dir = Path(scratch)
        weights = scratch_dir / source.name
        shutil.copy2(source, weights)
        model, produced = _run_ultralytics_export(weights, request)
        metadata = _metadata(model, source, source_sha256, request)
        directory = output_dir / export_directory_name(source, source_sha256, metadata)
        staging = scratch_dir / "staging"
        staging.mkdir()
        _collect_model_files(produced, staging, request.format)
        write_metadata(staging, metadata)
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    return ExportResult(ExportedModel(directory=directory, metadata=metadata), created=True)


def _existing_export(
    output_dir: Path, source_sha256: str, request: ExportRequest
) -> ExportedModel | None:
    shape = request.input_shape()
    for exported in find_exports(output_dir, source_sha256=source_sha256):
        metadata = exported.metadata
        same_shape = (
            metadata.dynamic
            if shape is None
            else (metadata.input_height, metadata.input_width) == shape
        )
        if metadata.format is request.format and same_shape:
            return exported
    return None


def _run_ultralytics_export(weights: Path, request: ExportRequest) -> tuple[Any, Path]:
    """The loaded ultralytics model and the ONNX file its exporter produced (OpenVINO IR is
    converted from it by the OpenVINO runtime, not by ultralytics' exporter, whose model
    converter may try to send usage telemetry)."""
    prepare_offline()
    disable_ultralytics_sync()
    from ultralytics.models.yolo.model import YOLO

    model = YOLO(str(weights))
    shape = request.input_shape()
    with warnings.catch_warnings():
        # torch.jit tracing notes (deprecation, TracerWarning on shape checks the export
        # makes dynamic): noise for the user; the exported graph is checked by the tests.
        warnings.simplefilter("ignore")
        produced = model.export(
            format="onnx",
            imgsz=request.imgsz if shape is None else list(shape),
            dynamic=request.dynamic,
            simplify=True,
            half=False,
            batch=1,
            device="cpu",
            verbose=False,
        )
    return model, Path(str(produced))


def _collect_model_files(onnx_file: Path, destination: Path, export_format: ExportFormat) -> None:
    """Put the model in ``destination`` as ``model.onnx``, or as OpenVINO IR
    ``model.xml`` + ``model.bin`` (float32 weights) read from the ONNX file."""
    if export_format is ExportFormat.ONNX:
        shutil.move(onnx_file, destination / MODEL_FILES[export_format])
        return
    import openvino

    model = openvino.Core().read_model(str(onnx_file))
    openvino.save_model(
        model, str(destination / MODEL_FILES[export_format]), compress_to_fp16=False
    )


def _metadata(
    model: Any, source: Path, source_sha256: str, request: ExportRequest
) -> ModelMetadata:
    import ultralytics

    network = model.model
    keypoint_shape = getattr(network, "kpt_shape", None)
    shape = request.input_shape()
    return ModelMetadata(
        format=request.format,
        task="pose" if model.task == "pose" else "detect",
        imgsz=request.imgsz,
        input_height=None if shape is None else shape[0],
        input_width=None if shape is None else shape[1],
        batch=None if request.dynamic else 1,
        stride=int(max(network.stride)),
        class_names={int(index): str(name) for index, name in model.names.items()},
        keypoint_shape=None if keypoint_shape is None else tuple(int(v) for v in keypoint_shape),
        keypoint_layout="coco17"
        if keypoint_shape is not None and keypoint_shape[0] == 17
        else None,
        source_model=source.name,
        source_sha256=source_sha256,
        ultralytics_version=ultralytics.__version__,
        exported_utc=datetime.now(UTC),
    )
