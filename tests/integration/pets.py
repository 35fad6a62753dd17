"""One run of the default edge pipeline over the PETS09-S2L1 clip, shared by the accuracy,
end-to-end and dashboard tests (the detector is the expensive part: minutes on CPU).

The detector's real outputs are recorded so that later tests can push the same frames
through tracking, counting, MQTT and the aggregator without running the model again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.adhoc import build_config
from edge.config import EdgeConfig
from edge.replay import ReplayReport, replay
from edge.vision.detections import People
from edge.vision.detector import Detector, Frame, create_detector

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "pets09.yaml"
# More lines than the example's one, in every orientation, checked against the ground truth
# in the same run (lines cost nothing next to the detector).
EXTRA_LINES = [
    "horizontal=0,300,768,300@384,100",
    "lower=100,400,700,400@384,500",
    "diagonal=200,150,600,550@600,200",
    "right=550,100,550,500@700,300",
    "left=200,200,200,576@50,300",
]


class RecordingDetector:
    """Wraps a detector and keeps what it found, frame by frame."""

    def __init__(self, detector: Detector) -> None:
        self.name = detector.name
        self._detector = detector
        self.frames: list[People] = []

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        found = self._detector.detect(frames)
        self.frames.extend(found)
        return found


class ReplayedDetector:
    """Hands out recorded detections in order, as if the model ran again."""

    name = "recorded"

    def __init__(self, frames: list[People]) -> None:
        self._frames = frames
        self._next = 0

    def detect(self, frames: Sequence[Frame]) -> list[People]:
        found = self._frames[self._next : self._next + len(frames)]
        if len(found) != len(frames):
            raise IndexError("more frames than were recorded")
        self._next += len(frames)
        return found


@dataclass(frozen=True)
class PetsRun:
    config: EdgeConfig
    camera_id: str
    report: ReplayReport
    detections: list[People]


def run_pets(footage: Path) -> PetsRun:
    config, camera_id = build_config(str(footage / "vtest.avi"), EXAMPLE_CONFIG, EXTRA_LINES)
    recorder = RecordingDetector(create_detector(config.detector))
    report = replay(config, camera_id, detector=recorder)
    return PetsRun(config, camera_id, report, recorder.frames)
