"""Read-only routes over the live board: stores, occupancy, cameras, and the
server-sent-events stream of occupancy changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from aggregator.api.context import ApiContext
from aggregator.api.models import CameraSummary, StoreSummary
from protocol.messages import StoreOccupancy

HEARTBEAT_SECONDS = 10.0
"""A ``heartbeat`` event after this long without a change, so a display can tell a quiet
store from a dead connection."""
RECONNECT_MILLISECONDS = 1000
"""Sent as the stream's ``retry:``: how soon a browser reconnects after losing the stream."""


def live_router(context: ApiContext) -> APIRouter:
    router = APIRouter(tags=["live"])

    def known_store(store: str) -> str:
        return context.require_store(store)

    def optional_store(
        store: str | None = Query(None, description="Only this store; default: every store"),
    ) -> str | None:
        return None if store is None else context.require_store(store)

    @router.get("/stores")
    def stores() -> list[StoreSummary]:
        """Configured stores and stores seen on the broker, with their live occupancy."""
        return [_summary(context, store_id) for store_id in context.known_store_ids()]

    @router.get("/stores/{store}")
    def store_summary(store: str = Depends(known_store)) -> StoreSummary:
        return _summary(context, store)

    @router.get("/occupancy")
    def all_occupancy() -> list[StoreOccupancy]:
        """The latest occupancy of every store that has one, as the aggregator published it."""
        return context.live_board().occupancies()

    @router.get("/stores/{store}/occupancy", responses={404: {"description": "none yet"}})
    def store_occupancy(store: str = Depends(known_store)) -> StoreOccupancy:
        occupancy = context.live_board().occupancy(store)
        if occupancy is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no occupancy has been published for store {store!r} yet",
            )
        return occupancy

    @router.get("/cameras")
    def cameras(store: str | None = Depends(optional_store)) -> list[CameraSummary]:
        """Status (online/offline) and latest health report of every camera."""
        return [
            CameraSummary(
                store_id=camera.store_id,
                camera_id=camera.camera_id,
                status=camera.status,
                health=camera.health,
            )
            for camera in context.live_board().cameras(store)
        ]

    @router.get("/events/occupancy", response_class=EventSourceResponse)
    async def occupancy_events(
        store: str | None = Depends(optional_store),
    ) -> AsyncIterator[ServerSentEvent]:
        """Server-sent events: first the current occupancy (``event: occupancy``, one per
        store), then one event per change, and ``event: heartbeat`` every 10 s when quiet."""
        board = context.live_board()
        with board.listen(store) as queue:
            current = board.occupancies() if store is None else [board.occupancy(store)]
            yield ServerSentEvent(event="heartbeat", data=_now(), retry=RECONNECT_MILLISECONDS)
            for occupancy in current:
                if occupancy is not None:
                    yield _occupancy_event(occupancy)
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ServerSentEvent(event="heartbeat", data=_now())
                    continue
                yield _occupancy_event(change)

    return router


def _now() -> dict[str, str]:
    return {"time_utc": datetime.now(UTC).isoformat()}


def _occupancy_event(occupancy: StoreOccupancy) -> ServerSentEvent:
    return ServerSentEvent(event="occupancy", data=occupancy)


def _summary(context: ApiContext, store_id: str) -> StoreSummary:
    configured = context.configured_store(store_id)
    occupancy = context.live_board().occupancy(store_id)
    capacity = occupancy.capacity if occupancy is not None else None
    if capacity is None and configured is not None:
        capacity = configured.capacity
    return StoreSummary(
        id=store_id,
        name=configured.name if configured is not None else None,
        timezone=configured.timezone if configured is not None else None,
        configured=configured is not None,
        capacity=capacity,
        occupancy=occupancy.occupancy if occupancy is not None else None,
        over_capacity=occupancy.over_capacity if occupancy is not None else None,
        occupancy_time_utc=occupancy.time_utc if occupancy is not None else None,
    )
