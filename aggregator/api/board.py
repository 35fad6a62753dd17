"""The latest live state the API serves: occupancy per store, health and status per camera.

Updates arrive on paho-mqtt's network thread and are handed to the asyncio loop that serves
HTTP with ``call_soon_threadsafe``; every read and every server-sent-events listener runs on
that loop, so the state needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from protocol.aggregator_status import AggregatorStatus
from protocol.messages import CameraHealth, CameraStatus, StoreOccupancy

CameraKey = tuple[str, str]
"""(store id, camera id)."""


@dataclass
class CameraState:
    store_id: str
    camera_id: str
    status: CameraStatus | None = None
    health: CameraHealth | None = None
    last_report_utc: datetime | None = None
    """When the API last received its health or status (its own clock)."""


@dataclass
class _Listener:
    store_id: str | None
    """None: every store."""
    queue: asyncio.Queue[StoreOccupancy]


@dataclass
class BoardCounters:
    """Figures for ``/health``; written on the MQTT thread, read on the loop (plain ints)."""

    messages_received: int = 0
    messages_rejected: int = 0
    last_rejection: str | None = None


@dataclass
class LiveBoard:
    """Latest retained state per store and camera, with change notification for streams.

    A listener's queue holds at most ``listener_queue_size`` changes; when a slow client lets
    it fill, the oldest change is dropped: a display only ever needs the latest count.
    """

    loop: asyncio.AbstractEventLoop
    listener_queue_size: int = 16
    counters: BoardCounters = field(default_factory=BoardCounters)
    _occupancy: dict[str, StoreOccupancy] = field(init=False, default_factory=dict)
    _cameras: dict[CameraKey, CameraState] = field(init=False, default_factory=dict)
    _listeners: list[_Listener] = field(init=False, default_factory=list)
    _aggregators: dict[str, AggregatorStatus] = field(init=False, default_factory=dict)
    streams_closing: bool = field(init=False, default=False)
    """Set when the server stops: event streams end on their next wake-up (within a second)
    instead of being cancelled by the server's graceful-shutdown timeout."""
    """The retained status of each aggregator replica, by its status topic."""

    def close_streams(self) -> None:
        """Ask every event stream to end (safe from any thread: one flag, read by the loop)."""
        self.streams_closing = True

    def __post_init__(self) -> None:
        if self.listener_queue_size < 1:
            raise ValueError(f"listener_queue_size must be >= 1, got {self.listener_queue_size}")

    # Thread-safe entry points, called from the MQTT network thread.

    def submit_occupancy(self, occupancy: StoreOccupancy) -> None:
        self.loop.call_soon_threadsafe(self._apply_occupancy, occupancy)

    def submit_occupancy_cleared(self, store_id: str) -> None:
        """The retained occupancy of a store was deleted (empty retained payload)."""
        self.loop.call_soon_threadsafe(self._occupancy.pop, store_id, None)

    def submit_health(self, health: CameraHealth) -> None:
        self.loop.call_soon_threadsafe(self._apply_health, health)

    def submit_status(self, status: CameraStatus) -> None:
        self.loop.call_soon_threadsafe(self._apply_status, status)

    def submit_aggregator_status(self, topic: str, status: AggregatorStatus | None) -> None:
        """A replica's retained status; None: it was deleted (empty retained payload)."""
        if status is None:
            self.loop.call_soon_threadsafe(self._aggregators.pop, topic, None)
        else:
            self.loop.call_soon_threadsafe(self._aggregators.__setitem__, topic, status)

    def note_rejected(self, reason: str) -> None:
        self.counters.messages_rejected += 1
        self.counters.last_rejection = reason

    # Loop side.

    def occupancy(self, store_id: str) -> StoreOccupancy | None:
        return self._occupancy.get(store_id)

    def occupancies(self) -> list[StoreOccupancy]:
        return [self._occupancy[store_id] for store_id in sorted(self._occupancy)]

    def store_ids(self) -> set[str]:
        """Stores seen on the broker, by occupancy or by one of their cameras."""
        return set(self._occupancy) | {store_id for store_id, _ in self._cameras}

    def cameras(self, store_id: str | None = None) -> list[CameraState]:
        return [
            self._cameras[key]
            for key in sorted(self._cameras)
            if store_id is None or key[0] == store_id
        ]

    @contextlib.contextmanager
    def listen(self, store_id: str | None = None) -> Iterator[asyncio.Queue[StoreOccupancy]]:
        """A queue that receives every later occupancy change of ``store_id`` (None: all)."""
        listener = _Listener(store_id, asyncio.Queue(self.listener_queue_size))
        self._listeners.append(listener)
        try:
            yield listener.queue
        finally:
            self._listeners.remove(listener)

    def aggregator_statuses(self) -> list[AggregatorStatus]:
        return [self._aggregators[topic] for topic in sorted(self._aggregators)]

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def _apply_occupancy(self, occupancy: StoreOccupancy) -> None:
        previous = self._occupancy.get(occupancy.store_id)
        if previous is not None and previous.time_utc > occupancy.time_utc:
            return  # an older message delivered late: keep the newer count
        self._occupancy[occupancy.store_id] = occupancy
        if previous == occupancy:
            return
        for listener in self._listeners:
            if listener.store_id in (None, occupancy.store_id):
                _put_latest(listener.queue, occupancy)

    def _camera(self, store_id: str, camera_id: str) -> CameraState:
        key = (store_id, camera_id)
        if key not in self._cameras:
            self._cameras[key] = CameraState(store_id, camera_id)
        return self._cameras[key]

    def _apply_health(self, health: CameraHealth) -> None:
        camera = self._camera(health.store_id, health.camera_id)
        camera.health = health
        self._reported(camera)

    def _apply_status(self, status: CameraStatus) -> None:
        camera = self._camera(status.store_id, status.camera_id)
        camera.status = status
        self._reported(camera)

    def _reported(self, camera: CameraState) -> None:
        """A camera spoke: stamp it and wake its store's streams (its counting state may have
        changed; the stream sends an event only when it did)."""
        camera.last_report_utc = datetime.now(UTC)
        occupancy = self._occupancy.get(camera.store_id)
        if occupancy is None:
            return
        for listener in self._listeners:
            if listener.store_id in (None, camera.store_id):
                _put_latest(listener.queue, occupancy)


def _put_latest(queue: asyncio.Queue[StoreOccupancy], occupancy: StoreOccupancy) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(occupancy)
