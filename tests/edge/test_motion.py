"""Motion gating: the detector is skipped while nothing moves in the regions, and runs as soon
as someone walks in."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from edge.config import CameraConfig, MotionConfig, RegionsConfig
from edge.vision.detections import People
from edge.vision.detector import Frame
from edge.vision.motion import MotionGate, MotionGatedDetector
from edge.vision.regions import Rectangle, RegionDetector, RegionPlan

HEIGHT, WIDTH = 576, 768
DOOR = CameraConfig.model_validate(
    {
        "id": "entrance",
        "source": {"uri": "clip.avi"},
        "lines": [{"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}],
    }
)


def scene(person_left: int | None = None, noise_seed: int = 0, person_grey: int = 40) -> Frame:
    """A grey (120) floor with camera noise (±3 grey levels) and maybe a 30×90 px person."""
    generator = np.random.default_rng(noise_seed)
    frame = np.full((HEIGHT, WIDTH, 3), 120, dtype=np.int16)
    frame += generator.integers(-3, 4, size=frame.shape, dtype=np.int16)
    if person_left is not None:
        frame[300:390, person_left : person_left + 30] = person_grey
    return frame.astype(np.uint8)


REGION = RegionPlan(HEIGHT, WIDTH, 5 / 3, (Rectangle(260, 20, 509, 576),))


def test_noise_does_not_move_the_gate_but_a_person_walking_in_does() -> None:
    gate = MotionGate(MotionConfig(enabled=True))
    assert gate.should_detect(scene(), REGION, 0.0)  # no reference yet
    assert not gate.should_detect(scene(noise_seed=1), REGION, 0.1)
    assert gate.changed_pixels(scene(noise_seed=2), REGION) == 0
    # a person outside the region does not count
    assert not gate.should_detect(scene(person_left=100), REGION, 0.2)
    # a person 30×90 px stepping into the region's edge (x 260…290): 2,700 px changed
    assert gate.changed_pixels(scene(person_left=260), REGION) == pytest.approx(2700, rel=0.1)
    assert gate.should_detect(scene(person_left=260), REGION, 0.3)


def test_slow_movement_adds_up_against_the_last_detected_frame() -> None:
    # a faint person (grey 100 on a 120 floor) drifting 1 px per frame
    gate = MotionGate(MotionConfig(enabled=True))
    assert gate.should_detect(scene(person_left=300, person_grey=100), REGION, 0.0)
    # measured: 1 px of movement changes nothing at a quarter resolution, 2 px change 128 px
    assert gate.changed_pixels(scene(person_left=301, person_grey=100), REGION) == 0
    assert gate.changed_pixels(scene(person_left=302, person_grey=100), REGION) == 128
    steps = [
        gate.should_detect(scene(person_left=300 + step, person_grey=100), REGION, step / 10)
        for step in (1, 2, 3, 4, 5, 6)
    ]
    assert steps == [False, True, False, True, False, True]


def test_the_detector_runs_at_least_every_max_skip_seconds() -> None:
    gate = MotionGate(MotionConfig(enabled=True, max_skip_seconds=2.0))
    runs = [gate.should_detect(scene(), REGION, seconds / 2) for seconds in range(10)]
    assert runs == [True, False, False, False, True, False, False, False, True, False]


class CountingFake:
    name = "fake"
    supports_scaled_input = True
    stride = 32

    def __init__(self) -> None:
        self.frames = 0

    def full_frame_scale(self, frame_height: int, frame_width: int) -> float:
        return 1280 / max(frame_height, frame_width)

    def detect_scaled(self, frames: Sequence[Frame], scale: float) -> list[People]:
        self.frames += len(frames)
        return [
            People(boxes=np.array([[10.0, 10, 40, 100]]), scores=np.array([0.9])) for _ in frames
        ]

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        return self.detect_scaled(frames, 1.0)


def test_still_frames_reuse_the_last_people_and_the_duty_cycle_says_so() -> None:
    fake = CountingFake()
    regions = RegionDetector(fake, RegionsConfig(enabled=True))
    gated = MotionGatedDetector(regions, MotionConfig(enabled=True))
    frames = [scene(person_left=300)] * 5 + [scene(person_left=330)] * 5
    found = [gated.detect([frame], [DOOR], [index / 10])[0] for index, frame in enumerate(frames)]
    assert fake.frames == 2  # the first frame, and the step at frame 5
    assert all(people.boxes.tolist() == [[270, 30, 300, 120]] for people in found)
    assert gated.take_duty_cycle("entrance") == pytest.approx(0.2)
    assert gated.take_duty_cycle("entrance") == 1.0  # nothing since
    assert gated.name == "fake+regions+motion"


def test_disabled_gating_runs_every_frame() -> None:
    fake = CountingFake()
    gated = MotionGatedDetector(RegionDetector(fake, RegionsConfig()), MotionConfig(enabled=False))
    for index in range(4):
        gated.detect([scene()], [DOOR], [index / 10])
    assert fake.frames == 4
    assert gated.take_duty_cycle("entrance") == 1.0
