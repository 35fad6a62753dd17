"""Run the full counting pipeline on a recording as fast as it can, for audits and reports.

The same loop as the long-running worker (``EdgeWorker``), on one camera, with an in-memory
sink, recording what every frame produced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.config import EdgeConfig
from edge.counting.counters import Direction
from edge.transport.sinks import MemorySink
from edge.vision.detections import FloatArray, IntArray, People
from edge.vision.detector import Detector
from edge.vision.regions import Rectangle
from edge.worker import EdgeWorker, ProcessedFrame, StageSeconds
from protocol.version import SOFTWARE_VERSION


@dataclass(frozen=True)
class FrameRecord:
    frame: int
    """1-based frame number in the source (MOT convention)."""
    detected: int
    tracked: int
    zones: dict[str, int]


@dataclass(frozen=True)
class CrossingEvent:
    frame: int
    """1-based frame number in the source (MOT convention)."""
    line_id: str
    direction: Direction
    person_id: int | None = None
    """The counted person's id (counted crossings only; it never leaves the device)."""


@dataclass(frozen=True)
class TrackedFrame:
    """The tracked people of one frame, kept for the audit's pictures (source pixels)."""

    boxes: FloatArray
    person_ids: IntArray
    points: FloatArray


@dataclass(frozen=True)
class DetectedFrame:
    """What the detector found in one processed frame, kept to track it again with other
    settings (``edge.calibration``) without running the model again."""

    frame: int
    """1-based frame number in the source (MOT convention)."""
    timestamp_seconds: float
    """The frame's time as the tracker and the counter saw it."""
    people: People


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
    crossings: list[CrossingEvent] = field(default_factory=list)
    """Every counted crossing, in order."""
    source_frames_per_second: float = 0.0
    """Frame rate of the source (its frame numbers), to turn frames into seconds."""
    tracked: dict[int, TrackedFrame] = field(default_factory=dict)
    """Per processed frame (1-based), its tracked people: only with ``keep_tracked`` (about
    100 bytes per person and frame)."""
    detected: list[DetectedFrame] = field(default_factory=list)
    """Per processed frame, the detector's people: only with ``keep_detected`` (about 500
    bytes per person and frame with keypoints)."""
    regions: tuple[Rectangle, ...] = ()
    """Where the detector looked (source pixels); empty: whole frames."""
    people_scale: float = 1.0
    """``counting.people_scale``: the zones' mean and max are scaled as the intervals'."""

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
                    "mean": round(
                        sum(r.zones[zone] for r in self.per_frame) * self.people_scale / frames,
                        4,
                    ),
                    "max": math.floor(
                        max(r.zones[zone] for r in self.per_frame) * self.people_scale + 0.5
                    ),
                }
                for zone in zone_ids
            },
            "people_scale": self.people_scale,
            "people_per_frame_mean": round(sum(r.detected for r in self.per_frame) / frames, 4),
            "milliseconds_per_frame": self.stages.milliseconds_per_frame(self.frames),
            "detector": self.detector,
            "tracker": self.tracker,
            "max_track_state": self.max_track_state,
            "crossings": [
                {"frame": event.frame, "line": event.line_id, "direction": event.direction.value}
                for event in self.crossings
            ],
            "intervals": self.intervals,
            "software_version": SOFTWARE_VERSION,
        }


def replay(
    config: EdgeConfig,
    camera_id: str | None = None,
    detector: Detector | None = None,
    on_frame: Callable[[int, int], None] | None = None,
    keep_tracked: bool = False,
    keep_detected: bool = False,
) -> ReplayReport:
    """Count a recorded source frame by frame. ``on_frame(done, total)`` reports progress;
    ``keep_tracked`` keeps every frame's tracked people (``ReplayReport.tracked``),
    ``keep_detected`` its detections (``ReplayReport.detected``)."""
    camera = config.camera(camera_id)
    single = config.model_copy(update={"cameras": [camera]})
    sink = MemorySink()
    worker = EdgeWorker(single, sink, detector=detector)
    runtime = worker.cameras[0]
    if runtime.source.live:
        raise ValueError(f"replay needs a recording, not the live source {camera.source.uri}")
    report = ReplayReport(
        detector=worker.motion.name,
        tracker=runtime.tracker.name,
        source_frames_per_second=runtime.source.frames_per_second,
        people_scale=config.counting.people_scale,
    )
    total = runtime.source.frame_count // camera.source.stride if runtime.source.frame_count else 0

    def record(processed: ProcessedFrame) -> None:
        counts = processed.counts
        report.per_frame.append(
            FrameRecord(
                processed.frame.index + 1,
                len(processed.detected),
                counts.tracked_people,
                counts.zone_counts,
            )
        )
        frame = processed.frame.index + 1
        report.crossings += [
            CrossingEvent(frame, crossing.line_id, crossing.direction, crossing.track_id)
            for crossing in counts.crossings
        ]
        if keep_tracked:
            report.tracked[frame] = TrackedFrame(counts.boxes, counts.person_ids, counts.points)
        if keep_detected:
            report.detected.append(
                DetectedFrame(frame, processed.frame.timestamp_seconds, processed.detected)
            )
        report.max_track_state = max(report.max_track_state, runtime.counter.tracked_state_size)
        if on_frame is not None:
            on_frame(len(report.per_frame), total)

    worker.on_frame = record
    started = time.perf_counter()
    worker.run()
    report.seconds = time.perf_counter() - started
    report.frames = runtime.frames_processed
    plan = worker.regions.plans().get(camera.id)
    report.regions = () if plan is None else plan.regions
    report.stages = runtime.stages
    report.intervals = [message.model_dump(mode="json") for message in sink.intervals]
    report.lines = {
        line_id: {"in": totals.entries, "out": totals.exits}
        for line_id, totals in runtime.counter.totals.items()
    }
    return report
