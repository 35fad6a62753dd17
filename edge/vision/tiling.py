"""Overlapping tiles: small people seen at a higher scale without a bigger network input.

``TiledDetector`` wraps any detector: it cuts each frame into ``rows``×``columns`` tiles that
overlap by ``overlap`` of a tile, runs the wrapped detector on all tiles of all frames in one
call (a batch where the backend batches), shifts boxes and keypoints back to source-frame
pixels and merges duplicates of one person seen by two tiles. Merging suppresses, across
tiles only, the lower-scored of two boxes whose intersection covers more than
``merge_threshold`` of the smaller box (intersection over smaller, not IoU: a person cut by a
tile edge is a small box inside the full one), and widens the kept box to cover both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.config import TilingConfig
from edge.vision.detections import FloatArray, People
from edge.vision.detector import Detector, Frame

DEFAULT_MERGE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Tile:
    """A rectangle of the source frame: ``left``/``top`` offset and size in source pixels."""

    left: int
    top: int
    width: int
    height: int

    def crop(self, frame: Frame) -> Frame:
        return frame[self.top : self.top + self.height, self.left : self.left + self.width]


def _spans(length: int, count: int, overlap: float) -> list[tuple[int, int]]:
    """``count`` (start, size) spans covering ``length`` pixels, neighbours sharing
    ``overlap`` of a span; all spans have the same size so tiles batch together."""
    size = min(length, math.ceil(length / (count - (count - 1) * overlap)))
    if count == 1:
        return [(0, size)]
    step = (length - size) / (count - 1)
    return [(round(index * step), size) for index in range(count)]


def tile_layout(frame_height: int, frame_width: int, tiling: TilingConfig) -> list[Tile]:
    """Tiles of a frame in row-major order."""
    return [
        Tile(left=left, top=top, width=width, height=height)
        for top, height in _spans(frame_height, tiling.rows, tiling.overlap)
        for left, width in _spans(frame_width, tiling.columns, tiling.overlap)
    ]


class TiledDetector:
    """Runs ``detector`` on overlapping tiles and merges the people (see module docstring)."""

    def __init__(
        self,
        detector: Detector,
        tiling: TilingConfig,
        merge_threshold: float = DEFAULT_MERGE_THRESHOLD,
    ) -> None:
        if not 0 < merge_threshold <= 1:
            raise ValueError(f"merge_threshold must be in (0, 1], got {merge_threshold}")
        self.name = f"{detector.name}+tiles{tiling.rows}x{tiling.columns}"
        self.detector = detector
        self.tiling = tiling
        self.merge_threshold = merge_threshold

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        layouts = [tile_layout(frame.shape[0], frame.shape[1], self.tiling) for frame in frames]
        crops = [
            tile.crop(frame)
            for frame, layout in zip(frames, layouts, strict=True)
            for tile in layout
        ]
        found = self.detector.detect(crops)
        results = []
        start = 0
        for layout in layouts:
            results.append(self._merge(found[start : start + len(layout)], layout))
            start += len(layout)
        return results

    def _merge(self, per_tile: Sequence[People], layout: Sequence[Tile]) -> People:
        shifted = [_shift(people, tile) for people, tile in zip(per_tile, layout, strict=True)]
        tile_index = np.concatenate(
            [np.full(len(people), index, dtype=np.int64) for index, people in enumerate(shifted)]
        )
        boxes = np.concatenate([people.boxes for people in shifted])
        scores = np.concatenate([people.scores for people in shifted])
        keypoint_sets = [people.keypoints for people in shifted]
        keypoints = None
        if len(boxes) and all(item is not None for item in keypoint_sets):
            keypoints = np.concatenate([item for item in keypoint_sets if item is not None])
        order = np.argsort(-scores, kind="stable")
        merged_boxes, kept = merge_across_tiles(
            boxes[order], tile_index[order], self.merge_threshold
        )
        return People(
            boxes=merged_boxes[kept],
            scores=scores[order][kept],
            keypoints=None if keypoints is None else keypoints[order][kept],
        )


def _shift(people: People, tile: Tile) -> People:
    offset = np.array([tile.left, tile.top, tile.left, tile.top], dtype=np.float64)
    keypoints = None
    if people.keypoints is not None:
        keypoints = people.keypoints.copy()
        keypoints[..., 0] += tile.left
        keypoints[..., 1] += tile.top
    return People(boxes=people.boxes + offset, scores=people.scores, keypoints=keypoints)


def intersection_over_smaller(boxes: FloatArray) -> FloatArray:
    """N×N: area of the intersection of boxes i and j over the smaller of their areas."""
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    smaller = np.minimum(areas[:, None], areas[None, :])
    ratio: FloatArray = np.divide(
        intersection, smaller, out=np.zeros_like(intersection), where=smaller > 0
    )
    return ratio


def merge_across_tiles(
    boxes: FloatArray, tile_index: npt.NDArray[np.int64], threshold: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Boxes sorted by descending score (N×4 source pixels) and the tile each came from →
    (boxes widened by what they absorbed, mask of boxes kept).

    A box is dropped when a higher-scored box from another tile covers more than
    ``threshold`` of the smaller of the two; the higher-scored box grows to their union.
    Vectorised (matrix "fast NMS"): a dropped box still drops the boxes below it.
    """
    count = len(boxes)
    if count == 0:
        return boxes, np.zeros(0, dtype=np.bool_)
    other_tile = tile_index[:, None] != tile_index[None, :]
    higher = np.triu(np.ones((count, count), dtype=np.bool_), k=1)
    absorbs = (intersection_over_smaller(boxes) > threshold) & other_tile & higher
    kept = ~absorbs.any(axis=0)
    absorbs &= kept[:, None]
    covered = absorbs | np.eye(count, dtype=np.bool_)
    merged = np.stack(
        [
            np.where(covered, boxes[None, :, 0], np.inf).min(axis=1),
            np.where(covered, boxes[None, :, 1], np.inf).min(axis=1),
            np.where(covered, boxes[None, :, 2], -np.inf).max(axis=1),
            np.where(covered, boxes[None, :, 3], -np.inf).max(axis=1),
        ],
        axis=1,
    )
    return merged, kept
