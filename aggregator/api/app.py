"""The FastAPI application: wiring of the live board, the MQTT subscriber, the InfluxDB client
and the routers. OpenAPI docs are served at ``/docs`` (schema at ``/openapi.json``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse

from aggregator.api.auth import read_write_token
from aggregator.api.board import LiveBoard
from aggregator.api.context import ApiContext
from aggregator.api.display_routes import display_router
from aggregator.api.docs_routes import add_offline_docs
from aggregator.api.live_routes import live_router
from aggregator.api.metrics import never_seen_lines, rejections_by_reason, render_metrics
from aggregator.api.models import ApiHealth
from aggregator.api.policy_routes import policy_router
from aggregator.api.store_metrics_routes import store_metrics_router
from aggregator.api.subscriber import LiveSubscriber
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from protocol.version import SOFTWARE_VERSION


def create_app(config: AggregatorConfig) -> FastAPI:
    """The API for ``config``; raises ``ConfigError`` for an unreadable token or password.

    The MQTT subscriber starts with the app (``lifespan``) so that it hands messages to the
    event loop that serves the requests.
    """
    context = ApiContext(config=config, write_token=read_write_token(config.api))
    app = FastAPI(
        title="footfall API",
        version=SOFTWARE_VERSION,
        description=(
            "Live store occupancy, cameras and policy changes. Read-only unless the "
            "aggregator config sets `api.write_token`; writes then need it as a bearer token."
        ),
        lifespan=_lifespan(context),
        docs_url=None,
        redoc_url=None,
    )
    add_offline_docs(app)
    if config.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(live_router(context))
    app.include_router(policy_router(context))
    app.include_router(display_router(context))
    app.include_router(store_metrics_router(context))

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("docs")

    @app.get(
        "/health",
        tags=["health"],
        response_model=ApiHealth,
        responses={503: {"model": ApiHealth, "description": "not connected to the broker"}},
    )
    def health() -> JSONResponse:
        """The API's own health: broker connection and message counts."""
        report = _health(context)
        code = 200 if report.status == "ok" else 503
        return JSONResponse(report.model_dump(mode="json"), status_code=code)

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Rejections by reason (per aggregator replica) and more, Prometheus text format."""
        return PlainTextResponse(
            render_metrics(context.live_board()), media_type="text/plain; version=0.0.4"
        )

    app.state.context = context
    return app


def _lifespan(context: ApiContext) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Starts the board, the InfluxDB client and the MQTT subscriber on the app's event loop;
    stops them when the app stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.board = LiveBoard(asyncio.get_running_loop())
        context.influx = InfluxClient(context.config.influx)
        context.subscriber = LiveSubscriber(
            context.mqtt_settings, context.board, context.mqtt_settings.client_id
        )
        context.subscriber.start()
        try:
            yield
        finally:
            context.subscriber.stop()
            context.influx.close()

    return lifespan


def _health(context: ApiContext) -> ApiHealth:
    board = context.live_board()
    subscriber = context.subscriber
    connected = subscriber is not None and subscriber.connected
    aggregators = board.aggregator_statuses()
    rejected = rejections_by_reason(aggregators)
    return ApiHealth(
        status="ok" if connected else "degraded",
        mqtt_connected=connected,
        mqtt_error=subscriber.last_connect_error if subscriber is not None else None,
        stores_with_occupancy=len(board.occupancies()),
        stream_listeners=board.listener_count,
        messages_received=board.counters.messages_received,
        messages_rejected=board.counters.messages_rejected,
        last_rejection=board.counters.last_rejection,
        aggregator_rejected=sum(rejected.values()),
        aggregator_rejected_by_reason=rejected,
        entrance_lines_never_seen=never_seen_lines(aggregators),
        aggregators=aggregators,
    )
