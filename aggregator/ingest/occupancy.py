"""Live occupancy per store: entries minus exits over the store's entrances since its daily reset.

Semantics (see docs/aggregator.md):

* The business day is store-local: it starts at ``daily_reset_local_time`` in the store's IANA
  time zone. A reset time that does not exist on a DST spring-forward day moves forward with
  the clock (02:30 becomes 03:30); one that exists twice on a fall-back day is the first.
* An interval belongs to the business day in which it starts. Only entrance lines count.
* Occupancy is the running sum of (entries - exits) over the day's intervals in start order,
  clamped at 0 after every interval; ``drift`` is the total that clamping removed, i.e. how far
  below zero the count would have gone. ``reset_residual`` is the occupancy left at the end of
  the previous business day, when the count started again from zero. Both are data-quality
  figures: a perfect counter has both at 0.
* Idempotent: for every (camera, line, interval start) the tracker keeps the counts it has
  applied and applies only the difference when the same interval arrives again (redelivery,
  or a merged interval from the edge outbox overwriting smaller ones with zeros).
* Live crossings count at once, provisionally, until their interval arrives and replaces
  them (``line_ledger.py`` has the rules): never twice, and none lost for good when live
  crossings are.

This module computes only; MQTT publishing and InfluxDB writes are the service's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.config import AggregatorConfig, StoreConfig
from aggregator.ingest.line_ledger import LineLedger, LiveMark
from aggregator.storage.line_protocol import Point, aware_to_nanoseconds
from aggregator.storage.line_roles import effective_role, moves_occupancy
from aggregator.storage.points import occupancy_point
from protocol.messages import CountInterval, LiveCrossing, StoreOccupancy

LIVE_GRACE_SECONDS = 300.0
"""Live crossings whose interval has not arrived this long after its planned end are
forgotten (the worker that counted them died with the interval unsent)."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Store-local business days that start at ``reset_local_time`` in ``zone``."""

    zone: ZoneInfo
    reset_local_time: time

    def reset_utc(self, business_day: date) -> datetime:
        """The instant ``business_day`` starts. For a wall time in a DST gap, ``fold=0`` maps
        through the pre-transition offset, which lands after the gap (clock moved forward)."""
        local = datetime.combine(business_day, self.reset_local_time, tzinfo=self.zone)
        return local.astimezone(UTC)

    def business_day(self, moment_utc: datetime) -> date:
        candidate = moment_utc.astimezone(self.zone).date()
        if moment_utc < self.reset_utc(candidate):
            return candidate - timedelta(days=1)
        if moment_utc >= self.reset_utc(candidate + timedelta(days=1)):
            return candidate + timedelta(days=1)
        return candidate


@dataclass(frozen=True)
class LineRecord:
    """Counts of one entrance line over one interval, as applied to occupancy."""

    store_id: str
    camera_id: str
    line_id: str
    interval_start_ns: int
    entries: int
    exits: int


@dataclass(frozen=True)
class OccupancySnapshot:
    store_id: str
    time_utc: datetime
    business_day: date
    occupancy: int
    entries_today: int
    exits_today: int
    capacity: int | None
    drift: int
    reset_residual: int
    last_update_utc: datetime | None = None
    provisional_entries: int = 0
    provisional_exits: int = 0

    @property
    def over_capacity(self) -> bool:
        return self.capacity is not None and self.occupancy > self.capacity

    def to_message(self) -> StoreOccupancy:
        return StoreOccupancy(
            store_id=self.store_id,
            time_utc=self.time_utc,
            business_day=self.business_day.isoformat(),
            occupancy=self.occupancy,
            entries_today=self.entries_today,
            exits_today=self.exits_today,
            capacity=self.capacity,
            over_capacity=self.over_capacity,
            drift=self.drift,
            last_update_utc=self.last_update_utc,
            provisional_entries=self.provisional_entries,
            provisional_exits=self.provisional_exits,
        )

    def to_point(self) -> Point:
        return occupancy_point(
            self.store_id,
            self.time_utc,
            occupancy=self.occupancy,
            entries_today=self.entries_today,
            exits_today=self.exits_today,
            over_capacity=self.over_capacity,
            drift=self.drift,
            reset_residual=self.reset_residual,
            capacity=self.capacity,
        )


