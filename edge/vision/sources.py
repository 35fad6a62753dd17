"""Frame sources: video file, folder of images, RTSP/HTTP stream, USB camera.

Every source yields ``SourceFrame`` (index, UTC timestamp in seconds, BGR image) from a
reader thread, so the detector never waits on decoding or network I/O.

- Files and folders: every frame (or every ``stride``-th), in order, deterministic; a bounded
  queue applies back-pressure; the timestamp is ``start + index / fps`` from the container's
  (or the configured) frame rate.
- Live sources: the consumer always gets the newest frame; frames superseded before they were
  taken are counted as dropped; a stream that fails or stalls is reopened with exponential
  backoff; ``state`` reports what is happening. Timestamps come from the wall clock.
"""

from __future__ import annotations

import configparser
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from edge.config import SourceConfig
from edge.vision.capture import ReaderThread, is_live_uri, open_capture

logger = logging.getLogger(__name__)

MIN_READABLE_FRACTION = 0.5
"""A recording that ends before this fraction of its announced frames is an error."""

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
SourceState = Literal["starting", "streaming", "reconnecting", "ended", "failed"]
Image = npt.NDArray[np.uint8]


class SourceError(RuntimeError):
    """A source cannot be opened or read; the message names it."""


@dataclass(frozen=True)
class SourceFrame:
    index: int
    """Position of the frame in the source (0-based; counts skipped frames too)."""
    timestamp_seconds: float
    """UTC seconds since the epoch."""
    image: Image


def _parse_start(text: str | None) -> float:
    if text is None:
        return time.time()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise SourceError(f"source.start_time_utc {text!r} needs a UTC offset")
    return moment.timestamp()


_END = object()


class RecordedSource:
    """A video file or a folder of images, read ahead by one thread into a bounded queue."""

    live = False

    def __init__(self, config: SourceConfig, queue_size: int = 4) -> None:
        self.config = config
        self.uri = config.uri
        self.state: SourceState = "starting"
        self.frames_dropped = 0
        self.decode_seconds = 0.0
        """Time the reader thread spent decoding (it overlaps detection)."""
        self.frames_read = 0
        """Frames of the file decoded (or skipped by ``stride``) before it ended."""
        # realtime: like a live source, only the newest frame waits for the detector
        size = 1 if config.realtime else queue_size
        self._queue: queue.Queue[object] = queue.Queue(maxsize=size)
        path = Path(config.uri).expanduser()
        recording = open_recording(config)
        self._images = recording.images
        self._capture: Any = recording.capture
        self.frames_per_second = recording.frames_per_second
        self.frame_count = recording.frame_count
        self.start_seconds = _parse_start(config.start_time_utc)
        self._reader = ReaderThread(f"source:{path.name}", self._produce)

    def _produce(self, stop: threading.Event) -> None:
        paced_from = time.monotonic()
        if self.config.realtime and self.config.start_time_utc is None:
            self.start_seconds = time.time()  # a frame's time is when it is handed over
        for index, image in self._decode(stop):
            timestamp = self.start_seconds + index / self.frames_per_second
            item = SourceFrame(index=index, timestamp_seconds=timestamp, image=image)
            if self.config.realtime:  # at the recording's pace, like a camera
                due = paced_from + index / self.frames_per_second - time.monotonic()
                if due > 0 and stop.wait(due):
                    return
                self._replace_waiting(item)
                continue
            while not stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        self._queue.put(_END)

    def _replace_waiting(self, item: SourceFrame) -> None:
        """Hand over ``item``; a frame still waiting for the detector is dropped (counted),
        as a camera's frames are when the worker cannot keep up."""
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.frames_dropped += 1
                except queue.Empty:
                    pass

    def _decode(self, stop: threading.Event) -> Iterator[tuple[int, Image]]:
        import cv2

        if self._capture is not None:
            index = 0
            while not stop.is_set():
                started = time.perf_counter()
                if index % self.config.stride:
                    grabbed = self._capture.grab()
                    self.decode_seconds += time.perf_counter() - started
                    if not grabbed:
                        return
                    index += 1
                    self.frames_read = index
                    continue
                ok, image = self._capture.read()
                self.decode_seconds += time.perf_counter() - started
                if not ok:
                    return
                self.frames_read = index + 1
                yield index, image
                index += 1
            return
        for index, image_path in enumerate(self._images):
            if stop.is_set():
                return
            if index % self.config.stride:
                continue
            started = time.perf_counter()
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            self.decode_seconds += time.perf_counter() - started
            if image is None:
                raise SourceError(f"cannot decode image {image_path}")
            yield index, image.astype(np.uint8, copy=False)

    def __iter__(self) -> Iterator[SourceFrame]:
        self._reader.start()
        self.state = "streaming"
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                assert isinstance(item, SourceFrame)
                yield item
            if self._reader.error is not None:
                raise SourceError(f"{self.uri}: {self._reader.error}") from self._reader.error
            self._check_complete()
            self.state = "ended"
        finally:
            self.close()

    def _check_complete(self) -> None:
        """A video that ends before the frame count of its header is truncated or damaged:
        a warning with the figures, and a ``SourceError`` when most of it was unreadable (the
        frames before the damage have been counted and stay counted)."""
        expected = self.frame_count
        if self._capture is None or expected <= 0 or self.frames_read >= expected - 1:
            return
        read = self.frames_read
        percent = 100.0 * read / expected
        message = (
            f"{self.uri}: decoded {read} of the {expected} frames its header announces "
            f"({percent:.1f}%); the file is truncated or damaged"
        )
        if read < expected * MIN_READABLE_FRACTION:
            raise SourceError(f"{message}: most of it is unreadable")
        logger.warning("%s; counted what was readable", message)

    def close(self) -> None:
        self._reader.stop()
        if self._capture is not None:
            self._capture.release()
            self._capture = None


