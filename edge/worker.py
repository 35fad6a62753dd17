"""The long-running edge worker: N cameras, one detector, counts out through a sink.

Wiring only. Each camera has its own source (read in its own thread), tracker and counter;
frames that are ready from several cameras are detected in one batch. Live sources always
hand over their newest frame, so when the detector cannot keep up the effective frame stride
grows by itself; skipped frames are counted as dropped and reported in health. The torch-free
tracker predicts motion from timestamps, so a larger stride does not break tracks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from edge.camera import CameraCounter
from edge.config import CameraConfig, EdgeConfig
from edge.detector import Detector, create_detector
from edge.intervals import IntervalTotals, to_message
from edge.messages import CameraHealth, CountInterval
from edge.sources import FrameSource, LiveSource, SourceFrame, open_source
from edge.tracking import Tracker, create_tracker
from footfall import __version__

logger = logging.getLogger(__name__)


class IntervalSink(Protocol):
    """Where finished intervals go: the MQTT publisher (outbox first) or a JSON-lines file."""

    def last_interval_end(self, camera_id: str) -> datetime | None: ...

    def submit_interval(self, interval: CountInterval) -> CountInterval: ...

    def publish_health(self, health: CameraHealth) -> None: ...

    @property
    def outbox_depth(self) -> int: ...

    @property
    def outbox_bytes(self) -> int: ...

    @property
    def last_publish_utc(self) -> datetime | None: ...


@dataclass
class CameraRuntime:
    config: CameraConfig
    source: FrameSource
    tracker: Tracker
    counter: CameraCounter
    frames: Iterator[SourceFrame] | None = None
    finished: bool = False
    frames_processed: int = 0
    detector_seconds: float = 0.0
    window_frames: int = 0
    window_started: float = field(default_factory=time.monotonic)
    last_timestamp: float | None = None


class EdgeWorker:
    def __init__(
        self,
        config: EdgeConfig,
        sink: IntervalSink,
        detector: Detector | None = None,
        on_frame: Callable[[CameraRuntime], None] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.on_frame = on_frame
        self.detector = detector or create_detector(config.detector)
        self.fingerprint = config.fingerprint()
        self._stop = threading.Event()
        self.cameras = [self._camera_runtime(camera) for camera in config.cameras]

    def _camera_runtime(self, camera: CameraConfig) -> CameraRuntime:
        source = open_source(camera.source)
        frame_rate = (source.frames_per_second or 10.0) / camera.source.stride
        return CameraRuntime(
            config=camera,
            source=source,
            tracker=create_tracker(self.config.tracker, frame_rate),
            counter=CameraCounter(
                camera, self.config.counting, not_before_utc=self.sink.last_interval_end(camera.id)
            ),
        )

    def stop(self) -> None:
        self._stop.set()

    def _next_frames(self) -> list[tuple[CameraRuntime, SourceFrame]]:
        ready: list[tuple[CameraRuntime, SourceFrame]] = []
        for runtime in self.cameras:
            if runtime.finished:
                continue
            if isinstance(runtime.source, LiveSource):
                if runtime.frames is None:
                    runtime.frames = iter(())
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
        started = time.perf_counter()
        people_per_frame = self.detector.detect([frame.image for _, frame in ready])
        detector_seconds = (time.perf_counter() - started) / len(ready)
        for (runtime, frame), people in zip(ready, people_per_frame, strict=True):
            runtime.detector_seconds += detector_seconds
            runtime.frames_processed += 1
            runtime.window_frames += 1
            runtime.last_timestamp = frame.timestamp_seconds
            update = runtime.tracker.update(people, frame.timestamp_seconds)
            counts = runtime.counter.process(frame.timestamp_seconds, update)
            for totals in counts.finished_intervals:
                self._submit(runtime, totals)
            if self.on_frame is not None:
                self.on_frame(runtime)

    def _submit(self, runtime: CameraRuntime, totals: IntervalTotals) -> None:
        message = to_message(
            totals,
            store_id=self.config.store_id,
            camera_id=runtime.config.id,
            sequence=0,  # the sink allocates the durable per-camera sequence
            software_version=__version__,
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
                1000 * runtime.detector_seconds / max(runtime.frames_processed, 1), 2
            ),
            outbox_depth=self.sink.outbox_depth,
            outbox_bytes=self.sink.outbox_bytes,
            last_publish_utc=self.sink.last_publish_utc,
            software_version=__version__,
        )

    def _publish_health(self) -> None:
        for runtime in self.cameras:
            self.sink.publish_health(self.health(runtime))

    def _shutdown(self) -> None:
        """Close every camera's open interval where its last frame ended, so a restart
        continues after it, and publish a last health report."""
        for runtime in self.cameras:
            runtime.source.close()
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
