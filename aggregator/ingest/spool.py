"""A durable on-disk FIFO of line-protocol batches, used while InfluxDB cannot take writes.

Each batch is one segment file ``{sequence:020d}.lp``, written to a temporary name, fsync'd,
renamed into place and the directory fsync'd, so a segment either exists completely or not at
all after a crash. A leftover ``.tmp`` file is a batch whose messages were never acknowledged
to the broker (they will be redelivered), so it is deleted on open. Segments drain oldest
first. Batches InfluxDB refuses as malformed move to ``rejected/`` next to a ``.error`` file
with the reason, for an operator to inspect; they are never deleted automatically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SEGMENT_SUFFIX = ".lp"


class SpoolError(OSError):
    """The spool directory cannot be written (disk full, permissions)."""


@dataclass(frozen=True)
class Segment:
    path: Path
    sequence: int
    size_bytes: int

    def read(self) -> bytes:
        return self.path.read_bytes()


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, body: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.rename(path)
    _fsync_directory(path.parent)


class Spool:
    """Segments waiting for InfluxDB under ``directory`` (created if missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rejected_directory = directory / "rejected"
        try:
            self.rejected_directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SpoolError(f"cannot create spool directory {directory}: {error}") from error
        for leftover in directory.glob("*.tmp"):
            leftover.unlink()
        self._segments = sorted(
            (
                Segment(path, int(path.stem), path.stat().st_size)
                for path in directory.glob(f"*{SEGMENT_SUFFIX}")
            ),
            key=lambda segment: segment.sequence,
        )
        rejected = [int(path.stem) for path in self.rejected_directory.glob(f"*{SEGMENT_SUFFIX}")]
        self._next_sequence = max([-1, *rejected, *(s.sequence for s in self._segments)]) + 1
        self._pending_bytes = sum(segment.size_bytes for segment in self._segments)

    def __len__(self) -> int:
        return len(self._segments)

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def append(self, body: bytes) -> Segment:
        """Store ``body`` durably as the newest segment; raises :class:`SpoolError`."""
        path = self.directory / f"{self._next_sequence:020d}{SEGMENT_SUFFIX}"
        segment = Segment(path, self._next_sequence, len(body))
        try:
            _write_durably(segment.path, body)
        except OSError as error:
            raise SpoolError(f"cannot write spool segment {segment.path}: {error}") from error
        self._next_sequence += 1
        self._segments.append(segment)
        self._pending_bytes += segment.size_bytes
        return segment

    def oldest(self) -> Segment | None:
        return self._segments[0] if self._segments else None

    def remove(self, segment: Segment) -> None:
        """Delete a segment after InfluxDB confirmed its points."""
        self._forget(segment)
        segment.path.unlink(missing_ok=True)

    def reject(self, segment_or_body: Segment | bytes, reason: str) -> Path:
        """Keep a batch InfluxDB refused as malformed under ``rejected/`` with its reason."""
        if isinstance(segment_or_body, Segment):
            target = self.rejected_directory / segment_or_body.path.name
            _write_durably(target.with_suffix(".error"), reason.encode("utf-8"))
            self._forget(segment_or_body)
            segment_or_body.path.rename(target)
        else:
            sequence = self._next_sequence
            self._next_sequence += 1
            target = self.rejected_directory / f"{sequence:020d}{SEGMENT_SUFFIX}"
            _write_durably(target.with_suffix(".error"), reason.encode("utf-8"))
            _write_durably(target, segment_or_body)
        _fsync_directory(self.rejected_directory)
        return target

    def _forget(self, segment: Segment) -> None:
        if self._segments and self._segments[0] == segment:
            self._segments.pop(0)
        else:
            self._segments.remove(segment)
        self._pending_bytes -= segment.size_bytes
