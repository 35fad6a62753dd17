"""Tally files: the true crossings a person noted while watching a clip, one per row of a CSV
``time_seconds,line,direction`` (direction ``in`` or ``out``, time from the clip's first
frame). The other kind of truth beside MOT tracks (``edge.audit.load_mot``): a store can make
one for its own camera without annotating boxes.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from edge.audit import TruthError
from edge.counting.counters import Direction
from edge.replay import CrossingEvent

TALLY_HEADER = ("time_seconds", "line", "direction")
TALLY_DIRECTIONS = {"in": Direction.ENTRY, "out": Direction.EXIT}


@dataclass(frozen=True)
class TallyCrossing:
    time_seconds: float
    """Seconds from the clip's first frame (frame 1 is at 0 s)."""
    line_id: str
    direction: Direction


def is_tally(path: Path) -> bool:
    """A ``.csv`` file, or any file whose first line is the tally header (MOT files have no
    header), is a tally; anything else is read as MOT."""
    if path.suffix.lower() == ".csv":
        return True
    try:
        with path.open() as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first.strip().replace(" ", "").lower().startswith(",".join(TALLY_HEADER))


def load_tally(path: Path, line_ids: Collection[str]) -> list[TallyCrossing]:
    """Rows of ``path`` in file order. The header is optional; blank lines are skipped. Every
    error names the file and the line: a bad time, an unknown line id (``line_ids``: the
    camera's lines), a direction other than ``in`` / ``out``."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise TruthError(f"cannot read tally {path}: {reason}") from None
    crossings: list[TallyCrossing] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and [cell.lower() for cell in cells] == list(TALLY_HEADER):
            continue
        crossings.append(_parse_row(path, number, cells, line_ids))
    return crossings


def _parse_row(
    path: Path, number: int, cells: list[str], line_ids: Collection[str]
) -> TallyCrossing:
    where = f"{path}:{number}"
    if len(cells) != len(TALLY_HEADER):
        raise TruthError(f"{where}: expected {','.join(TALLY_HEADER)}, got {','.join(cells)!r}")
    time_text, line_id, direction_text = cells
    try:
        time_seconds = float(time_text)
    except ValueError:
        raise TruthError(f"{where}: time_seconds {time_text!r} is not a number") from None
    if not math.isfinite(time_seconds) or time_seconds < 0:
        raise TruthError(f"{where}: time_seconds {time_text!r} must be 0 or more")
    if line_id not in line_ids:
        known = ", ".join(sorted(line_ids)) or "none"
        raise TruthError(f"{where}: unknown line {line_id!r} (the camera's lines: {known})")
    direction = TALLY_DIRECTIONS.get(direction_text.lower())
    if direction is None:
        raise TruthError(f"{where}: direction {direction_text!r} must be in or out")
    return TallyCrossing(time_seconds, line_id, direction)


def tally_events(crossings: list[TallyCrossing], frames_per_second: float) -> list[CrossingEvent]:
    """The tally as crossings at the nearest source frame (1-based: 0 s is frame 1), the unit
    the counted crossings and the matching use."""
    if frames_per_second <= 0:
        raise ValueError(f"frames_per_second must be positive, got {frames_per_second}")
    return [
        CrossingEvent(
            round(crossing.time_seconds * frames_per_second) + 1,
            crossing.line_id,
            crossing.direction,
        )
        for crossing in crossings
    ]
