"""Read-only routes over the live board: stores, occupancy, cameras, and the
server-sent-events stream of occupancy changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from aggregator.api.context import ApiContext
from aggregator.api.live_view import live_occupancy, stream_key
from aggregator.api.models import CameraSummary, LiveOccupancy, StoreSummary

HEARTBEAT_SECONDS = 10.0
"""A ``heartbeat`` event after this long without a change, so a display can tell a quiet
store from a dead connection."""
RECHECK_SECONDS = 1.0
"""How often a stream re-evaluates its stores' counting state (a camera falls silent
without any message saying so)."""
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
    def all_occupancy() -> list[LiveOccupancy]:
        """The latest occupancy of every store that has one, as the aggregator published it,
        with whether it is being counted right now."""
        now = datetime.now(UTC)
        return [live_occupancy(context, one, now) for one in context.live_board().occupancies()]

    @router.get("/stores/{store}/occupancy", responses={404: {"description": "none yet"}})
    def store_occupancy(store: str = Depends(known_store)) -> LiveOccupancy:
        """The store's occupancy, when counts last arrived (``last_update_utc``) and whether
        it is counted right now: ``counting.state`` is ``paused``, with ``reasons``, while an
        entrance camera is offline, silent or without video."""
        occupancy = context.live_board().occupancy(store)
        if occupancy is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no occupancy has been published for store {store!r} yet",
            )
        return live_occupancy(context, occupancy, datetime.now(UTC))

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
        store, as ``/stores/{store}/occupancy`` returns it), then one event per change of the
        count or of the counting state (a camera offline or silent: ``counting.state``
        ``paused``), and ``event: heartbeat`` every 10 s when quiet."""
        board = context.live_board()
        sent: dict[str, object] = {}
        with board.listen(store) as queue:
            yield ServerSentEvent(event="heartbeat", data=_now(), retry=RECONNECT_MILLISECONDS)
            quiet_since = time.monotonic()
            while not board.streams_closing:
                current = board.occupancies() if store is None else [board.occupancy(store)]
                now = datetime.now(UTC)
                for occupancy in current:
                    if occupancy is None:
                        continue
                    view = live_occupancy(context, occupancy, now)
                    if sent.get(view.store_id) != (key := stream_key(view)):
                        sent[view.store_id] = key
                        quiet_since = time.monotonic()
                        yield ServerSentEvent(event="occupancy", data=view)
                if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                    quiet_since = time.monotonic()
                    yield ServerSentEvent(event="heartbeat", data=_now())
                try:
                    await asyncio.wait_for(queue.get(), RECHECK_SECONDS)
                except TimeoutError:
                    continue

    return router


def _now() -> dict[str, str]:
    return {"time_utc": datetime.now(UTC).isoformat()}


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
