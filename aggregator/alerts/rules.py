"""The alert state machine and the conditions it watches. Pure: callers pass what they
observed and the time; nothing here reads a clock, the broker or InfluxDB.

Each alert (kind, store, camera) is either quiet or firing. An :class:`Observation` says
whether its condition to *fire* holds and whether its condition to *clear* holds; they differ
where hysteresis is wanted (capacity fires above capacity, clears at capacity − margin or
below). A quiet alert fires on the first observation whose fire condition holds; a firing one
clears on the first whose clear condition holds; anything else changes nothing, so an alert
never fires twice without clearing in between, and never clears when it did not fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aggregator.api.models import EntranceCamera
from protocol.alerts import AlertEvent, AlertKind, AlertValue
from protocol.messages import StoreOccupancy

FIRING_CAMERA_STATES = ("offline", "silent")
"""Camera states (``aggregator.api.counting_state``) that fire ``camera_offline``; a camera
that never reported (``unknown``) does not: it may be a camera still being installed."""
CLEARING_CAMERA_STATES = ("counting",)


@dataclass(frozen=True, order=True)
class AlertKey:
    kind: AlertKind
    store_id: str
    camera_id: str | None = None


@dataclass(frozen=True)
class Observation:
    """One look at an alert's condition at ``time_utc``; ``fire`` and ``clear`` are never both
    true. Neither: keep the current state (e.g. not enough history to judge)."""

    key: AlertKey
    time_utc: datetime
    fire: bool
    clear: bool
    message: str
    values: dict[str, AlertValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fire and self.clear:
            raise ValueError(f"{self.key}: an observation cannot both fire and clear")


class AlertBook:
    """Which alerts are firing, and since when."""

    def __init__(self) -> None:
        self._fired_utc: dict[AlertKey, datetime] = {}

    def observe(self, observation: Observation) -> AlertEvent | None:
        """The event this observation causes (fired or cleared), or None."""
        key = observation.key
        fired_utc = self._fired_utc.get(key)
        if fired_utc is None and observation.fire:
            self._fired_utc[key] = observation.time_utc
            return _event(observation, "fired", observation.time_utc)
        if fired_utc is not None and observation.clear:
            del self._fired_utc[key]
            return _event(observation, "cleared", min(fired_utc, observation.time_utc))
        return None

    def resume(self, event: AlertEvent) -> None:
        """Take over the state an earlier run published (its retained events): a firing alert
        is not fired again after a restart, and its clearing is still announced."""
        key = AlertKey(event.kind, event.store_id, event.camera_id)
        if event.state == "fired":
            self._fired_utc[key] = event.fired_utc
        else:
            self._fired_utc.pop(key, None)

    def firing(self) -> list[AlertKey]:
        return sorted(self._fired_utc)


def _event(observation: Observation, state: str, fired_utc: datetime) -> AlertEvent:
    key = observation.key
    return AlertEvent(
        kind=key.kind,
        state="fired" if state == "fired" else "cleared",
        store_id=key.store_id,
        camera_id=key.camera_id,
        time_utc=observation.time_utc,
        fired_utc=fired_utc,
        message=observation.message,
        values=observation.values,
    )


def capacity_observation(
    occupancy: StoreOccupancy, clear_margin: int, now_utc: datetime
) -> Observation:
    """Fires while occupancy > capacity (the display's red); clears at capacity − margin or
    below, or when the store has no capacity any more."""
    key = AlertKey("over_capacity", occupancy.store_id)
    capacity = occupancy.capacity
    if capacity is None:
        return Observation(key, now_utc, False, True, f"{key.store_id}: no capacity set")
    clear_at = capacity - clear_margin
    values: dict[str, AlertValue] = {
        "occupancy": occupancy.occupancy,
        "capacity": capacity,
        "clear_at": clear_at,
    }
    over = occupancy.occupancy > capacity
    message = f"{key.store_id}: {occupancy.occupancy} people inside, capacity {capacity}" + (
        "" if over else f" (clears at {clear_at} or fewer)"
    )
    return Observation(key, now_utc, over, occupancy.occupancy <= clear_at, message, values)


def camera_observation(
    store_id: str, camera: EntranceCamera, silence_seconds: float, now_utc: datetime
) -> Observation:
    """Fires while an entrance camera is offline (retained status, Last Will) or silent past
    the threshold, as the API's counting state decides; clears once it counts again."""
    key = AlertKey("camera_offline", store_id, camera.camera_id)
    values: dict[str, AlertValue] = {
        "state": camera.state,
        "reason": camera.reason,
        "silence_seconds": silence_seconds,
        "last_report_utc": (
            camera.last_report_utc.isoformat() if camera.last_report_utc is not None else None
        ),
    }
    message = camera.reason or f"entrance camera {camera.camera_id!r} of {store_id} is counting"
    return Observation(
        key,
        now_utc,
        camera.state in FIRING_CAMERA_STATES,
        camera.state in CLEARING_CAMERA_STATES,
        f"{store_id}: {message}",
        values,
    )
