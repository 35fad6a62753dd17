"""Exported models on disk: one directory per export holding the runtime model and
``footfall.json`` (``ModelMetadata``), and where such directories are looked for.

Layout of the models directory (``$FOOTFALL_MODELS_DIR``, default ``~/.cache/footfall/models``)::

    yolo11n-pose-1a2b3c4d-dynamic-onnx/
        model.onnx
        footfall.json
    yolo11n-pose-1a2b3c4d-960x1280-openvino/
        model.xml  model.bin
        footfall.json

The directory name carries the source model's name, the first 8 hex digits of its sha256, the
input shape (``dynamic`` or ``HEIGHTxWIDTH`` input pixels) and the format. Nothing here imports
torch, ultralytics or a runtime: the torch-free edge profile reads these files.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

METADATA_FILE = "footfall.json"
MODELS_DIR_VARIABLE = "FOOTFALL_MODELS_DIR"
DEFAULT_MODELS_DIR = Path("~/.cache/footfall/models")


class ExportFormat(StrEnum):
    ONNX = "onnx"
    OPENVINO = "openvino"


MODEL_FILES = {ExportFormat.ONNX: "model.onnx", ExportFormat.OPENVINO: "model.xml"}


class InvalidModelError(ValueError):
    """An exported model directory or its metadata is unusable; the message says why."""


class ModelMetadata(BaseModel):
    """What a runtime backend needs to know about an exported YOLO model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    format: ExportFormat
    task: Literal["detect", "pose"]
    imgsz: Annotated[int, Field(ge=32)]
    """Longest input side in input pixels the model was exported for (nominal when dynamic)."""
    input_height: Annotated[int, Field(ge=32)] | None = None
    input_width: Annotated[int, Field(ge=32)] | None = None
    """Fixed input shape in input pixels; both None when the export has dynamic height/width."""
    batch: Annotated[int, Field(ge=1)] | None = None
    """Fixed batch size; None when the batch dimension is dynamic."""
    stride: Annotated[int, Field(ge=1)] = 32
    class_names: dict[int, str]
    keypoint_shape: tuple[int, int] | None = None
    """``(keypoints, values)`` per person, e.g. ``(17, 3)`` for COCO ``x, y, confidence``."""
    keypoint_layout: str | None = None
    """Name of the keypoint order, ``coco17`` for ultralytics pose models."""
    source_model: str
    """File name of the ultralytics model that was exported."""
    source_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    ultralytics_version: str
    exported_utc: datetime
    precision: Literal["f32", "int8"] = "f32"
    """Weights as exported (f32), or quantised to INT8 for one camera (``footfall edge
    quantize``); INT8 exports are used only where ``detector.model`` names them."""
    calibrated_on: str | None = None
    """INT8: the recording the quantisation was calibrated and checked on."""

    @property
    def dynamic(self) -> bool:
        return self.input_height is None

    def accepts(self, imgsz: int) -> bool:
        """Whether this export can run with ``imgsz`` as the longest input side."""
        if self.input_height is None or self.input_width is None:
            return imgsz % self.stride == 0
        return max(self.input_height, self.input_width) == imgsz

    def shape_label(self) -> str:
        if self.input_height is None:
            return "dynamic"
        return f"{self.input_height}x{self.input_width}"


class ExportedModel(BaseModel):
    """An export directory on disk and its metadata."""

    model_config = ConfigDict(frozen=True)

    directory: Path
    metadata: ModelMetadata

    @property
    def model_file(self) -> Path:
        return self.directory / MODEL_FILES[self.metadata.format]


def models_dir() -> Path:
    """``$FOOTFALL_MODELS_DIR`` when set, else ``~/.cache/footfall/models``."""
    configured = os.environ.get(MODELS_DIR_VARIABLE)
    return Path(configured).expanduser() if configured else DEFAULT_MODELS_DIR.expanduser()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_directory_name(source_model: Path, source_sha256: str, metadata: ModelMetadata) -> str:
    return f"{source_model.stem}-{source_sha256[:8]}-{metadata.shape_label()}-{metadata.format}"


def load_exported_model(path: Path) -> ExportedModel:
    """An export directory, or the model file inside one (``model.onnx`` / ``model.xml``)."""
    directory = path if path.is_dir() else path.parent
    metadata_path = directory / METADATA_FILE
    if not metadata_path.is_file():
        raise InvalidModelError(
            f"{path} has no {METADATA_FILE} beside it: export models with 'footfall edge export'"
        )
    try:
        metadata = ModelMetadata.model_validate_json(metadata_path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise InvalidModelError(f"{metadata_path} is invalid: {error}") from None
    exported = ExportedModel(directory=directory, metadata=metadata)
    if not exported.model_file.is_file():
        raise InvalidModelError(f"{exported.model_file} is missing (listed by {metadata_path})")
    return exported


def write_metadata(directory: Path, metadata: ModelMetadata) -> Path:
    path = directory / METADATA_FILE
    path.write_text(metadata.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def find_exports(
    directory: Path, *, source_sha256: str | None = None, source_model: str | None = None
) -> list[ExportedModel]:
    """Valid exports under ``directory`` (sorted by name) of the model with this sha256
    and/or file name; unreadable export directories are skipped."""
    if not directory.is_dir():
        return []
    found = []
    for metadata_path in sorted(directory.glob(f"*/{METADATA_FILE}")):
        try:
            exported = load_exported_model(metadata_path.parent)
        except InvalidModelError:
            continue
        metadata = exported.metadata
        if source_sha256 is not None and metadata.source_sha256 != source_sha256:
            continue
        if source_model is not None and metadata.source_model != source_model:
            continue
        found.append(exported)
    return found
