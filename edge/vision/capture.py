"""OpenCV captures and the reader thread behind every frame source (``edge.vision.sources``)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any


def is_live_uri(uri: str) -> bool:
    return uri.isdigit() or bool(re.match(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp)://", uri))


def open_capture(uri: str, timeout_seconds: float | None = None) -> Any:
    """An OpenCV capture, or None when it cannot be opened. For stream URLs,
    ``timeout_seconds`` bounds opening and every read (FFmpeg backend), so a stalled stream
    fails instead of blocking forever."""
    import cv2

    if uri.isdigit():
        capture = cv2.VideoCapture(int(uri))
    elif timeout_seconds is not None and is_live_uri(uri):
        milliseconds = int(timeout_seconds * 1000)
        capture = cv2.VideoCapture(
            uri,
            cv2.CAP_FFMPEG,
            [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                milliseconds,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                milliseconds,
            ],
        )
    else:
        capture = cv2.VideoCapture(uri)
    if not capture.isOpened():
        capture.release()
        return None
    return capture


class ReaderThread:
    """Runs ``produce`` in a daemon thread; errors are re-raised to the consumer."""

    def __init__(self, name: str, produce: Callable[[threading.Event], None]) -> None:
        self._stop = threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            try:
                produce(self._stop)
            except BaseException as error:
                self.error = error

        self._thread = threading.Thread(target=run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
