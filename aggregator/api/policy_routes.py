"""Policy changes (placeholder until the policy registry lands)."""

from __future__ import annotations

from fastapi import APIRouter

from aggregator.api.context import ApiContext


def policy_router(context: ApiContext) -> APIRouter:
    return APIRouter(tags=["policies"])
