"""Policy changes over HTTP: a thin layer over ``aggregator.analysis.policies.PolicyRegistry``.

Listing is open like every read; adding and removing write to InfluxDB and need the write
token (``aggregator.api.auth``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from aggregator.analysis.policies import PolicyEntry, PolicyError, PolicyRegistry
from aggregator.api.auth import write_guard
from aggregator.api.context import ApiContext
from aggregator.config import TimezoneName
from protocol.messages import Identifier


class PolicyRequest(BaseModel):
    """A policy change made in ``stores`` from the store-local ``effective_date``."""

    model_config = ConfigDict(extra="forbid")

    name: Identifier
    stores: Annotated[list[Identifier], Field(min_length=1)]
    effective_date: date
    description: str = ""
    timezone: TimezoneName | None = None
    """IANA zone for every listed store; default: each store's zone from the registry."""


def policy_router(context: ApiContext) -> APIRouter:
    router = APIRouter(tags=["policies"])
    writes = [Depends(write_guard(context.write_token))]
    unauthorised: dict[int | str, dict[str, Any]] = {
        401: {"description": "missing or wrong bearer token"},
        403: {"description": "the API is read-only (no api.write_token)"},
    }

    def registry() -> PolicyRegistry:
        return PolicyRegistry(context.influx_client())

    @router.get("/policies")
    def list_policies(
        store: str | None = Query(None, description="Only entries of this store"),
        include_removed: bool = Query(False, description="Also entries marked removed"),
    ) -> list[PolicyEntry]:
        """Registered policy changes, one entry per policy and store."""
        entries = registry().entries(include_removed=include_removed)
        return [entry for entry in entries if store is None or entry.store == store]

    @router.post(
        "/policies",
        status_code=status.HTTP_201_CREATED,
        dependencies=writes,
        responses={
            **unauthorised,
            409: {"description": "conflicts"},
            422: {"description": "invalid request, or a store missing from the registry"},
        },
    )
    def add_policy(request: PolicyRequest) -> list[PolicyEntry]:
        """Register a policy change (needs the write token). Every store must be in the
        aggregator's store registry (when it has one); the 422 lists the known stores."""
        unknown = context.config.unknown_stores_error(request.stores)
        if unknown is not None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, unknown)
        timezones = {
            store: request.timezone or context.config.store(store).timezone
            for store in request.stores
        }
        try:
            policy = registry().add(
                request.name,
                request.stores,
                request.effective_date,
                timezones,
                request.description,
            )
        except PolicyError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        return list(policy.entries)

    @router.delete(
        "/policies/{name}",
        dependencies=writes,
        responses={**unauthorised, 404: {"description": "no such policy/store"}},
    )
    def remove_policy(
        name: str,
        store: list[str] | None = Query(None, description="Only these stores (repeatable)"),
    ) -> list[PolicyEntry]:
        """Mark a policy (or some of its stores) removed (needs the write token)."""
        try:
            return registry().remove(name, store)
        except PolicyError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None

    return router
