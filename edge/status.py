"""The worker's one-line status per camera, logged every few seconds by ``edge run`` so an
operator (or journald) can tell a healthy worker from a stuck one without the API."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from edge.worker import EdgeWorker, ProcessedFrame

logger = logging.getLogger("edge.status")


@dataclass
class _CameraWindow:
    frames_at_start: int = 0
    started: float = field(default_factory=time.monotonic)
    people_in_view: int = 0


class StatusReporter:
    """Remembers what each camera's last frame showed (``on_frame``) and logs, every
    ``interval_seconds``, one line per camera: frame rate over the last window, people in
    view, counts so far per line, the outbox depth and the delivery state."""

    def __init__(self, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"status interval {interval_seconds} s must be positive")
        self.interval_seconds = interval_seconds
        self._windows: dict[str, _CameraWindow] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_frame(self, processed: ProcessedFrame) -> None:
        window = self._windows.setdefault(processed.camera.config.id, _CameraWindow())
        window.people_in_view = processed.counts.tracked_people

    def lines(self, worker: EdgeWorker) -> list[str]:
        """The status lines now; starts the next frame-rate window."""
        now = time.monotonic()
        lines = []
        for runtime in worker.cameras:
            window = self._windows.setdefault(runtime.config.id, _CameraWindow())
            elapsed = max(now - window.started, 1e-6)
            fps = (runtime.frames_processed - window.frames_at_start) / elapsed
            window.frames_at_start, window.started = runtime.frames_processed, now
            counts = ", ".join(
                f"{line} {totals.entries} in / {totals.exits} out"
                for line, totals in runtime.counter.totals.items()
            )
            lines.append(
                f"camera {runtime.config.id}: {runtime.source.state}, {fps:.1f} fps, "
                f"{window.people_in_view} in view, {counts or 'no lines'}; "
                f"outbox {worker.sink.outbox_depth}; {worker.sink.delivery_state()}"
            )
        return lines

    def start(self, worker: EdgeWorker) -> None:
        def report() -> None:
            while not self._stop.wait(self.interval_seconds):
                for line in self.lines(worker):
                    logger.info("%s", line)

        self._thread = threading.Thread(target=report, name="edge-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
