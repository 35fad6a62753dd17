"""Response bodies of the HTTP API (wire messages such as ``StoreOccupancy`` are served as
they are)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from protocol.aggregator_status import AggregatorStatus
from protocol.messages import CameraHealth, CameraStatus, StoreOccupancy


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSummary(ResponseModel):
    """A store with its latest live occupancy (None until the aggregator has published one)."""

    id: str
    name: str | None
    timezone: str | None
    """IANA time zone from config; None for a store seen on the broker but not configured."""
    configured: bool
    capacity: int | None
    occupancy: int | None
    over_capacity: bool | None
    occupancy_time_utc: AwareDatetime | None


class CameraSummary(ResponseModel):
    store_id: str
    camera_id: str
    status: CameraStatus | None
    """Retained ``online``/``offline`` (the Last Will) from the edge device."""
    health: CameraHealth | None
    """The latest periodic health report."""


class ApiHealth(ResponseModel):
    status: Literal["ok", "degraded"]
    """``degraded`` (HTTP 503) while the API is not connected to the broker."""
    mqtt_connected: bool
    mqtt_error: str | None
    stores_with_occupancy: int
    stream_listeners: int
    messages_received: int
    messages_rejected: int
    """Messages the API itself refused (its own subscription)."""
    last_rejection: str | None
    aggregator_rejected: int
    """Messages the aggregator replicas refused since they started (all went to the dead
    letters), from their retained status."""
    aggregator_rejected_by_reason: dict[str, int]
    entrance_lines_never_seen: list[str]
    """``store/camera/line`` of registry entrance lines no edge device has reported."""
    aggregators: list[AggregatorStatus]
    """Each replica's retained status (``{root}/aggregator/status/{client id}``)."""


class EntranceCamera(ResponseModel):
    """One entrance camera of a store, as far as counting is concerned."""

    camera_id: str
    state: Literal["counting", "offline", "silent", "no_video", "unknown"]
    last_report_utc: AwareDatetime | None
    """When the API last heard the camera's health or status."""
    reason: str | None
    """Why it is not counting; None while it is."""


class CountingState(ResponseModel):
    state: Literal["live", "paused"]
    """``paused``: at least one entrance camera is not counting (or the API has lost the
    broker), so the occupancy cannot be vouched for; the display says "Counting paused"."""
    reasons: list[str]
    silence_threshold_seconds: float
    """``api.camera_silence_seconds``: a camera silent for longer is not counting."""
    cameras: list[EntranceCamera]


class LiveOccupancy(StoreOccupancy):
    """The occupancy the aggregator published, with whether it is being counted right now
    (``counting``) and when counts last arrived (``last_update_utc``)."""

    counting: CountingState
