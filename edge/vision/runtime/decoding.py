"""Decoding of raw YOLO11 (detect / pose) outputs into people, in input pixels.

An exported YOLO11 model outputs ``B×C×N``: for each of N anchor points ``cx, cy, w, h`` (input
pixels), one sigmoid score per class, then (pose) ``K×3`` keypoints ``x, y, confidence``.
Decoding mirrors ultralytics' ``non_max_suppression``: best class per anchor, strict
``score > confidence``, class-aware NMS at ``iou``, at most ``max_detections`` per image —
vectorised with numpy and ``cv2.dnn.NMSBoxes``, never a Python loop over boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
PERSON_CLASS = 0


@dataclass(frozen=True)
class DecodedPeople:
    """People found in one network input; coordinates in input pixels."""

    boxes: FloatArray
    """N×4 ``x1, y1, x2, y2``."""
    scores: FloatArray
    keypoints: FloatArray | None
    """N×K×3 ``x, y, confidence`` for pose models."""


@dataclass(frozen=True)
class DecodingSettings:
    confidence: float
    iou: float
    class_count: int
    keypoint_shape: tuple[int, int] | None = None
    max_detections: int = 300

    def __post_init__(self) -> None:
        if not 0 < self.confidence <= 1 or not 0 < self.iou <= 1:
            raise ValueError(f"confidence and iou must be in (0, 1], got {self}")
        if self.class_count < 1 or self.max_detections < 1:
            raise ValueError(f"class_count and max_detections must be >= 1, got {self}")

    @property
    def channels(self) -> int:
        keypoint_values = 0
        if self.keypoint_shape is not None:
            keypoint_values = self.keypoint_shape[0] * self.keypoint_shape[1]
        return 4 + self.class_count + keypoint_values


def decode_batch(
    output: npt.NDArray[np.floating], settings: DecodingSettings
) -> list[DecodedPeople]:
    """``B×C×N`` raw model output → people per image (person class only)."""
    if output.ndim != 3 or output.shape[1] != settings.channels:
        raise ValueError(
            f"model output has shape {output.shape}, expected B×{settings.channels}×N "
            "(is the metadata for this model?)"
        )
    return [decode_image(prediction, settings) for prediction in output]


def decode_image(prediction: npt.NDArray[np.floating], settings: DecodingSettings) -> DecodedPeople:
    """One image's ``C×N`` raw output → its people after NMS."""
    rows = np.asarray(prediction, dtype=np.float64).T
    class_scores = rows[:, 4 : 4 + settings.class_count]
    best_class = class_scores.argmax(axis=1)
    best_score = class_scores.max(axis=1)
    candidates = np.flatnonzero((best_class == PERSON_CLASS) & (best_score > settings.confidence))
    rows = rows[candidates]
    scores = best_score[candidates]
    centres, sizes = rows[:, 0:2], rows[:, 2:4]
    corners = centres - sizes / 2
    kept = _non_max_suppression(corners, sizes, scores, settings)
    boxes = np.concatenate([corners[kept], corners[kept] + sizes[kept]], axis=1)
    keypoints = None
    if settings.keypoint_shape is not None:
        start = 4 + settings.class_count
        keypoints = rows[kept, start:].reshape(len(kept), *settings.keypoint_shape)
    return DecodedPeople(boxes=boxes, scores=scores[kept], keypoints=keypoints)


def _non_max_suppression(
    corners: FloatArray, sizes: FloatArray, scores: FloatArray, settings: DecodingSettings
) -> npt.NDArray[np.int64]:
    """Indices kept by greedy NMS, highest score first (boxes given as top-left + size)."""
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    rectangles = np.concatenate([corners, sizes], axis=1).tolist()
    kept = cv2.dnn.NMSBoxes(rectangles, scores.tolist(), settings.confidence, settings.iou)
    return np.asarray(kept, dtype=np.int64).reshape(-1)[: settings.max_detections]
