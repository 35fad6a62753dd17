"""The edge worker: N cameras, one detector, counts out through a sink.

Wiring only. Each camera has its own source (read in its own thread), tracker and counter;
frames that are ready from several cameras are detected in one batch. Live sources always
hand over their newest frame, so when the detector cannot keep up the effective frame stride
grows by itself; skipped frames are counted as dropped and reported in health. The default
tracker predicts motion from timestamps, so a larger stride does not break tracks.

``replay`` (edge/replay.py) runs this same loop on a recording with an in-memory sink.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from edge.config import CameraConfig, EdgeConfig
from edge.counting.camera import CameraCounter, FrameCounts
from edge.counting.intervals import IntervalTotals, to_message
from edge.counting.tracking import Tracker, create_tracker
from edge.frame_clock import FrameClockGuard
from edge.live_crossings import LiveCrossings
from edge.vision.detections import People
from edge.vision.detector import Detector, create_detector
from edge.vision.motion import MotionGatedDetector
from edge.vision.regions import RegionDetector
from edge.vision.sources import FrameSource, LiveSource, SourceFrame, open_source
from protocol.messages import CameraHealth, CountInterval
from protocol.version import SOFTWARE_VERSION

logger = logging.getLogger(__name__)


class IntervalSink(Protocol):
    """Where finished intervals go: the MQTT publisher (outbox first), a JSON-lines file, or
    memory (replays)."""

    def last_interval_end(self, camera_id: str) -> datetime | None: ...

    def submit_interval(self, interval: CountInterval) -> CountInterval: ...

    def publish_health(self, health: CameraHealth) -> None: ...

    def delivery_state(self) -> str:
        """Where intervals go and whether that works, in a few words (status lines)."""
        ...

    @property
    def outbox_depth(self) -> int: ...

    @property
    def outbox_bytes(self) -> int: ...

    @property
    def last_publish_utc(self) -> datetime | None: ...


@dataclass
class StageSeconds:
    """Time spent per pipeline stage. Decoding runs in the source's own thread, overlapping
    detection; detection of a batch is shared equally by its frames."""

    decode: float = 0.0
    detect: float = 0.0
    track: float = 0.0
    count: float = 0.0
    publish: float = 0.0

    def milliseconds_per_frame(self, frames: int) -> dict[str, float]:
        divisor = max(frames, 1) / 1000.0
        return {name: round(seconds / divisor, 2) for name, seconds in vars(self).items()}


@dataclass
class CameraRuntime:
    config: CameraConfig
    source: FrameSource
    tracker: Tracker
    counter: CameraCounter
    clock: FrameClockGuard
    """Frames behind what this camera already counted pass uncounted (restarts)."""
    frames: Iterator[SourceFrame] | None = None
    finished: bool = False
    frames_processed: int = 0
    stages: StageSeconds = field(default_factory=StageSeconds)
    window_frames: int = 0
    window_started: float = field(default_factory=time.monotonic)
    last_timestamp: float | None = None


@dataclass(frozen=True)
class ProcessedFrame:
    """What one frame of one camera produced; handed to ``on_frame`` (progress, audits)."""

    camera: CameraRuntime
    frame: SourceFrame
    detected: People
    counts: FrameCounts


class EdgeWorker:
    def __init__(
        self,
        config: EdgeConfig,
        sink: IntervalSink,
        detector: Detector | None = None,
        on_frame: Callable[[ProcessedFrame], None] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.on_frame = on_frame
        self.detector = detector or create_detector(config.detector)
        self.regions = RegionDetector(self.detector, config.detector.regions)
        self.motion = MotionGatedDetector(self.regions, config.detector.motion)
        self.fingerprint = config.fingerprint()
        self.live = LiveCrossings(config.store_id, sink)
        """Each crossing out at once, best effort (sinks that can: MQTT)."""
        self._stop = threading.Event()
        self.cameras = [self._camera_runtime(camera) for camera in config.cameras]

    def _camera_runtime(self, camera: CameraConfig) -> CameraRuntime:
        source = open_source(camera.source)
        frame_rate = (source.frames_per_second or 10.0) / camera.source.stride
        last_interval_end = self.sink.last_interval_end(camera.id)
        return CameraRuntime(
            config=camera,
            source=source,
            tracker=create_tracker(self.config.tracker, frame_rate),
            counter=CameraCounter(camera, self.config.counting, not_before_utc=last_interval_end),
            clock=FrameClockGuard(camera.id, last_interval_end),
        )

    def stop(self) -> None:
        self._stop.set()

    def _next_frames(self) -> list[tuple[CameraRuntime, SourceFrame]]:
        ready: list[tuple[CameraRuntime, SourceFrame]] = []
        for runtime in self.cameras:
            if runtime.finished:
                continue
            if isinstance(runtime.source, LiveSource):
                runtime.source.start()
                frame = runtime.source.take(0.0)
                if frame is not None:
                    ready.append((runtime, frame))
                continue
            if runtime.frames is None:
                runtime.frames = iter(runtime.source)
            recorded = next(runtime.frames, None)
            if recorded is None:
                runtime.finished = True
            else:
                ready.append((runtime, recorded))
        return ready

    def run(self) -> None:
        """Until stopped, or until every recorded source has ended."""
        next_health = time.monotonic() + self.config.health.interval_seconds
        try:
            while not self._stop.is_set():
                ready = self._next_frames()
                if not ready:
                    if all(runtime.finished for runtime in self.cameras):
                        break
                    self._stop.wait(0.02)
                else:
                    self._process(ready)
                if time.monotonic() >= next_health:
                    self._publish_health()
                    next_health = time.monotonic() + self.config.health.interval_seconds
        finally:
            self._shutdown()

    def _process(self, ready: list[tuple[CameraRuntime, SourceFrame]]) -> None:
        ready = [pair for pair in ready if pair[0].clock.admit(pair[1].timestamp_seconds)]
        if not ready:
            return
        started = time.perf_counter()
        people_per_frame = self.motion.detect(
            [frame.image for _, frame in ready],
            [runtime.config for runtime, _ in ready],
            [frame.timestamp_seconds for _, frame in ready],
        )
        detector_seconds = (time.perf_counter() - started) / len(ready)
        for (runtime, frame), people in zip(ready, people_per_frame, strict=True):
            stages = runtime.stages
            stages.detect += detector_seconds
            mark = time.perf_counter()
            update = runtime.tracker.update(people, frame.timestamp_seconds)
            after_track = time.perf_counter()
            counts = runtime.counter.process(frame.timestamp_seconds, update)
            after_count = time.perf_counter()
            for totals in counts.finished_intervals:
                self._submit(runtime, totals)
            moving = runtime.counter.occupancy_line_ids
            live = [crossing for crossing in counts.crossings if crossing.line_id in moving]
            if live:
                interval = runtime.counter.open_interval_utc
                self.live.publish(runtime.config.id, frame.timestamp_seconds, interval, live)
            stages.track += after_track - mark
            stages.count += after_count - after_track
            stages.publish += time.perf_counter() - after_count
            runtime.frames_processed += 1
            runtime.window_frames += 1
            runtime.last_timestamp = frame.timestamp_seconds
            if self.on_frame is not None:
                self.on_frame(ProcessedFrame(runtime, frame, people, counts))

    def _submit(self, runtime: CameraRuntime, totals: IntervalTotals) -> None:
        message = to_message(
            totals,
            store_id=self.config.store_id,
            camera_id=runtime.config.id,
            sequence=0,  # the sink allocates the durable per-camera sequence
            software_version=SOFTWARE_VERSION,
            config_fingerprint=self.fingerprint,
        )
        self.sink.submit_interval(message)

    def health(self, runtime: CameraRuntime) -> CameraHealth:
        elapsed = max(time.monotonic() - runtime.window_started, 1e-6)
        fps = runtime.window_frames / elapsed
        runtime.window_frames = 0
        runtime.window_started = time.monotonic()
        return CameraHealth(
            store_id=self.config.store_id,
            camera_id=runtime.config.id,
            time_utc=datetime.now(UTC),
            source_state=runtime.source.state,
            frames_per_second=round(fps, 3),
            frames_processed=runtime.frames_processed,
            frames_dropped=runtime.source.frames_dropped,
            detector_milliseconds=round(
                1000 * runtime.stages.detect / max(runtime.frames_processed, 1), 2
            ),
            detector_duty_cycle=round(self.motion.take_duty_cycle(runtime.config.id), 4),
            outbox_depth=self.sink.outbox_depth,
            outbox_bytes=self.sink.outbox_bytes,
            last_publish_utc=self.sink.last_publish_utc,
            software_version=SOFTWARE_VERSION,
        )

    def _publish_health(self) -> None:
        for runtime in self.cameras:
            self.sink.publish_health(self.health(runtime))

    def _shutdown(self) -> None:
        """Close every camera's open interval where its last frame ended, so a restart
        continues after it, and publish a last health report."""
        for runtime in self.cameras:
            runtime.source.close()
            if isinstance(runtime.source, LiveSource):
                runtime.stages.decode = 0.0
            else:
                runtime.stages.decode = runtime.source.decode_seconds
            if runtime.last_timestamp is None:
                continue
            if isinstance(runtime.source, LiveSource):
                end = time.time()
            else:
                fps = runtime.source.frames_per_second / runtime.config.source.stride
                end = runtime.last_timestamp + 1.0 / fps
            for totals in runtime.counter.flush(end):
                self._submit(runtime, totals)
        self._publish_health()
