"""Aspect-preserving resize and padding of camera frames to a network input, and back.

Two coordinate spaces meet here: *source-frame pixels* (the camera frame, what every other
module speaks) and *input pixels* (the letterboxed image the network sees). ``Letterbox``
holds the mapping between the two for one frame shape and converts network outputs back.

The arithmetic follows ultralytics' ``LetterBox`` (centred padding with grey 114, each side
rounded, ``cv2.INTER_LINEAR``) so that a runtime backend sees the very same pixels as the
ultralytics backend and their detections agree to a fraction of a pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
Blob = npt.NDArray[np.float32]

PADDING_VALUE = 114
"""Grey used by ultralytics for padding (training saw it too)."""


def rectangular_input_shape(
    frame_height: int, frame_width: int, imgsz: int, stride: int
) -> tuple[int, int]:
    """``(height, width)`` of the smallest stride-multiple rectangle that holds the frame
    scaled so its longest side is ``imgsz`` input pixels (e.g. 768×576 at 1280 → 960×1280)."""
    if imgsz % stride:
        raise ValueError(f"imgsz {imgsz} must be a multiple of the model stride {stride}")
    ratio = min(imgsz / frame_height, imgsz / frame_width)
    resized_height = max(round(frame_height * ratio), 1)
    resized_width = max(round(frame_width * ratio), 1)
    height = resized_height + (imgsz - resized_height) % stride
    width = resized_width + (imgsz - resized_width) % stride
    return height, width


@dataclass(frozen=True)
class Letterbox:
    """Mapping from a ``frame_height``×``frame_width`` source frame to an
    ``input_height``×``input_width`` network input: scale, then centred padding.

    ``scale_x``/``scale_y`` are input pixels per source pixel (equal up to rounding);
    ``pad_left``/``pad_top`` are input pixels of padding before the image.
    """

    frame_height: int
    frame_width: int
    input_height: int
    input_width: int

    def __post_init__(self) -> None:
        sizes = (self.frame_height, self.frame_width, self.input_height, self.input_width)
        if min(sizes) < 1:
            raise ValueError(f"letterbox sizes must be positive, got {sizes}")

    @property
    def _ratio(self) -> float:
        return min(self.input_height / self.frame_height, self.input_width / self.frame_width)

    @property
    def resized_height(self) -> int:
        return max(round(self.frame_height * self._ratio), 1)

    @property
    def resized_width(self) -> int:
        return max(round(self.frame_width * self._ratio), 1)

    @property
    def scale_x(self) -> float:
        return self.resized_width / self.frame_width

    @property
    def scale_y(self) -> float:
        return self.resized_height / self.frame_height

    @property
    def pad_left(self) -> int:
        return round((self.input_width - self.resized_width) / 2 - 0.1)

    @property
    def pad_top(self) -> int:
        return round((self.input_height - self.resized_height) / 2 - 0.1)

    def apply(self, frame: Frame) -> Frame:
        """The letterboxed BGR input image (``input_height``×``input_width``×3, uint8)."""
        if frame.shape[:2] != (self.frame_height, self.frame_width):
            raise ValueError(
                f"frame is {frame.shape[1]}×{frame.shape[0]}, this letterbox is for "
                f"{self.frame_width}×{self.frame_height}"
            )
        image: npt.NDArray[np.integer[Any] | np.floating[Any]] = frame
        if (self.resized_height, self.resized_width) != frame.shape[:2]:
            image = cv2.resize(
                frame, (self.resized_width, self.resized_height), interpolation=cv2.INTER_LINEAR
            )
        pad_right = self.input_width - self.resized_width - self.pad_left
        pad_bottom = self.input_height - self.resized_height - self.pad_top
        if self.pad_left or self.pad_top or pad_right or pad_bottom:
            image = cv2.copyMakeBorder(
                image,
                self.pad_top,
                pad_bottom,
                self.pad_left,
                pad_right,
                cv2.BORDER_CONSTANT,
                value=(PADDING_VALUE, PADDING_VALUE, PADDING_VALUE),
            )
        return np.ascontiguousarray(image, dtype=np.uint8)

    def boxes_to_source(self, boxes: FloatArray) -> FloatArray:
        """N×4 ``x1, y1, x2, y2`` input pixels → source-frame pixels, clipped to the frame."""
        return self._to_source(boxes, columns_x=[0, 2], columns_y=[1, 3])

    def keypoints_to_source(self, keypoints: FloatArray) -> FloatArray:
        """N×K×3 ``x, y, confidence`` input pixels → source-frame pixels, clipped to the frame;
        confidences unchanged."""
        return self._to_source(keypoints, columns_x=[0], columns_y=[1])

    def _to_source(
        self, values: FloatArray, columns_x: list[int], columns_y: list[int]
    ) -> FloatArray:
        mapped = np.array(values, dtype=np.float64, copy=True)
        mapped[..., columns_x] = (mapped[..., columns_x] - self.pad_left) / self.scale_x
        mapped[..., columns_y] = (mapped[..., columns_y] - self.pad_top) / self.scale_y
        mapped[..., columns_x] = np.clip(mapped[..., columns_x], 0, self.frame_width)
        mapped[..., columns_y] = np.clip(mapped[..., columns_y], 0, self.frame_height)
        return mapped


def to_blob(images: Sequence[Frame]) -> Blob:
    """Same-shape BGR uint8 images → one N×3×H×W float32 RGB batch scaled to 0…1."""
    return np.asarray(cv2.dnn.blobFromImages(list(images), 1.0 / 255.0, swapRB=True))
