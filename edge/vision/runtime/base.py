"""The part every exported-model backend shares: letterbox, batch, run, decode, map back.

A backend supplies an ``InferenceSession`` (``run``: N×3×H×W float32 RGB 0…1 blob → raw
``N×C×A`` output); ``ExportedModelDetector`` does the rest, so ONNX Runtime and OpenVINO give
the same people for the same raw output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.vision.detections import People
from edge.vision.letterbox import Blob, Frame, Letterbox, rectangular_input_shape, to_blob
from edge.vision.runtime.decoding import DecodedPeople, DecodingSettings, decode_batch
from edge.vision.runtime.metadata import ExportedModel, ModelMetadata


class InferenceSession(Protocol):
    batching_pays: bool
    """Whether one run of N images is faster than N runs of one (measured per runtime)."""

    def run(self, blob: Blob) -> npt.NDArray[np.float32]:
        """Raw model output for a batch of inputs."""
        ...


class ExportedModelDetector:
    """A detector on an exported YOLO model (see ``edge.vision.detector.Detector``).

    With a dynamic-shape export each frame is letterboxed to the smallest stride-multiple
    rectangle whose longest side is ``config.imgsz`` (a 768×576 frame runs at 1280×960 input
    pixels, not 1280×1280); a fixed-shape export gets its own shape. Frames (or tiles) of one
    shape are run as one batch when the export's batch dimension is dynamic and batching pays
    on the runtime.
    """

    def __init__(
        self, name: str, exported: ExportedModel, session: InferenceSession, config: DetectorConfig
    ) -> None:
        metadata = exported.metadata
        if not metadata.accepts(config.imgsz):
            raise ValueError(
                f"exported model {exported.directory} has a fixed "
                f"{metadata.shape_label()} input; detector.imgsz {config.imgsz} does not match"
            )
        self.name = name
        self.exported = exported
        self.config = config
        self._session = session
        self._settings = DecodingSettings(
            confidence=config.confidence,
            iou=config.iou,
            class_count=len(metadata.class_names),
            keypoint_shape=metadata.keypoint_shape,
        )
        self._letterboxes: dict[tuple[int, int], Letterbox] = {}
        self._scaled_letterboxes: dict[tuple[int, int, float], Letterbox] = {}

    @property
    def metadata(self) -> ModelMetadata:
        return self.exported.metadata

    def letterbox_for(self, frame_height: int, frame_width: int) -> Letterbox:
        """The letterbox this detector uses for frames of this size (cached per size)."""
        key = (frame_height, frame_width)
        if key not in self._letterboxes:
            metadata = self.metadata
            if metadata.input_height is None or metadata.input_width is None:
                input_height, input_width = rectangular_input_shape(
                    frame_height, frame_width, self.config.imgsz, metadata.stride
                )
            else:
                input_height, input_width = metadata.input_height, metadata.input_width
            self._letterboxes[key] = Letterbox(frame_height, frame_width, input_height, input_width)
        return self._letterboxes[key]

    @property
    def stride(self) -> int:
        return self.metadata.stride

    @property
    def supports_scaled_input(self) -> bool:
        """Whether ``detect_scaled`` can run: the export's input shape is free."""
        return self.metadata.input_height is None or self.metadata.input_width is None

    def full_frame_scale(self, frame_height: int, frame_width: int) -> float:
        """Input pixels per source pixel of ``detect`` on a frame of this size."""
        letterbox = self.letterbox_for(frame_height, frame_width)
        return min(letterbox.scale_x, letterbox.scale_y)

    def letterbox_at_scale(self, frame_height: int, frame_width: int, scale: float) -> Letterbox:
        """A letterbox into the smallest stride-multiple input holding the frame at ``scale``
        input pixels per source pixel (regions of interest: edge/vision/regions.py)."""
        key = (frame_height, frame_width, scale)
        if key not in self._scaled_letterboxes:
            stride = self.metadata.stride
            input_height = math.ceil(frame_height * scale / stride - 1e-9) * stride
            input_width = math.ceil(frame_width * scale / stride - 1e-9) * stride
            self._scaled_letterboxes[key] = Letterbox(
                frame_height, frame_width, input_height, input_width
            )
        return self._scaled_letterboxes[key]

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        return self._detect(frames, self.letterbox_for)

    def detect_scaled(self, frames: Sequence[Frame], scale: float) -> list[People]:
        """People per frame, each run at ``scale`` input pixels per source pixel."""
        if not self.supports_scaled_input:
            raise ValueError(f"{self.exported.directory} has a fixed input shape")
        return self._detect(
            frames, lambda height, width: self.letterbox_at_scale(height, width, scale)
        )

    def _detect(
        self, frames: Sequence[Frame], letterbox_for: Callable[[int, int], Letterbox]
    ) -> list[People]:
        results: list[People | None] = [None] * len(frames)
        for indices in self._batches(frames):
            first = frames[indices[0]]
            letterbox = letterbox_for(first.shape[0], first.shape[1])
            blob = to_blob([letterbox.apply(frames[index]) for index in indices])
            decoded = decode_batch(self._run(blob), self._settings)
            for index, people in zip(indices, decoded, strict=True):
                results[index] = _to_source(people, letterbox)
        return [people if people is not None else People() for people in results]

    def _run(self, blob: Blob) -> npt.NDArray[np.float32]:
        """Raw output for exactly the images in ``blob`` (zero-padded to a fixed batch size)."""
        count, fixed = len(blob), self.metadata.batch
        if fixed is None or fixed == count:
            return self._session.run(blob)
        padding = np.zeros((fixed - count, *blob.shape[1:]), dtype=blob.dtype)
        return self._session.run(np.concatenate([blob, padding]))[:count]

    def _batches(self, frames: Sequence[Frame]) -> list[list[int]]:
        """Frame indices grouped by frame size, split to the export's fixed batch size (or
        to single frames where batching does not pay)."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, frame in enumerate(frames):
            groups.setdefault(frame.shape, []).append(index)
        size = self.metadata.batch or (None if self._session.batching_pays else 1)
        batches: list[list[int]] = []
        for indices in groups.values():
            step = size or len(indices)
            batches.extend(indices[start : start + step] for start in range(0, len(indices), step))
        return batches


def _to_source(people: DecodedPeople, letterbox: Letterbox) -> People:
    keypoints = None
    if people.keypoints is not None:
        keypoints = letterbox.keypoints_to_source(people.keypoints)
    return People(
        boxes=letterbox.boxes_to_source(people.boxes), scores=people.scores, keypoints=keypoints
    )
