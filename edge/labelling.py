"""A person's tally of a clip in the making (``footfall edge label``): the crossings recorded so
far, each at a frame of the clip, and the tally file (``edge.tally``) that holds them.

Every change rewrites the whole file atomically (a temporary file beside it, then a rename), so
the file on disk is always a complete tally: nothing is lost when the browser or the server
dies, and a tally started earlier is loaded and continued.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.counting.counters import Direction
from edge.tally import TALLY_DIRECTIONS, TALLY_HEADER, load_tally

DIRECTION_WORDS = {direction: word for word, direction in TALLY_DIRECTIONS.items()}
"""``Direction.ENTRY`` -> ``in``, ``Direction.EXIT`` -> ``out``: the tally's words."""


class LabelError(ValueError):
    """A crossing that cannot be recorded, or a tally that cannot be written; the message
    says why."""


def frame_seconds(frame: int, frames_per_second: float) -> float:
    """Seconds from the clip's first frame to ``frame`` (1-based: frame 1 is at 0 s)."""
    return (frame - 1) / frames_per_second


def seconds_text(seconds: float) -> str:
    """A time as the tally writes it: milliseconds, trailing zeros dropped (``0.5``,
    ``12.429``, ``0``); exact to the frame at any frame rate up to 500 fps."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Crossing:
    id: int
    """Unique in the session, in the order crossings were recorded (or loaded)."""
    frame: int
    """1-based frame of the clip (frame 1 is at 0 s)."""
    time_seconds: float
    line_id: str
    direction: Direction

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "frame": self.frame,
            "time_seconds": round(self.time_seconds, 3),
            "line": self.line_id,
            "direction": DIRECTION_WORDS[self.direction],
        }


class LabelSession:
    """The crossings of one tally file for a clip at ``frames_per_second``, with ``line_ids``
    its only lines. Thread-safe: the server's request threads share one session.

    An existing file at ``path`` is loaded first (``edge.tally.load_tally``: an unknown line or
    a bad row raises ``TruthError`` naming the file and row, and the file is left alone); its
    crossings keep their times as written. Crossings are written in time order; undo removes
    the last one recorded (after a reload: the last in the file).
    """

    def __init__(
        self,
        path: Path,
        line_ids: Collection[str],
        frames_per_second: float,
        frame_count: int | None = None,
    ) -> None:
        if frames_per_second <= 0:
            raise ValueError(f"frames_per_second must be positive, got {frames_per_second}")
        if not line_ids:
            raise LabelError("no lines to label: give --line NAME=x1,y1,x2,y2@ix,iy")
        self.path = path
        self.line_ids = list(line_ids)
        self.frames_per_second = frames_per_second
        self.frame_count = frame_count
        self.version = 0
        """Changes since the session started: the page's way to tell a fresh list."""
        self._lock = threading.Lock()
        self._crossings: list[Crossing] = []
        self._next_id = 1
        if path.exists():
            for loaded in load_tally(path, self.line_ids):
                frame = round(loaded.time_seconds * frames_per_second) + 1
                self._append(frame, loaded.time_seconds, loaded.line_id, loaded.direction)
        self.loaded = len(self._crossings)
        """Crossings the file held when the session started."""

    @property
    def crossings(self) -> list[Crossing]:
        """In time order (then in the order recorded)."""
        with self._lock:
            return self._sorted()

    def _sorted(self) -> list[Crossing]:
        return sorted(self._crossings, key=lambda crossing: (crossing.time_seconds, crossing.id))

    def _append(self, frame: int, seconds: float, line_id: str, direction: Direction) -> Crossing:
        crossing = Crossing(self._next_id, frame, seconds, line_id, direction)
        self._next_id += 1
        self._crossings.append(crossing)
        return crossing

    def add(self, frame: int, line_id: str, direction: str | Direction) -> Crossing:
        """Record a crossing of ``line_id`` at ``frame`` (1-based) and write the file.
        ``direction``: ``in`` / ``out`` or a ``Direction``."""
        if not isinstance(direction, Direction):
            parsed = TALLY_DIRECTIONS.get(str(direction).strip().lower())
            if parsed is None:
                raise LabelError(f"direction {direction!r} must be in or out")
            direction = parsed
        if line_id not in self.line_ids:
            known = ", ".join(self.line_ids)
            raise LabelError(f"unknown line {line_id!r} (the lines: {known})")
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 1:
            raise LabelError(f"frame {frame!r} must be a whole number from 1")
        if self.frame_count is not None and frame > self.frame_count:
            raise LabelError(f"frame {frame} is past the clip's last frame {self.frame_count}")
        with self._lock:
            seconds = frame_seconds(frame, self.frames_per_second)
            crossing = self._append(frame, seconds, line_id, direction)
            self._changed(lambda: self._crossings.remove(crossing))
            return crossing

    def undo(self) -> Crossing | None:
        """Remove the crossing recorded last and write the file; None when there is none."""
        with self._lock:
            if not self._crossings:
                return None
            crossing = self._crossings.pop()
            self._changed(lambda: self._crossings.append(crossing))
            return crossing

    def delete(self, crossing_id: int) -> Crossing | None:
        """Remove the crossing ``crossing_id`` and write the file; None when there is none."""
        with self._lock:
            ids = [crossing.id for crossing in self._crossings]
            if crossing_id not in ids:
                return None
            position = ids.index(crossing_id)
            crossing = self._crossings.pop(position)
            self._changed(lambda: self._crossings.insert(position, crossing))
            return crossing

    def _changed(self, revert: Callable[[], None]) -> None:
        """Write the file after a change; when that fails, ``revert`` the change (the page
        and the file never disagree) and raise ``LabelError``."""
        try:
            self._write()
        except OSError as error:
            revert()
            raise LabelError(f"cannot write {self.path}: {error.strerror or error}") from None
        self.version += 1

    def write(self) -> None:
        """Write the file as it stands (at start, so a new tally exists from the first
        moment, and at the end). Raises ``LabelError``."""
        with self._lock:
            try:
                self._write()
            except OSError as error:
                raise LabelError(f"cannot write {self.path}: {error.strerror or error}") from None

    def _write(self) -> None:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(TALLY_HEADER)
        for crossing in self._sorted():
            writer.writerow(
                [
                    seconds_text(crossing.time_seconds),
                    crossing.line_id,
                    DIRECTION_WORDS[crossing.direction],
                ]
            )
        write_atomically(self.path, text.getvalue())

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            crossings = self._sorted()
            version = self.version
        totals = {
            line_id: {
                word: sum(
                    1
                    for crossing in crossings
                    if crossing.line_id == line_id and crossing.direction is direction
                )
                for direction, word in DIRECTION_WORDS.items()
            }
            for line_id in self.line_ids
        }
        return {
            "version": version,
            "crossings": [crossing.to_json() for crossing in crossings],
            "totals": totals,
        }


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: a temporary file in the same folder,
    flushed to disk, then renamed over it. A reader (or a crash) sees the old file or the new
    one, never half of one. Raises ``OSError``."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
