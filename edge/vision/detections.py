"""Detected and tracked people in one frame, and the point that stands for each person.

Coordinates are source-frame pixels. This module is pure (numpy only) so that counting can be
tested without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# COCO-17 keypoint layout used by ultralytics pose models.
LEFT_ANKLE = 15
RIGHT_ANKLE = 16


def _empty_boxes() -> FloatArray:
    return np.zeros((0, 4), dtype=np.float64)


def _empty_scores() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class People:
    """People in one frame.

    ``boxes`` are N×4 ``x1, y1, x2, y2``; ``scores`` N detector confidences; ``keypoints``
    N×17×3 ``x, y, confidence`` when the model is a pose model; ``track_ids`` N tracker ids
    once tracked (they never leave the device).
    """

    boxes: FloatArray = field(default_factory=_empty_boxes)
    scores: FloatArray = field(default_factory=_empty_scores)
    keypoints: FloatArray | None = None
    track_ids: IntArray | None = None

    def __post_init__(self) -> None:
        count = len(self.boxes)
        if self.boxes.shape != (count, 4):
            raise ValueError(f"boxes must be N×4, got shape {self.boxes.shape}")
        if self.scores.shape != (count,):
            raise ValueError(f"scores must have {count} entries, got shape {self.scores.shape}")
        if self.keypoints is not None and (
            self.keypoints.ndim != 3 or len(self.keypoints) != count or self.keypoints.shape[2] != 3
        ):
            raise ValueError(f"keypoints must be N×K×3, got shape {self.keypoints.shape}")
        if self.track_ids is not None and self.track_ids.shape != (count,):
            raise ValueError(f"track_ids must have {count} entries")

    def __len__(self) -> int:
        return len(self.boxes)

    def select(self, mask: npt.NDArray[np.bool_]) -> People:
        return People(
            boxes=self.boxes[mask],
            scores=self.scores[mask],
            keypoints=None if self.keypoints is None else self.keypoints[mask],
            track_ids=None if self.track_ids is None else self.track_ids[mask],
        )


class ReferencePoint(StrEnum):
    """Which point stands for a person when testing lines and zones."""

    BOTTOM_CENTRE = "bottom_centre"
    """Middle of the box's bottom edge."""
    ANKLES = "ankles"
    """Mean of the confident ankle keypoints; bottom-centre when neither is confident."""


def reference_points(
    people: People, mode: ReferencePoint, keypoint_confidence: float = 0.5
) -> FloatArray:
    """N×2 points where the people stand (feet are where people are)."""
    boxes = people.boxes
    points = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1)
    if mode is ReferencePoint.BOTTOM_CENTRE or people.keypoints is None or len(people) == 0:
        return points
    if people.keypoints.shape[1] <= RIGHT_ANKLE:
        return points
    ankles = people.keypoints[:, [LEFT_ANKLE, RIGHT_ANKLE], :]
    confident = ankles[:, :, 2] >= keypoint_confidence
    weights = confident.astype(np.float64)
    total = weights.sum(axis=1)
    has_ankle = total > 0
    mean_ankle = (ankles[:, :, :2] * weights[:, :, None]).sum(axis=1) / np.maximum(total, 1)[
        :, None
    ]
    points[has_ankle] = mean_ankle[has_ankle]
    return points
