"""Regions of interest: planning from lines and zones, cropping, batching, region borders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from edge.config import CameraConfig, RegionsConfig
from edge.vision.detections import People
from edge.vision.detector import Frame
from edge.vision.regions import Rectangle, RegionDetector, RegionPlan, plan_regions

PETS_SCALE = 1280 / 768  # imgsz 1280 on a 768×576 frame: 1280×960 input
STRIDE = 32


def camera(
    lines: Sequence[tuple[float, float, float, float]] = (),
    zones: Sequence[list[tuple[float, float]]] = (),
) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "entrance",
            "source": {"uri": "clip.avi"},
            "lines": [
                {
                    "id": f"line-{index}",
                    "points": [[x1, y1], [x2, y2]],
                    "inside": [x1 + (y2 - y1) + 1, y1 - (x2 - x1) + 1],
                }
                for index, (x1, y1, x2, y2) in enumerate(lines)
            ],
            "zones": [
                {"id": f"zone-{index}", "polygon": polygon} for index, polygon in enumerate(zones)
            ],
        }
    )


def plan(camera_config: CameraConfig, **config: float) -> RegionPlan:
    regions = RegionsConfig.model_validate({"enabled": True, **config})
    return plan_regions(camera_config, 576, 768, regions, PETS_SCALE, STRIDE)


def test_a_band_around_the_pets_door_line_at_full_frame_scale() -> None:
    # margin = 576 / 5 = 115.2 px: 268…500 × 34…576, grown to 416×928 input pixels
    result = plan(camera([(384, 150, 384, 576)]))
    assert result.regions == (Rectangle(260, 20, 509, 576),)
    assert result.scale == pytest.approx(5 / 3)
    # 249×556 px fill 415×927 of the 416×928 input: the full frame's 5/3 input px per px
    assert result.area_fraction == pytest.approx(0.313, abs=0.001)


def test_margin_in_pixels_sets_the_band_width() -> None:
    # 384 ± 40 = 344…424 (80 px → 134 input → 160 → 96 px); 150 − 40 = 110…576 (466 → 800)
    result = plan(camera([(384, 150, 384, 576)]), margin_px=40)
    assert result.regions == (Rectangle(336, 96, 432, 576),)


def test_a_camera_without_lines_or_zones_keeps_full_frames() -> None:
    assert plan(camera()).full_frame
    assert plan(camera([(384, 150, 384, 576)]), enabled=False).full_frame


def test_distant_lines_get_their_own_regions_and_close_ones_merge() -> None:
    apart = plan(camera([(100, 100, 100, 200), (650, 400, 650, 500)]), margin_px=40)
    # 60…140 × 60…240 → 80×180 px → 134×300 input → 160×320 → 96×192 px, centred
    assert apart.regions == (Rectangle(52, 54, 148, 246), Rectangle(602, 354, 698, 546))
    close = plan(camera([(100, 100, 100, 200), (170, 100, 170, 200)]), margin_px=40)
    # 60…140 and 130…210 overlap: one region over 60…210 (150 px → 250 → 256 → 153 px)
    assert close.regions == (Rectangle(59, 54, 212, 246),)


def test_a_zone_is_looked_at_through_its_bounding_box_plus_the_margin() -> None:
    result = plan(camera(zones=[[(300, 300), (400, 280), (420, 380), (310, 400)]]), margin_px=30)
    # 300…420 × 280…400 ± 30 = 270…450 × 250…430 → 180 px → 300 → 320 input → 192 px
    assert result.regions == (Rectangle(264, 244, 456, 436),)


def test_regions_nearly_as_costly_as_the_frame_become_the_full_frame() -> None:
    left_half = [(0.0, 0.0), (384.0, 0.0), (384.0, 576.0), (0.0, 576.0)]
    door = camera([(384, 150, 384, 576)], zones=[left_half])
    assert plan(door).regions == (Rectangle(0, 0, 518, 576),)  # 864×960: 67.5% of 1280×960
    assert plan(door, full_frame_fraction=0.6).full_frame


class ScaledFake:
    """Finds one person per image at fixed crop pixels and records every call."""

    name = "fake"
    supports_scaled_input = True
    stride = STRIDE

    def __init__(self, boxes: list[list[float]]) -> None:
        self.boxes = np.array(boxes, dtype=np.float64)
        self.calls: list[tuple[list[tuple[int, ...]], float | None]] = []

    def full_frame_scale(self, frame_height: int, frame_width: int) -> float:
        return 1280 / max(frame_height, frame_width)

    def detect_scaled(self, frames: Sequence[Frame], scale: float) -> list[People]:
        self.calls.append(([frame.shape for frame in frames], scale))
        return [self._people() for _ in frames]

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        self.calls.append(([frame.shape for frame in frames], None))
        return [self._people() for _ in frames]

    def _people(self) -> People:
        return People(boxes=self.boxes.copy(), scores=np.full(len(self.boxes), 0.9))


def test_crops_of_all_cameras_go_to_the_backend_in_one_call_and_come_back_shifted() -> None:
    # crop 249×556: one whole person, one cut by the crop's left border (x1 = 0), one on the
    # frame's bottom edge, one whose head the crop's top border cuts, one cut at the right
    fake = ScaledFake(
        [
            [100, 200, 130, 290],
            [0, 300, 20, 390],
            [200, 466, 230, 556],
            [50, 0, 80, 60],
            [230, 100, 249, 190],
        ]
    )
    detector = RegionDetector(fake, RegionsConfig(enabled=True))
    door = camera([(384, 150, 384, 576)])
    frames = [np.zeros((576, 768, 3), np.uint8) for _ in range(2)]
    found = detector.detect(frames, [door, door])
    assert fake.calls == [([(556, 249, 3), (556, 249, 3)], pytest.approx(5 / 3))]
    for people in found:
        # shifted by (260, 20); those cut at the left and right are dropped
        assert people.boxes.tolist() == [
            [360, 220, 390, 310],
            [460, 486, 490, 576],
            [310, 20, 340, 80],
        ]
    assert detector.name == "fake+regions"


def test_cameras_without_regions_and_unscaled_backends_see_full_frames() -> None:
    fake = ScaledFake([[0, 0, 10, 10]])
    detector = RegionDetector(fake, RegionsConfig(enabled=True))
    frame = np.zeros((576, 768, 3), np.uint8)
    assert detector.detect([frame], [camera()])[0].boxes.tolist() == [[0, 0, 10, 10]]
    assert fake.calls == [([(576, 768, 3)], None)]

    class Plain:
        name = "plain"

        def detect(self, frames: Sequence[Frame]) -> list[People]:
            return [People() for _ in frames]

    plain = RegionDetector(Plain(), RegionsConfig(enabled=True))
    assert plain.plan(camera([(384, 150, 384, 576)]), frame).full_frame
    assert plain.name == "plain"


class StackedFake(ScaledFake):
    """One person seen by two stacked crops: legs in the upper one (cut by its bottom
    border), feet in the lower one (head cut by its top border); crop pixels."""

    def __init__(self) -> None:
        super().__init__([])

    def detect_scaled(self, frames: Sequence[Frame], scale: float) -> list[People]:
        upper = People(boxes=np.array([[245.0, 68, 275, 96]]), scores=np.array([0.8]))
        lower = People(boxes=np.array([[245.0, 0, 275, 38]]), scores=np.array([0.9]))
        return [upper, lower]


def test_a_person_across_two_stacked_regions_is_counted_once_by_their_feet() -> None:
    # two horizontal lines 230 px apart: regions 52…148 and 282…378 (55…746 wide)
    lines = camera([(100, 100, 700, 100), (100, 330, 700, 330)])
    assert plan(lines, margin_px=40).regions == (
        Rectangle(55, 52, 746, 148),
        Rectangle(55, 282, 746, 378),
    )
    detector = RegionDetector(StackedFake(), RegionsConfig(enabled=True, margin_px=40))
    found = detector.detect([np.zeros((576, 768, 3), np.uint8)], [lines])[0]
    assert found.boxes.tolist() == [[300, 282, 330, 320]]  # once, standing at y = 320
