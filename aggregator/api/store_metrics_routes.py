"""``GET /stores/{store}/metrics``: visits, conversion, visit time and capture rate per hour or per
store-local day, read from InfluxDB (:mod:`aggregator.analysis.store_metrics`)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, ConfigDict

from aggregator.analysis.store_metrics import MINIMUM_ENTRIES_FOR_VISIT_TIME, period_metrics
from aggregator.analysis.store_metrics_source import StoreMetricsSource
from aggregator.api.context import ApiContext
from aggregator.storage.influx import InfluxError


class MetricsRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_utc: AwareDatetime
    label: str
    """The hour (ISO 8601, UTC) or the store-local date (``YYYY-MM-DD``)."""
    visits: int
    """Entries on the store's entrance lines."""
    transactions: int | None
    """Till transactions (``footfall import transactions``); null where none were imported."""
    conversion_percent: float | None
    """Transactions per 100 visits."""
    mean_occupancy: float | None
    """Time-weighted mean of the live occupancy."""
    visit_minutes: float | None
    """Mean time in store by Little's law (mean occupancy ÷ entry rate); null with fewer than
    the minimum entries in the period."""
    passers_by: int
    """Crossings of the store's ``passing`` lines (people walking past the shop front)."""
    capture_rate_percent: float | None
    """Visits per 100 passers-by; null where no passing line counted anyone."""


class StoreMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str
    timezone: str
    resolution: Literal["hour", "day"]
    minimum_entries_for_visit_time: int
    rows: list[MetricsRow]


def store_metrics_router(context: ApiContext) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get(
        "/stores/{store}/metrics",
        response_model=StoreMetrics,
        responses={
            404: {"description": "unknown store"},
            422: {"description": "a bad range"},
            503: {"description": "InfluxDB did not answer"},
        },
    )
    async def store_metrics(
        store: str,
        start: AwareDatetime = Query(..., alias="from", description="Range start (ISO 8601)"),
        end: AwareDatetime = Query(..., alias="to", description="Range end, exclusive"),
        resolution: Literal["hour", "day"] = Query("hour"),
    ) -> StoreMetrics:
        """Visits, conversion, visit time and capture rate of one store over ``[from, to)``."""
        context.require_store(store)
        timezone = context.config.store(store).timezone
        source = StoreMetricsSource(context.influx_client())
        try:
            hours = await run_in_threadpool(source.hours, store, start, end)
        except ValueError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        except InfluxError as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
        rows = period_metrics(hours, resolution, ZoneInfo(timezone))
        return StoreMetrics(
            store=store,
            timezone=timezone,
            resolution=resolution,
            minimum_entries_for_visit_time=MINIMUM_ENTRIES_FOR_VISIT_TIME,
            rows=[MetricsRow(**vars(row)) for row in rows],
        )

    return router
