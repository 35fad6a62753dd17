"""Tile layout, intersection-over-smaller merging and the tiled wrapper."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from edge.config import TilingConfig
from edge.vision.detections import People
from edge.vision.detector import Frame
from edge.vision.tiling import (
    Tile,
    TiledDetector,
    intersection_over_smaller,
    merge_across_tiles,
    tile_layout,
)


@pytest.mark.parametrize(
    ("rows", "columns", "overlap", "expected"),
    [
        (1, 1, 0.2, [Tile(0, 0, 768, 576)]),
        (
            2,
            2,
            0.2,
            [
                Tile(0, 0, 427, 320),
                Tile(341, 0, 427, 320),
                Tile(0, 256, 427, 320),
                Tile(341, 256, 427, 320),
            ],
        ),
        (1, 3, 0.0, [Tile(0, 0, 256, 576), Tile(256, 0, 256, 576), Tile(512, 0, 256, 576)]),
    ],
)
def test_tile_layout_covers_the_frame_with_equal_tiles(
    rows: int, columns: int, overlap: float, expected: list[Tile]
) -> None:
    tiling = TilingConfig(rows=rows, columns=columns, overlap=overlap)
    assert tile_layout(576, 768, tiling) == expected


def test_intersection_over_smaller() -> None:
    boxes = np.array([[0.0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 40, 40], [0, 0, 0, 10]])
    ratios = intersection_over_smaller(boxes)
    assert ratios[0, 1] == pytest.approx(1.0)  # the half box lies inside the full one
    assert ratios[1, 0] == pytest.approx(1.0)
    assert ratios[0, 2] == 0.0
    assert ratios[0, 3] == 0.0  # a zero-area box never divides by zero


def test_merge_joins_one_person_seen_by_two_tiles_but_not_two_people_in_one_tile() -> None:
    boxes = np.array(
        [
            [100.0, 50, 130, 140],  # tile 0: whole person
            [115.0, 50, 135, 140],  # tile 1: the same person, cut by tile 1's left edge
            [300.0, 50, 330, 140],  # tile 0: a person ...
            [310.0, 60, 330, 130],  # tile 0: ... and another one partly behind them
        ]
    )
    tiles = np.array([0, 1, 0, 0], dtype=np.int64)
    merged, kept = merge_across_tiles(boxes, tiles, threshold=0.5)
    assert kept.tolist() == [True, False, True, True]
    np.testing.assert_allclose(merged[kept], [[100, 50, 135, 140], boxes[2], boxes[3]])


class WhitePixelDetector:
    """A stand-in detector: one person per image, the bounding box of its white pixels."""

    name = "white-pixels"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        self.calls.append(len(frames))
        found = []
        for frame in frames:
            rows, columns = np.nonzero(frame[..., 0] == 255)
            if len(rows) == 0:
                found.append(People())
                continue
            box = [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]
            found.append(People(boxes=np.array([box], dtype=np.float64), scores=np.array([0.9])))
        return found


def test_tiled_detector_finds_a_person_across_a_tile_edge_once_in_source_pixels() -> None:
    frame = np.zeros((576, 768, 3), dtype=np.uint8)
    frame[200:290, 330:360] = 255  # straddles the vertical overlap band (x 341…427)
    inner = WhitePixelDetector()
    tiled = TiledDetector(inner, TilingConfig(rows=2, columns=2, overlap=0.2))
    (people,) = tiled.detect([frame])
    assert inner.calls == [4]  # all tiles in one call, so a backend can batch them
    assert tiled.name == "white-pixels+tiles2x2"
    np.testing.assert_allclose(people.boxes, [[330, 200, 360, 290]])
    np.testing.assert_allclose(people.scores, [0.9])


def test_tiled_detector_runs_several_frames_in_one_call() -> None:
    empty = np.zeros((576, 768, 3), dtype=np.uint8)
    person = empty.copy()
    person[500:560, 700:720] = 255  # only in the bottom-right tile
    inner = WhitePixelDetector()
    results = TiledDetector(inner, TilingConfig(rows=2, columns=2)).detect([empty, person])
    assert inner.calls == [8]
    assert [len(people) for people in results] == [0, 1]
    np.testing.assert_allclose(results[1].boxes, [[700, 500, 720, 560]])


def test_merge_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="merge_threshold"):
        TiledDetector(WhitePixelDetector(), TilingConfig(), merge_threshold=0.0)
