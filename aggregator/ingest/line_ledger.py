"""The counts behind one store's occupancy today: per (camera, line, interval start) either
the final counts of a count interval or provisional counts from live crossings.

Reconciliation rules (docs/aggregator.md, "Live crossings"):

* A live crossing adds one entry or exit to its (camera, line, interval start), provisionally,
  unless that camera's interval at that start (or a later one) has already arrived: late and
  duplicate live crossings of a closed interval are ignored. A duplicate of a crossing
  already applied (same sequence, line, direction and time) is ignored too.
* A count interval *closes* its (camera, interval start): its totals replace whatever the
  live crossings of that interval added (so live and durable counts never add up twice, and
  live crossings that were lost cost nothing once the interval is here). Closing also drops
  the provisional counts of the camera's earlier intervals that never arrived: an edge
  publishes a camera's intervals in order, so those were lost with a killed worker (or are
  being re-sent, and then count when they arrive, like any interval).
* Provisional counts whose interval has not arrived ``expire`` after their planned end plus a
  grace period; the interval, whenever it comes, still counts in full.

Pure: no clock, no I/O. Times are Unix nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

LineKey = tuple[str, str, int]
"""(camera id, line id, interval start in ns)."""
MAX_LIVE_PER_INTERVAL = 100_000
"""Live crossings remembered per camera and interval (beyond: ignored until the interval)."""


@dataclass(frozen=True)
class LiveMark:
    """What identifies one live crossing within its camera and interval."""

    sequence: int
    line_id: str
    entry: bool
    time_ns: int


@dataclass
class _OpenInterval:
    """Live crossings of one camera's interval whose count interval has not arrived."""

    end_ns: int
    counts: dict[str, list[int]]
    """line id -> [entries, exits]."""
    seen: set[LiveMark]


class LineLedger:
    """Final and provisional line counts of one store's business day, summed per interval
    start (``buckets``) for the clamped running occupancy."""

    def __init__(self) -> None:
        self.final: dict[LineKey, tuple[int, int]] = {}
        self.buckets: dict[int, list[int]] = {}
        """interval start -> [entries, exits] of every entrance, final or provisional."""
        self.entries = 0
        self.exits = 0
        self.provisional_entries = 0
        self.provisional_exits = 0
        self._open: dict[tuple[str, int], _OpenInterval] = {}
        self._closed_until: dict[str, int] = {}
        """camera -> latest interval start whose count interval arrived (or expired)."""

    def set_final(
        self, camera_id: str, line_id: str, start_ns: int, entries: int, exits: int
    ) -> bool:
        """The counts of a count interval; replaces the live crossings of its interval.
        Returns False when nothing changed (the same counts again)."""
        dropped = self._close(camera_id, start_ns)
        key = (camera_id, line_id, start_ns)
        previous = self.final.get(key)
        if previous == (entries, exits):
            return dropped
        before_entries, before_exits = previous or (0, 0)
        self.final[key] = (entries, exits)
        self._add(start_ns, entries - before_entries, exits - before_exits)
        return True

    def add_live(self, camera_id: str, start_ns: int, end_ns: int, mark: LiveMark) -> bool:
        """One live crossing, provisionally; False when it is late, a duplicate, or over
        :data:`MAX_LIVE_PER_INTERVAL`."""
        if start_ns <= self._closed_until.get(camera_id, -1):
            return False
        interval = self._open.get((camera_id, start_ns))
        if interval is None:
            interval = self._open[(camera_id, start_ns)] = _OpenInterval(end_ns, {}, set())
        if mark in interval.seen or len(interval.seen) >= MAX_LIVE_PER_INTERVAL:
            return False
        interval.seen.add(mark)
        interval.end_ns = max(interval.end_ns, end_ns)
        counts = interval.counts.setdefault(mark.line_id, [0, 0])
        if mark.entry:
            counts[0] += 1
            self.provisional_entries += 1
            self._add(start_ns, 1, 0)
        else:
            counts[1] += 1
            self.provisional_exits += 1
            self._add(start_ns, 0, 1)
        return True

    def expire(self, before_ns: int) -> bool:
        """Drop provisional counts of intervals planned to end before ``before_ns`` whose
        count interval never arrived; their live crossings are ignored from then on."""
        stale = [key for key, interval in self._open.items() if interval.end_ns < before_ns]
        for camera_id, start_ns in stale:
            self._drop(camera_id, start_ns)
            self._closed_until[camera_id] = max(self._closed_until.get(camera_id, -1), start_ns)
        return bool(stale)

    def provisional(self) -> dict[LineKey, tuple[int, int]]:
        """(camera, line, start) -> live entries and exits not yet replaced by an interval."""
        return {
            (camera_id, line_id, start_ns): (counts[0], counts[1])
            for (camera_id, start_ns), interval in self._open.items()
            for line_id, counts in interval.counts.items()
        }

    def _close(self, camera_id: str, start_ns: int) -> bool:
        if start_ns <= self._closed_until.get(camera_id, -1):
            return False
        self._closed_until[camera_id] = start_ns
        earlier = [key for key in self._open if key[0] == camera_id and key[1] <= start_ns]
        changed = False
        for _, open_start_ns in earlier:
            changed = self._drop(camera_id, open_start_ns) or changed
        return changed

    def _drop(self, camera_id: str, start_ns: int) -> bool:
        interval = self._open.pop((camera_id, start_ns))
        changed = False
        for entries, exits in interval.counts.values():
            self.provisional_entries -= entries
            self.provisional_exits -= exits
            self._add(start_ns, -entries, -exits)
            changed = changed or bool(entries or exits)
        return changed

    def _add(self, start_ns: int, entries: int, exits: int) -> None:
        bucket = self.buckets.get(start_ns)
        if bucket is None:
            bucket = self.buckets[start_ns] = [0, 0]
        bucket[0] += entries
        bucket[1] += exits
        self.entries += entries
        self.exits += exits