class StoreOccupancyTracker:
    """Occupancy of one store over its current business day."""

    def __init__(self, store: StoreConfig, now_utc: datetime) -> None:
        self.store = store
        self.calendar = BusinessCalendar(store.zone, store.daily_reset_local_time)
        self.reset_residual = 0
        self.last_update_utc: datetime | None = None
        """When counts for this store last arrived (set by the caller)."""
        self._start_day(self.calendar.business_day(now_utc))

    def _start_day(self, business_day: date) -> None:
        self.business_day = business_day
        self.day_start_ns = aware_to_nanoseconds(self.calendar.reset_utc(business_day))
        self.day_end_ns = aware_to_nanoseconds(
            self.calendar.reset_utc(business_day + timedelta(days=1))
        )
        self.ledger = LineLedger()
        self._cached: tuple[int, int] | None = (0, 0)

    @property
    def entries_today(self) -> int:
        return self.ledger.entries

    @property
    def exits_today(self) -> int:
        return self.ledger.exits

    def roll_over(self, now_utc: datetime) -> bool:
        """Start a new business day if ``now_utc`` is past the reset; keeps the residual."""
        today = self.calendar.business_day(now_utc)
        if today <= self.business_day:
            return False
        residual = self.occupancy_and_drift()[0] if today == self.business_day + timedelta(1) else 0
        self._start_day(today)
        self.reset_residual = residual
        return True

    def set_counts(
        self, camera_id: str, line_id: str, start_ns: int, entries: int, exits: int
    ) -> bool:
        """Record the counts of one entrance line for the interval starting at ``start_ns``
        (they replace that interval's live crossings). Returns False when the interval is
        outside today or changes nothing."""
        if not self.day_start_ns <= start_ns < self.day_end_ns:
            return False
        if not self.ledger.set_final(camera_id, line_id, start_ns, entries, exits):
            return False
        self._cached = None
        return True

    def apply_live(self, crossing: LiveCrossing) -> bool:
        """Count one live crossing provisionally; False when it is outside today, late (its
        interval has arrived) or a duplicate."""
        start_ns = aware_to_nanoseconds(crossing.interval_start_utc)
        if not self.day_start_ns <= start_ns < self.day_end_ns:
            return False
        mark = LiveMark(
            crossing.sequence,
            crossing.line_id,
            crossing.direction == "entry",
            aware_to_nanoseconds(crossing.time_utc),
        )
        end_ns = aware_to_nanoseconds(crossing.interval_end_utc)
        if not self.ledger.add_live(crossing.camera_id, start_ns, end_ns, mark):
            return False
        self._cached = None
        return True

    def expire_live(self, now_utc: datetime, grace_seconds: float = LIVE_GRACE_SECONDS) -> bool:
        """Forget live crossings whose interval is ``grace_seconds`` past its planned end."""
        before_ns = aware_to_nanoseconds(now_utc) - int(grace_seconds * 1e9)
        if not self.ledger.expire(before_ns):
            return False
        self._cached = None
        return True

    def records(self) -> list[LineRecord]:
        """Every entrance count of an interval applied today (live crossings excluded)."""
        return [
            LineRecord(self.store.id, camera_id, line_id, start_ns, entries, exits)
            for (camera_id, line_id, start_ns), (entries, exits) in self.ledger.final.items()
        ]

    def knows(self, camera_id: str, line_id: str, start_ns: int) -> bool:
        """Whether the interval's counts (not only live crossings) were applied."""
        return (camera_id, line_id, start_ns) in self.ledger.final

    def occupancy_and_drift(self) -> tuple[int, int]:
        """Clamped running occupancy after the last interval, and the total clamped away."""
        if self._cached is None:
            occupancy = drift = 0
            buckets = self.ledger.buckets
            for start_ns in sorted(buckets):
                entries, exits = buckets[start_ns]
                occupancy += entries - exits
                if occupancy < 0:
                    drift -= occupancy
                    occupancy = 0
            self._cached = (occupancy, drift)
        return self._cached

    def snapshot(self, now_utc: datetime) -> OccupancySnapshot:
        occupancy, drift = self.occupancy_and_drift()
        return OccupancySnapshot(
            store_id=self.store.id,
            time_utc=now_utc,
            business_day=self.business_day,
            occupancy=occupancy,
            entries_today=self.entries_today,
            exits_today=self.exits_today,
            capacity=self.store.capacity,
            drift=drift,
            reset_residual=self.reset_residual,
            last_update_utc=self.last_update_utc,
            provisional_entries=self.ledger.provisional_entries,
            provisional_exits=self.ledger.provisional_exits,
        )


