"""The frames of ``footfall edge label``: JPEG by frame number, decoded on demand from the
recording (``RecordingReader``: sequential decoding, a seek for a jump) and the most recent
kept in a small cache, so a long recording is never decoded up front and a step back is
instant."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import cv2

from edge.vision.recording_reader import RecordingReader
from edge.vision.sources import SourceError

JPEG_QUALITY = 90
"""Fine detail matters: is that foot over the line yet?"""
CACHE_BYTES = 64 * 1024 * 1024
"""JPEG frames kept (about 250 frames of 1080p, 10 s at 25 fps): a step back is instant."""
BACKFILL_FRAMES = 15
"""On a jump, the frames just before the one asked for are decoded and kept too: the person
steps back from there next (one seek, instead of one per step)."""


class FrameStore:
    """The clip's frames as JPEG by 1-based number, decoded on demand, the most recent kept
    (least recently used out first) up to ``cache_bytes``. Thread-safe."""

    def __init__(self, reader: RecordingReader, cache_bytes: int = CACHE_BYTES) -> None:
        self.reader = reader
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()
        self.decoded = 0
        """Frames decoded so far (tests: a clip is not decoded up front)."""

    @property
    def frame_count(self) -> int:
        return self.reader.frame_count

    def jpeg(self, frame: int) -> bytes | None:
        """Frame ``frame`` (1-based) as JPEG; None when the clip has no such frame. Raises
        ``SourceError`` for a frame that cannot be decoded."""
        with self._lock:
            if not 1 <= frame <= self.reader.frame_count:
                return None
            cached = self._cache.get(frame)
            if cached is not None:
                self._cache.move_to_end(frame)
                return cached
            index = frame - 1
            first = index
            following = self.reader.next_index
            if following is not None:  # a video: read on if close, else jump with backfill
                first = max(0, index - BACKFILL_FRAMES)
                if first <= following <= index:
                    first = following
            for position, image in self.reader.read(first, index + 1):
                self.decoded += 1
                if position >= index - BACKFILL_FRAMES and position + 1 not in self._cache:
                    self._keep(position + 1, encode_jpeg(image))
            return self._cache.get(frame)

    def _keep(self, frame: int, data: bytes) -> None:
        self._cache[frame] = data
        self._cached_bytes += len(data)
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped)

    def close(self) -> None:
        with self._lock:
            self.reader.close()


def encode_jpeg(image: Any) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise SourceError("OpenCV could not encode a frame as JPEG")
    return bytes(buffer.tobytes())
