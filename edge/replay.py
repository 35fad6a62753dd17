"""Run the full counting pipeline on a recording as fast as it can, for audits and reports.

Wiring only: source → detector → tracker → camera counter. The detector and tracker are
created from the config unless given (tests and benchmarks share one detector).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.camera import CameraCounter
from edge.config import EdgeConfig
from edge.detector import Detector, create_detector
from edge.intervals import to_message
from edge.sources import RecordedSource
from edge.tracking import Tracker, create_tracker
from footfall import __version__


@dataclass
class StageSeconds:
    decode: float = 0.0
    detect: float = 0.0
    track: float = 0.0
    count: float = 0.0
    publish: float = 0.0

    def milliseconds_per_frame(self, frames: int) -> dict[str, float]:
        divisor = max(frames, 1) / 1000.0
        return {
            "decode": round(self.decode / divisor, 2),
            "detect": round(self.detect / divisor, 2),
            "track": round(self.track / divisor, 2),
            "count": round(self.count / divisor, 2),
            "publish": round(self.publish / divisor, 2),
        }


@dataclass(frozen=True)
class FrameRecord:
    frame: int
    """1-based frame number in the source (MOT convention)."""
    detected: int
    tracked: int
    zones: dict[str, int]


@dataclass
class ReplayReport:
    frames: int = 0
    seconds: float = 0.0
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    per_frame: list[FrameRecord] = field(default_factory=list)
    intervals: list[dict[str, Any]] = field(default_factory=list)
    stages: StageSeconds = field(default_factory=StageSeconds)
    detector: str = ""
    tracker: str = ""
    max_track_state: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        zone_ids = sorted({zone for record in self.per_frame for zone in record.zones})
        frames = max(len(self.per_frame), 1)
        return {
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 3),
            "lines": self.lines,
            "zones": {
                zone: {
                    "mean": round(sum(r.zones[zone] for r in self.per_frame) / frames, 4),
                    "max": max(r.zones[zone] for r in self.per_frame),
                }
                for zone in zone_ids
            },
            "people_per_frame_mean": round(sum(r.detected for r in self.per_frame) / frames, 4),
            "milliseconds_per_frame": self.stages.milliseconds_per_frame(self.frames),
            "detector": self.detector,
            "tracker": self.tracker,
            "max_track_state": self.max_track_state,
            "intervals": self.intervals,
            "software_version": __version__,
        }


def replay(
    config: EdgeConfig,
    camera_id: str | None = None,
    detector: Detector | None = None,
    tracker: Tracker | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Count a recorded source frame by frame. ``on_frame(done, total)`` reports progress."""
    camera = config.camera(camera_id)
    source = RecordedSource(camera.source)
    detector = detector or create_detector(config.detector)
    tracker = tracker or create_tracker(
        config.tracker, source.frames_per_second / camera.source.stride
    )
    counter = CameraCounter(camera, config.counting)
    report = ReplayReport(detector=detector.name, tracker=tracker.name)
    total = source.frame_count // camera.source.stride if source.frame_count else 0
    fingerprint = config.fingerprint()
    started = time.perf_counter()
    last_timestamp = 0.0
    for frame in source:
        mark = time.perf_counter()
        people = detector.detect([frame.image])[0]
        after_detect = time.perf_counter()
        update = tracker.update(people, frame.timestamp_seconds)
        after_track = time.perf_counter()
        counts = counter.process(frame.timestamp_seconds, update)
        after_count = time.perf_counter()
        for totals in counts.finished_intervals:
            report.intervals.append(
                to_message(
                    totals,
                    store_id=config.store_id,
                    camera_id=camera.id,
                    sequence=len(report.intervals),
                    software_version=__version__,
                    config_fingerprint=fingerprint,
                ).model_dump(mode="json")
            )
        report.stages.detect += after_detect - mark
        report.stages.track += after_track - after_detect
        report.stages.count += after_count - after_track
        report.frames += 1
        report.max_track_state = max(report.max_track_state, counter.tracked_state_size)
        report.per_frame.append(
            FrameRecord(frame.index + 1, len(people), counts.tracked_people, counts.zone_counts)
        )
        last_timestamp = frame.timestamp_seconds
        if on_frame is not None:
            on_frame(report.frames, total)
    report.seconds = time.perf_counter() - started
    report.stages.decode = source.decode_seconds
    frame_seconds = camera.source.stride / source.frames_per_second
    for totals in counter.flush(last_timestamp + frame_seconds):
        report.intervals.append(
            to_message(
                totals,
                store_id=config.store_id,
                camera_id=camera.id,
                sequence=len(report.intervals),
                software_version=__version__,
                config_fingerprint=fingerprint,
            ).model_dump(mode="json")
        )
    report.lines = {
        line_id: {"in": totals.entries, "out": totals.exits}
        for line_id, totals in counter.totals.items()
    }
    return report