class OccupancyBook:
    """Trackers of every store that has sent counts; marks stores whose figures changed."""

    def __init__(self, config: AggregatorConfig, now_utc: datetime) -> None:
        self._config = config
        self._trackers: dict[str, StoreOccupancyTracker] = {}
        self._entrances: dict[tuple[str, str], set[str] | None] = {}
        self._changed: set[str] = set()
        self._now_utc = now_utc
        for store in config.stores:
            self.tracker(store.id)
            self._changed.add(store.id)

    def tracker(self, store_id: str) -> StoreOccupancyTracker:
        tracker = self._trackers.get(store_id)
        if tracker is None:
            tracker = StoreOccupancyTracker(self._config.store(store_id), self._now_utc)
            self._trackers[store_id] = tracker
        return tracker

    def set_reset_residual(self, store_id: str, business_day: date, residual: int) -> None:
        """Restore the residual recorded at today's reset (after a restart)."""
        tracker = self.tracker(store_id)
        if tracker.business_day == business_day:
            tracker.reset_residual = residual
            self._changed.add(store_id)

    def apply_message(
        self, message: CountInterval, received_utc: datetime | None = None
    ) -> list[LineRecord]:
        """Apply a count interval's entrance lines (replacing their live crossings); returns
        the records that changed. ``received_utc`` becomes the store's last update."""
        store_id, camera_id = message.store_id, message.camera_id
        entrances = self._entrance_lines(store_id, camera_id)
        tracker = self.tracker(store_id)
        start_ns = aware_to_nanoseconds(message.interval_start_utc)
        replaced_ns = [aware_to_nanoseconds(start) for start in message.merged_starts_utc[1:]]
        changed = []
        for line_id, line in message.lines.items():
            if not moves_occupancy(line_id, effective_role(line_id, line, entrances), entrances):
                continue
            for interval_ns, entries, exits in [
                (start_ns, line.entries, line.exits),
                *((replaced, 0, 0) for replaced in replaced_ns),
            ]:
                if tracker.set_counts(camera_id, line_id, interval_ns, entries, exits):
                    changed.append(
                        LineRecord(store_id, camera_id, line_id, interval_ns, entries, exits)
                    )
        if changed:
            self._changed.add(store_id)
        self._note_update(store_id, received_utc)
        return changed

    def apply_live(self, crossing: LiveCrossing, received_utc: datetime | None = None) -> bool:
        """Count a live crossing of an entrance line at once (provisionally). One whose
        interval ends beyond the clock-skew tolerance after ``received_utc`` is ignored: its
        interval would be refused, so nothing would ever replace it."""
        entrances = self._entrance_lines(crossing.store_id, crossing.camera_id)
        if entrances is not None and crossing.line_id not in entrances:
            return False
        tolerance = timedelta(seconds=self._config.clock_skew_tolerance_seconds)
        if received_utc is not None and crossing.interval_end_utc > received_utc + tolerance:
            return False
        applied = self.tracker(crossing.store_id).apply_live(crossing)
        if applied:
            self._changed.add(crossing.store_id)
        self._note_update(crossing.store_id, received_utc)
        return applied

    def apply_records(
        self, records: Iterable[LineRecord], received_utc: datetime | None = None
    ) -> list[LineRecord]:
        """Interval counts another replica applied (``received_utc``: the last update of
        their stores)."""
        changed = []
        for record in records:
            self._note_update(record.store_id, received_utc)
            tracker = self.tracker(record.store_id)
            if tracker.set_counts(
                record.camera_id,
                record.line_id,
                record.interval_start_ns,
                record.entries,
                record.exits,
            ):
                changed.append(record)
                self._changed.add(record.store_id)
        return changed

    def seed(self, records: Iterable[LineRecord]) -> int:
        """Load stored counts (after a restart) without overriding anything applied live."""
        fresh = [
            record
            for record in records
            if not self.tracker(record.store_id).knows(
                record.camera_id, record.line_id, record.interval_start_ns
            )
        ]
        return len(self.apply_records(fresh))

    def roll_over(self, now_utc: datetime) -> None:
        """Advance the clock: stores past their reset start a new business day; live
        crossings whose interval never arrived are forgotten."""
        self._now_utc = max(self._now_utc, now_utc)
        for store_id, tracker in self._trackers.items():
            if tracker.roll_over(now_utc) | tracker.expire_live(now_utc):
                self._changed.add(store_id)

    def take_changed(self, now_utc: datetime) -> list[OccupancySnapshot]:
        """Snapshots of the stores that changed since the last call."""
        changed, self._changed = self._changed, set()
        return [self._trackers[store_id].snapshot(now_utc) for store_id in sorted(changed)]

    def snapshots(self, now_utc: datetime) -> list[OccupancySnapshot]:
        return [tracker.snapshot(now_utc) for _, tracker in sorted(self._trackers.items())]

    def records(self) -> list[LineRecord]:
        return [record for tracker in self._trackers.values() for record in tracker.records()]

    def _note_update(self, store_id: str, received_utc: datetime | None) -> None:
        if received_utc is None:
            return
        tracker = self.tracker(store_id)
        received_utc = received_utc.replace(microsecond=0)
        if tracker.last_update_utc is None or received_utc > tracker.last_update_utc:
            tracker.last_update_utc = received_utc
            self._changed.add(store_id)

    def _entrance_lines(self, store_id: str, camera_id: str) -> set[str] | None:
        key = (store_id, camera_id)
        if key not in self._entrances:
            self._entrances[key] = self._config.store(store_id).entrance_lines(camera_id)
        return self._entrances[key]
