"""Frames of a recording by position (``RecordingReader``), for a person stepping through it
(``footfall edge label``); the pipeline reads recordings front to back with ``RecordedSource``
(``edge.vision.sources``), from the same opening code."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import SourceConfig
from edge.vision.capture import is_live_uri, open_capture
from edge.vision.sources import Image, SourceError, open_recording

logger = logging.getLogger(__name__)


class RecordingReader:
    """The frames of a video file or a folder of images by position, for a person stepping
    through a recording (``footfall edge label``): decoded on demand, never all up front.
    Reading on from where the last read stopped decodes sequentially; a jump back, or more
    than :attr:`GRAB_LIMIT` frames ahead, seeks.

    OpenCV's seek is trusted only where a probe at opening shows it lands where sequential
    decoding does and the header's frame count is right (an MPEG program stream, for one, has
    neither: every seek lands on the same frame). Otherwise the frames are counted once at
    opening (``grab``, no colour conversion) and a jump back reopens the file and decodes
    forward. Not thread-safe: one reader per thread, or a lock around it.
    """

    GRAB_LIMIT = 64
    """Frames ahead of the current position still reached by decoding rather than seeking."""
    PROBE_FRAMES = 6

    def __init__(self, config: SourceConfig) -> None:
        if is_live_uri(config.uri):
            raise SourceError(
                f"{config.uri} is a live source: a recording (video file or folder of images) "
                "is needed"
            )
        self.uri = config.uri
        recording = open_recording(config)
        self._images = recording.images
        self._capture: Any = recording.capture
        self.frames_per_second = recording.frames_per_second
        self.frame_count = recording.frame_count
        """Frames in the recording (lowered if the video ends before its header said)."""
        self.seekable = not self._images and self._seek_is_exact()
        """A video whose seeks are trusted (a folder needs none)."""
        self._position = 0
        """The frame the capture decodes next."""
        if self._capture is not None:
            self._reopen()
            if not self.seekable:
                self.frame_count = self._count_frames()
        if self.frame_count <= 0:
            self.close()
            raise SourceError(f"{self.uri} holds no frames")

    def _reopen(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture = open_capture(str(Path(self.uri).expanduser()))
        if self._capture is None:
            raise SourceError(f"cannot decode video file {self.uri}")
        self._position = 0

    def _seek_is_exact(self) -> bool:
        """Whether seeking a few frames in gives the frame decoding gives, and seeking to the
        header's last frame reads it and nothing after it."""
        import cv2

        count = self.frame_count
        capture = self._capture
        if count <= 0:
            return False
        decoded = []
        for _ in range(min(count, self.PROBE_FRAMES)):
            ok, image = capture.read()
            if not ok:
                return False
            decoded.append(image)
        target = len(decoded) - 2 if len(decoded) >= 3 else 0
        capture.set(cv2.CAP_PROP_POS_FRAMES, target)
        ok, image = capture.read()
        if not ok or not np.array_equal(image, decoded[target]):
            return False
        capture.set(cv2.CAP_PROP_POS_FRAMES, count - 1)
        return bool(capture.grab()) and not capture.grab()

    def _count_frames(self) -> int:
        logger.info("%s: its header cannot be trusted for seeking; counting its frames", self.uri)
        count = 0
        while self._capture.grab():
            count += 1
        self._reopen()
        return count

    @property
    def next_index(self) -> int | None:
        """The frame a read decodes without seeking (a video); None for a folder, where every
        frame is as quick to read."""
        return None if self._capture is None else self._position

    def read(self, first: int, stop: int) -> Iterator[tuple[int, Image]]:
        """Frames ``first`` to ``stop - 1`` (0-based) with their index, in order; fewer when
        the recording ends first. Raises ``SourceError`` for an image that cannot be
        decoded."""
        import cv2

        first, stop = max(first, 0), min(stop, self.frame_count)
        if self._capture is None:
            for index in range(first, stop):
                image = cv2.imread(str(self._images[index]), cv2.IMREAD_COLOR)
                if image is None:
                    raise SourceError(f"cannot decode image {self._images[index]}")
                yield index, image.astype(np.uint8, copy=False)
            return
        if first >= stop or not self._move_to(first):
            return
        for index in range(first, stop):
            ok, image = self._capture.read()
            if not ok:
                self._ended_at(index)
                return
            self._position = index + 1
            yield index, image

    def _move_to(self, first: int) -> bool:
        """Position the capture so that the next read decodes frame ``first``; False when
        the recording ends before it."""
        import cv2

        if first == self._position:
            return True
        if self.seekable and not self._position <= first <= self._position + self.GRAB_LIMIT:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, first)
            self._position = first
            return True
        if first < self._position:
            self._reopen()
        while self._position < first:
            if not self._capture.grab():
                self._ended_at(self._position)
                return False
            self._position += 1
        return True

    def _ended_at(self, index: int) -> None:
        """The video ended (or broke) at frame ``index``: the frames after it do not exist."""
        logger.warning(
            "%s: ends at frame %d, before the %d expected",
            self.uri,
            index,
            self.frame_count,
        )
        self.frame_count = index
        self._reopen()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
