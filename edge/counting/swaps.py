"""Two people crossing a line in opposite directions whose tracker ids swap at the line.

Each id then comes to the line and turns back to the side it came from, so a crossing rule
per id counts nothing although two people crossed. ``SwapPairing`` remembers the recent
U-turns at one line and pairs two of them from opposite sides that happened together (their
stays at the line overlap in time) and at the same place (within a person's height): one
entry and one exit. A U-turn that never reached the line, or a long stay on it (people
talking in the doorway), is not a swap.

Pure; distances in source-frame pixels, times in seconds. Bounded: U-turns older than
``window_seconds`` are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edge.vision.detections import FloatArray

SWAP_WINDOW_SECONDS = 2.0
"""Longest stay at the line that can still be one half of a swap."""
LINE_REACH_FRACTION = 0.5
"""A U-turn must come within this fraction of the band of the line (or pass it)."""


@dataclass
class BandVisit:
    """One track's stay inside a line's band after leaving ``side``."""

    track_id: int
    side: int
    entered_seconds: float
    size_px: float
    """The person's height: how close two U-turns must be to be one swap."""
    band_px: float = 0.0
    deepest_px: float = math.inf
    """Closest approach toward the other side (negative: past the line), px."""
    deepest_point: FloatArray = field(default_factory=lambda: np.zeros(2))
    left_seconds: float = math.inf


class SwapPairing:
    def __init__(self, window_seconds: float = SWAP_WINDOW_SECONDS) -> None:
        self.window_seconds = window_seconds
        self._turns: list[BandVisit] = []

    @property
    def remembered(self) -> int:
        return len(self._turns)

    def extend(
        self,
        visit: BandVisit | None,
        track_id: int,
        side: int,
        point: FloatArray,
        signed_distance_px: float,
        band_px: float,
        size_px: float,
        timestamp_seconds: float,
    ) -> BandVisit:
        """Start or continue a track's stay in the band (it came from ``side``)."""
        if visit is None:
            visit = BandVisit(track_id, side, timestamp_seconds, size_px)
        depth = side * signed_distance_px
        if depth < visit.deepest_px:
            visit.deepest_px = depth
            visit.deepest_point = point.copy()
        visit.band_px = max(visit.band_px, band_px)
        visit.size_px = max(visit.size_px, size_px)
        return visit

    def turned_back(self, visit: BandVisit, timestamp_seconds: float) -> BandVisit | None:
        """The visit's track is back beyond the band on its own side: the partner U-turn it
        pairs with (consumed), if any."""
        self._turns = [
            turn
            for turn in self._turns
            if timestamp_seconds - turn.left_seconds <= self.window_seconds
        ]
        if visit.deepest_px > LINE_REACH_FRACTION * visit.band_px:
            return None
        if timestamp_seconds - visit.entered_seconds > self.window_seconds:
            return None
        visit.left_seconds = timestamp_seconds
        for turn in self._turns:
            if self._pairs(turn, visit):
                self._turns.remove(turn)
                return turn
        self._turns.append(visit)
        return None

    @staticmethod
    def _pairs(earlier: BandVisit, later: BandVisit) -> bool:
        if earlier.side != -later.side or earlier.track_id == later.track_id:
            return False
        if later.entered_seconds > earlier.left_seconds:
            return False
        gap = float(np.hypot(*(earlier.deepest_point - later.deepest_point)))
        return gap <= max(earlier.size_px, later.size_px)
