"""Motion gating: skip the detector when nothing moved where the detector looks.

``MotionGate`` (one per camera) compares each frame with the frame the detector last ran on,
inside the camera's regions of interest only, at ``1/downscale`` of the source resolution in
grey (``cv2.INTER_AREA`` averages the camera's noise away). A frame has moved when at least
``min_changed_px`` source pixels (counted at low resolution, times ``downscale²``) differ by more
than ``pixel_threshold`` grey levels. Comparing with the last *detected* frame rather than the
previous one lets slow movement add up until it is seen; ``max_skip_seconds`` runs the detector
at least that often anyway (a safety net, and a fresh reference when the light changes).

``MotionGatedDetector`` wraps a ``RegionDetector``: frames that did not move get their camera's
previous people again, so the tracker keeps its tracks (a still person is still there, with the
same box); the others go to the detector in one call. It counts, per camera, how many frames
ran the detector (its duty cycle, reported in health).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import CameraConfig, MotionConfig
from edge.vision.detections import People
from edge.vision.detector import Frame
from edge.vision.regions import RegionDetector, RegionPlan

Grey = npt.NDArray[np.uint8]


class MotionGate:
    """Whether one camera's view moved since the detector last ran (module docstring)."""

    def __init__(self, config: MotionConfig) -> None:
        self.config = config
        self._reference: list[Grey] | None = None
        self._reference_seconds = 0.0

    def _small_grey(self, frame: Frame, plan: RegionPlan) -> list[Grey]:
        images = [region.crop(frame) for region in plan.regions] or [frame]
        factor = self.config.downscale
        small: list[Grey] = []
        for image in images:
            size = (max(1, image.shape[1] // factor), max(1, image.shape[0] // factor))
            reduced = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            small.append(np.asarray(cv2.cvtColor(reduced, cv2.COLOR_BGR2GRAY), dtype=np.uint8))
        return small

    def changed_pixels(self, frame: Frame, plan: RegionPlan) -> float:
        """Source pixels that changed since the reference (∞ without a reference)."""
        if self._reference is None:
            return float("inf")
        current = self._small_grey(frame, plan)
        if [image.shape for image in current] != [image.shape for image in self._reference]:
            return float("inf")
        changed = sum(
            int(np.count_nonzero(cv2.absdiff(now, then) > self.config.pixel_threshold))
            for now, then in zip(current, self._reference, strict=True)
        )
        return float(changed * self.config.downscale**2)

    def should_detect(
        self, frame: Frame, plan: RegionPlan, timestamp_seconds: float, force: bool = False
    ) -> bool:
        """True when the detector must run on this frame; it then becomes the reference."""
        due = force or timestamp_seconds - self._reference_seconds >= self.config.max_skip_seconds
        if not due and self.changed_pixels(frame, plan) < self.config.min_changed_px:
            return False
        self._reference = self._small_grey(frame, plan)
        self._reference_seconds = timestamp_seconds
        return True


@dataclass
class DutyCycle:
    """Frames seen and frames the detector ran on, for one camera: in total and since the
    last ``take_window``."""

    frames: int = 0
    detected: int = 0
    window_frames: int = 0
    window_detected: int = 0

    def record(self, detected: bool) -> None:
        self.frames += 1
        self.window_frames += 1
        self.detected += detected
        self.window_detected += detected

    @property
    def fraction(self) -> float:
        """Share of all frames the detector ran on (1.0 before any frame)."""
        return self.detected / self.frames if self.frames else 1.0

    def take_window(self) -> float:
        """Share of the frames since the previous call that the detector ran on."""
        fraction = self.window_detected / self.window_frames if self.window_frames else 1.0
        self.window_frames = self.window_detected = 0
        return fraction


class MotionGatedDetector:
    """A ``RegionDetector`` that runs only on frames where something moved (module docstring)."""

    def __init__(self, regions: RegionDetector, config: MotionConfig) -> None:
        self.regions = regions
        self.config = config
        self.name = regions.name + ("+motion" if config.enabled else "")
        self._gates: dict[str, MotionGate] = {}
        self._previous: dict[str, People] = {}
        self.duty: dict[str, DutyCycle] = {}
        self.last_decisions: list[bool] = []
        """Per frame of the last ``detect`` call: whether the detector ran on it."""

    def detect(
        self,
        frames: Sequence[Frame],
        cameras: Sequence[CameraConfig],
        timestamps_seconds: Sequence[float],
    ) -> list[People]:
        """People per frame; ``cameras[i]`` and ``timestamps_seconds[i]`` belong to
        ``frames[i]``. A camera appears at most once per call."""
        run: list[int] = []
        for index, (frame, camera, timestamp) in enumerate(
            zip(frames, cameras, timestamps_seconds, strict=True)
        ):
            gate = self._gates.setdefault(camera.id, MotionGate(self.config))
            first = camera.id not in self._previous
            moved = not self.config.enabled or gate.should_detect(
                frame, self.regions.plan(camera, frame), timestamp, force=first
            )
            self.duty.setdefault(camera.id, DutyCycle()).record(moved)
            if moved:
                run.append(index)
        self.last_decisions = [index in run for index in range(len(frames))]
        found = self.regions.detect([frames[i] for i in run], [cameras[i] for i in run])
        for index, people in zip(run, found, strict=True):
            self._previous[cameras[index].id] = people
        return [self._previous[camera.id] for camera in cameras]

    def take_duty_cycle(self, camera_id: str) -> float:
        """Share of this camera's frames since the previous call that ran the detector."""
        return self.duty.setdefault(camera_id, DutyCycle()).take_window()
