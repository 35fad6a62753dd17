"""A store's published occupancy joined with whether it is counted right now: what
``/stores/{store}/occupancy``, ``/occupancy`` and ``/events/occupancy`` serve."""

from __future__ import annotations

from datetime import datetime

from aggregator.api.context import ApiContext
from aggregator.api.counting_state import CameraReport, counting_state
from aggregator.api.models import LiveOccupancy
from protocol.messages import StoreOccupancy


def live_occupancy(
    context: ApiContext, occupancy: StoreOccupancy, now_utc: datetime
) -> LiveOccupancy:
    board = context.live_board()
    reports = [
        CameraReport(camera.camera_id, camera.status, camera.health, camera.last_report_utc)
        for camera in board.cameras(occupancy.store_id)
    ]
    subscriber = context.subscriber
    state = counting_state(
        context.configured_store(occupancy.store_id),
        reports,
        now_utc,
        context.config.api.camera_silence_seconds,
        broker_connected=subscriber is not None and subscriber.connected,
    )
    return LiveOccupancy(**dict(occupancy), counting=state)


def stream_key(view: LiveOccupancy) -> tuple[object, ...]:
    """What a display shows: a stream sends an event when this changes (not when only a
    camera's report time moved)."""
    cameras = tuple((camera.camera_id, camera.state) for camera in view.counting.cameras)
    return (view.model_dump(exclude={"counting"}), view.counting.state, cameras)
