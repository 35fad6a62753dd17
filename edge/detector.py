"""Person detection. The only module family that imports a model runtime.

``Detector.detect`` takes BGR uint8 frames and returns, per frame, the people found (person
class only) with boxes in source-frame pixels. Backends: ultralytics (torch) here; ONNX
Runtime / OpenVINO in ``edge.runtime``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.config import DetectorBackend, DetectorConfig
from edge.detections import People
from edge.offline import disable_ultralytics_sync, prepare_offline, resolve_model_path

Frame = npt.NDArray[np.uint8]
PERSON_CLASS = 0


class Detector(Protocol):
    name: str

    def detect(self, frames: Sequence[Frame]) -> list[People]: ...


def _people_from_result(result: Any) -> People:
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return People()
    classes = boxes.cls.cpu().numpy().astype(np.int64)
    keep = classes == PERSON_CLASS
    keypoints = None
    if getattr(result, "keypoints", None) is not None and result.keypoints.data.shape[0] == len(boxes):
        keypoints = result.keypoints.data.cpu().numpy().astype(np.float64)[keep]
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
        from ultralytics import YOLO

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
    """The configured backend; ``auto`` prefers an exported ONNX model, else ultralytics."""
    backend = config.backend
    if backend is DetectorBackend.AUTO:
        backend = DetectorBackend.ULTRALYTICS
    if backend is DetectorBackend.ULTRALYTICS:
        return UltralyticsDetector(config)
    raise NotImplementedError(f"detector backend {backend.value!r} is not available yet")
