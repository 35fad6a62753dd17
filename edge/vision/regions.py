"""Regions of interest: the detector looks only where counting happens.

Coordinates are source-frame pixels. From a camera's lines and zones, ``plan_regions`` derives
the rectangles the detector must see:

- each line: the bounding box of its segment widened by ``margin`` on every side, a band in
  which the tracker sees people for many frames on both sides of the line and which holds the
  whole body of anyone whose feet are within ``margin`` of it (so ``margin`` must be at least
  the height of a person standing at the line);
- each zone: its bounding box widened by ``margin``, for the same reason;
- rectangles that overlap or touch are merged into their bounding box, and each is grown to a
  whole number of network strides at the full-frame scale, until none overlap.

Every region is detected at the full frame's scale (``imgsz`` over the frame's longest side),
so people have the same pixels in the network input as with full frames. A camera without lines
and zones, or whose regions would cost at least ``full_frame_fraction`` of a full frame's input
pixels, keeps full frames.

``RegionDetector`` crops the regions of every frame of every camera, runs the backend on all
crops in one call (one batch per crop shape) and shifts people back to source pixels. At a
region border that is not a frame border, a person cut by the left, right or bottom border is
dropped: their box's bottom-centre (where they stand) is wrong, and they stand near the
region's edge, at least ``margin`` minus a body width from every line and zone, so nobody about
to be counted is lost. A person cut by the top border is kept: the cut takes their head, not
their feet or their horizontal centre. Regions never overlap, so a person seen by two of them
is cut by the bottom border of the upper one and counted once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from edge.config import CameraConfig, RegionsConfig
from edge.vision.detections import FloatArray, People
from edge.vision.detector import Detector, Frame

DEFAULT_MARGIN_FRACTION = 0.2
"""Margin when ``regions.margin_px`` is unset, as a fraction of the frame height: people seen
by ceiling and corner cameras are 0.15-0.2 of the frame high (PETS09 ~90 of 576 px, CAVIAR ~60
of 288 px)."""
BORDER_PX = 2.0
"""A box within this many source pixels of an inner region border is cut by it."""


@runtime_checkable
class ScaledDetector(Protocol):
    """A backend that can detect at a given scale instead of a given input size."""

    name: str
    supports_scaled_input: bool

    def detect_scaled(self, frames: Sequence[Frame], scale: float) -> list[People]:
        """People per frame, each frame run at ``scale`` input pixels per source pixel (the
        input is the smallest stride multiple that holds it); boxes in frame pixels."""
        ...

    def full_frame_scale(self, frame_height: int, frame_width: int) -> float:
        """Input pixels per source pixel when this backend runs a whole frame of this size."""
        ...

    @property
    def stride(self) -> int: ...


@dataclass(frozen=True)
class Rectangle:
    """Source pixels: ``left``/``top`` inclusive, ``right``/``bottom`` exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    def __post_init__(self) -> None:
        if self.right <= self.left or self.bottom <= self.top:
            raise ValueError(f"empty rectangle {self}")

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def meets(self, other: Rectangle) -> bool:
        """Whether the two overlap or share an edge."""
        return (
            self.left <= other.right
            and other.left <= self.right
            and self.top <= other.bottom
            and other.top <= self.bottom
        )

    def union(self, other: Rectangle) -> Rectangle:
        return Rectangle(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def crop(self, frame: Frame) -> Frame:
        return frame[self.top : self.bottom, self.left : self.right]


@dataclass(frozen=True)
class RegionPlan:
    """Where the detector looks in one camera's frames; no regions means the full frame."""

    frame_height: int
    frame_width: int
    scale: float
    """Network input pixels per source pixel, the same as for a full frame."""
    regions: tuple[Rectangle, ...] = ()

    @property
    def full_frame(self) -> bool:
        return not self.regions

    @property
    def area_fraction(self) -> float:
        """Share of the frame's pixels the detector looks at."""
        if self.full_frame:
            return 1.0
        area = sum(region.width * region.height for region in self.regions)
        return area / (self.frame_height * self.frame_width)


def _interest_boxes(camera: CameraConfig) -> list[tuple[float, float, float, float]]:
    """``left, top, right, bottom`` of each line's segment and each zone's polygon."""
    boxes = []
    for line in camera.lines:
        (x1, y1), (x2, y2) = line.points
        boxes.append((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    for zone in camera.zones:
        xs = [point[0] for point in zone.polygon]
        ys = [point[1] for point in zone.polygon]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return boxes


def _merge_meeting(rectangles: list[Rectangle]) -> list[Rectangle]:
    """Bounding boxes of the groups of rectangles that overlap or touch, transitively."""
    merged = list(rectangles)
    changed = True
    while changed:
        changed = False
        for first in range(len(merged)):
            for second in range(first + 1, len(merged)):
                if merged[first].meets(merged[second]):
                    merged[first] = merged[first].union(merged.pop(second))
                    changed = True
                    break
            if changed:
                break
    return sorted(merged, key=lambda item: (item.top, item.left))


def _span_to_stride(start: int, end: int, limit: int, scale: float, stride: int) -> tuple[int, int]:
    """Widen ``[start, end)`` (centred, kept inside ``[0, limit)``) to the most source pixels
    that fit the smallest stride multiple of input pixels holding it at ``scale``."""
    input_size = math.ceil((end - start) * scale / stride - 1e-9) * stride
    size = min(limit, math.floor(input_size / scale + 1e-9))
    first = max(0, min(limit - size, start - (size - (end - start)) // 2))
    return first, first + size


def _fit_to_stride(
    rectangle: Rectangle, frame_height: int, frame_width: int, scale: float, stride: int
) -> Rectangle:
    left, right = _span_to_stride(rectangle.left, rectangle.right, frame_width, scale, stride)
    top, bottom = _span_to_stride(rectangle.top, rectangle.bottom, frame_height, scale, stride)
    return Rectangle(left, top, right, bottom)


def input_pixels(height: int, width: int, scale: float, stride: int) -> int:
    """Network input pixels of a ``height``×``width`` image run at ``scale``."""
    return (
        math.ceil(height * scale / stride - 1e-9)
        * stride
        * math.ceil(width * scale / stride - 1e-9)
        * stride
    )


def plan_regions(
    camera: CameraConfig,
    frame_height: int,
    frame_width: int,
    config: RegionsConfig,
    scale: float,
    stride: int,
) -> RegionPlan:
    """The regions of one camera's frames (see the module docstring)."""
    full = RegionPlan(frame_height, frame_width, scale)
    boxes = _interest_boxes(camera)
    if not config.enabled or not boxes:
        return full
    margin = config.margin_px or DEFAULT_MARGIN_FRACTION * frame_height
    rectangles = []
    for left, top, right, bottom in boxes:
        clipped = (
            max(0, math.floor(left - margin)),
            max(0, math.floor(top - margin)),
            min(frame_width, math.ceil(right + margin)),
            min(frame_height, math.ceil(bottom + margin)),
        )
        if clipped[2] > clipped[0] and clipped[3] > clipped[1]:
            rectangles.append(Rectangle(*clipped))
    if not rectangles:
        return full
    while True:
        merged = _merge_meeting(rectangles)
        fitted = [_fit_to_stride(item, frame_height, frame_width, scale, stride) for item in merged]
        if fitted == rectangles:
            break
        rectangles = fitted
    cost = sum(input_pixels(item.height, item.width, scale, stride) for item in rectangles)
    if cost >= config.full_frame_fraction * input_pixels(frame_height, frame_width, scale, stride):
        return full
    return RegionPlan(frame_height, frame_width, scale, tuple(rectangles))


def count_in_view(points: FloatArray, regions: Sequence[Rectangle]) -> int:
    """How many of ``points`` (N×2 source pixels, e.g. people's feet) lie where the detector
    looks: inside any of ``regions``, or anywhere when there are none (full frames). Truth
    is scored on the same view as the detections (calibrate, audit)."""
    if not regions:
        return len(points)
    inside = np.zeros(len(points), dtype=np.bool_)
    for region in regions:
        inside |= (
            (points[:, 0] >= region.left)
            & (points[:, 0] <= region.right)
            & (points[:, 1] >= region.top)
            & (points[:, 1] <= region.bottom)
        )
    return int(inside.sum())


class RegionDetector:
    """Detects people in each camera's regions of interest (see the module docstring).

    ``detect`` takes frames with their cameras, so frames of several cameras share one call
    to the backend. Backends that cannot run at a given scale (tiled detectors, fixed-shape
    exports) see full frames.
    """

    def __init__(self, detector: Detector, config: RegionsConfig) -> None:
        self.detector = detector
        self.config = config
        self._scaled = (
            detector
            if isinstance(detector, ScaledDetector) and detector.supports_scaled_input
            else None
        )
        self.name = detector.name + ("+regions" if self._scaled and config.enabled else "")
        self._plans: dict[tuple[str, int, int], RegionPlan] = {}

    def plan(self, camera: CameraConfig, frame: Frame) -> RegionPlan:
        """Where the detector looks in this camera's frames of this size (cached)."""
        height, width = frame.shape[:2]
        key = (camera.id, height, width)
        plan = self._plans.get(key)
        if plan is None:
            if self._scaled is None:
                plan = RegionPlan(height, width, 1.0)
            else:
                scale = self._scaled.full_frame_scale(height, width)
                plan = plan_regions(camera, height, width, self.config, scale, self._scaled.stride)
            self._plans[key] = plan
        return plan

    def plans(self) -> dict[str, RegionPlan]:
        """The plan of each camera seen so far, for the last frame size planned."""
        return {camera_id: plan for (camera_id, _, _), plan in self._plans.items()}

    def detect(self, frames: Sequence[Frame], cameras: Sequence[CameraConfig]) -> list[People]:
        """People per frame in source pixels; ``cameras[i]`` is the camera of ``frames[i]``."""
        plans = [self.plan(camera, frame) for frame, camera in zip(frames, cameras, strict=True)]
        results: list[People] = [People()] * len(frames)
        whole = [index for index, plan in enumerate(plans) if plan.full_frame]
        if whole:
            found_whole = self.detector.detect([frames[index] for index in whole])
            for index, people in zip(whole, found_whole, strict=True):
                results[index] = people
        by_scale: dict[float, list[tuple[int, Rectangle]]] = {}
        for index, plan in enumerate(plans):
            for region in plan.regions:
                by_scale.setdefault(plan.scale, []).append((index, region))
        found: dict[int, list[People]] = {}
        for scale, owners in by_scale.items():
            assert self._scaled is not None  # regions are only planned for scaled backends
            crops = [region.crop(frames[index]) for index, region in owners]
            for (index, region), people in zip(
                owners, self._scaled.detect_scaled(crops, scale), strict=True
            ):
                plan = plans[index]
                inner = _uncut(people, region, plan.frame_height, plan.frame_width)
                found.setdefault(index, []).append(_shift(inner, region))
        for index, pieces in found.items():
            results[index] = _concatenate(pieces)
        return results


def _uncut(people: People, region: Rectangle, frame_height: int, frame_width: int) -> People:
    """The people whose feet and centre the crop shows: not cut by the left, right or bottom
    border of ``region`` where that border lies inside the frame (boxes in crop pixels)."""
    boxes = people.boxes
    cut = np.zeros(len(people), dtype=np.bool_)
    if region.left > 0:
        cut |= boxes[:, 0] <= BORDER_PX
    if region.right < frame_width:
        cut |= boxes[:, 2] >= region.width - BORDER_PX
    if region.bottom < frame_height:
        cut |= boxes[:, 3] >= region.height - BORDER_PX
    return people.select(~cut) if cut.any() else people


def _shift(people: People, region: Rectangle) -> People:
    offset = np.array([region.left, region.top, region.left, region.top], dtype=np.float64)
    keypoints = None
    if people.keypoints is not None:
        keypoints = people.keypoints.copy()
        keypoints[..., 0] += region.left
        keypoints[..., 1] += region.top
    return People(boxes=people.boxes + offset, scores=people.scores, keypoints=keypoints)


def _concatenate(pieces: Sequence[People]) -> People:
    pieces = [people for people in pieces if len(people)]
    if len(pieces) <= 1:
        return pieces[0] if pieces else People()
    keypoint_sets = [people.keypoints for people in pieces]
    keypoints = None
    if all(item is not None for item in keypoint_sets):
        keypoints = np.concatenate([item for item in keypoint_sets if item is not None])
    return People(
        boxes=np.concatenate([people.boxes for people in pieces]),
        scores=np.concatenate([people.scores for people in pieces]),
        keypoints=keypoints,
    )