@dataclass
class Recording:
    images: list[Path]
    """A folder's images in order (empty for a video file)."""
    capture: Any
    """A video file's OpenCV capture (None for a folder)."""
    frames_per_second: float
    frame_count: int
    """A folder's images, or what the video's header announces (0: it does not say)."""


def open_recording(config: SourceConfig) -> Recording:
    """A video file or a folder of images, opened; the frame rate from ``source.fps``, else
    the container's or the folder's ``seqinfo.ini``. Raises ``SourceError`` naming it."""
    path = Path(config.uri).expanduser()
    if path.is_dir():
        images = _folder_images(path)
        return Recording(images, None, config.fps or _folder_fps(path), len(images))
    if not path.is_file():
        raise SourceError(f"source {config.uri!r} is neither a file nor a folder")
    capture = open_capture(str(path))
    if capture is None:
        raise SourceError(f"cannot decode video file {path}")
    import cv2

    fps = config.fps or float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if fps <= 0:
        capture.release()
        raise SourceError(f"video {path} has no frame rate: set source.fps")
    return Recording([], capture, fps, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))


def _folder_images(path: Path) -> list[Path]:
    folder = path / "img1" if (path / "img1").is_dir() else path
    images = sorted(item for item in folder.iterdir() if item.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise SourceError(f"folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return images


def _folder_fps(path: Path) -> float:
    """Frame rate from a MOT-style ``seqinfo.ini`` beside ``img1/``."""
    for candidate in (path / "seqinfo.ini", path.parent / "seqinfo.ini"):
        if candidate.is_file():
            parser = configparser.ConfigParser()
            parser.read(candidate)
            if parser.has_option("Sequence", "frameRate"):
                return float(parser.get("Sequence", "frameRate"))
    raise SourceError(f"folder {path} has no seqinfo.ini with frameRate: set source.fps")


class LiveSource:
    """RTSP/HTTP stream or USB camera: newest frame wins; reconnects with backoff.

    ``frames_dropped`` counts frames captured but never handed out because a newer one
    arrived first (the detector was busy). ``reconnects`` counts reopen attempts.
    """

    live = True

    def __init__(
        self,
        config: SourceConfig,
        open_capture: Callable[[str, float], Any] = open_capture,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.uri = config.uri
        self.state: SourceState = "starting"
        self.frames_dropped = 0
        self.frames_captured = 0
        self.reconnects = 0
        self.frame_count = 0
        self.frames_per_second = config.fps or 0.0
        self._open_capture = open_capture
        self._clock = clock
        self._condition = threading.Condition()
        self._newest: SourceFrame | None = None
        self._started = False
        self._reader = ReaderThread(f"source:{self.uri}", self._capture_loop)

    def _capture_loop(self, stop: threading.Event) -> None:
        delay = self.config.reconnect_initial_seconds
        index = 0
        while not stop.is_set():
            capture = self._open_capture(self.uri, self.config.read_timeout_seconds)
            if capture is None:
                self._set_state("reconnecting")
                logger.warning("cannot open %s; retrying in %.1f s", self.uri, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.config.reconnect_max_seconds)
                self.reconnects += 1
                continue
            self._set_state("streaming")
            try:
                index, frames_read = self._read_until_failure(capture, stop, index)
            finally:
                capture.release()
            if frames_read:
                delay = self.config.reconnect_initial_seconds
            if not stop.is_set():
                self._set_state("reconnecting")
                logger.warning("stream %s stopped; reopening in %.1f s", self.uri, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.config.reconnect_max_seconds)
                self.reconnects += 1

    def _read_until_failure(
        self, capture: Any, stop: threading.Event, index: int
    ) -> tuple[int, int]:
        frames_read = 0
        while not stop.is_set():
            ok, image = capture.read()
            if not ok or image is None:
                return index, frames_read
            frame = SourceFrame(index=index, timestamp_seconds=self._clock(), image=image)
            index += 1
            frames_read += 1
            with self._condition:
                if self._newest is not None:
                    self.frames_dropped += 1
                self._newest = frame
                self.frames_captured += 1
                self._condition.notify()
        return index, frames_read

    def _set_state(self, state: SourceState) -> None:
        with self._condition:
            self.state = state
            self._condition.notify()

    def take(self, timeout_seconds: float) -> SourceFrame | None:
        """The newest frame, waiting up to ``timeout_seconds``; None if none arrived.
        Raises ``SourceError`` once the capture thread has died (it only retries I/O)."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while self._newest is None:
                if self._reader.error is not None:
                    self.state = "failed"
                    raise SourceError(f"{self.uri}: {self._reader.error}") from self._reader.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)
            frame, self._newest = self._newest, None
            return frame

    def start(self) -> None:
        """Start capturing in the background (``take`` then returns the newest frame)."""
        if not self._started:
            self._started = True
            self._reader.start()

    def __iter__(self) -> Iterator[SourceFrame]:
        self.start()
        try:
            while True:
                frame = self.take(self.config.read_timeout_seconds)
                if frame is not None:
                    yield frame
        finally:
            self.close()

    def close(self) -> None:
        self._reader.stop()


FrameSource = RecordedSource | LiveSource


def open_source(config: SourceConfig) -> FrameSource:
    """The source for a URI: live for URLs and camera indices, recorded for paths."""
    if is_live_uri(config.uri):
        return LiveSource(config)
    return RecordedSource(config)
