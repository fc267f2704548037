"""Admission by cost: refuse an operation over its tenant's per-request limit, charge the rest.

The engine asks `admit` before executing any operation (query, mutation, or a subscription at
subscribe time), so no SQL runs for a refused one. The answer always carries the figures the
client sees as `extensions.cost`: what was requested, what the tenant has left, and when its
bucket is full again. Redis unavailable: operations are let through (logged) and `remaining`
and `resetAt` are null; the per-request limit still holds.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import structlog
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from saas.config import Settings
from saas.errors import ErrorCode
from saas.quota.bucket import Charge, CostBucket, LoopCharger
from saas.quota.tenant_limits import TenantLimits, TenantLimitsCache

logger = structlog.get_logger("saas.quota")


@dataclass(frozen=True)
class Admission:
    """`error` is None when the operation may run; else the GraphQL error that refuses it."""

    requested: int
    remaining: int | None = None
    reset_at: datetime | None = None
    error: dict[str, Any] | None = None
    retry_after: int | None = None  # set when refused for the budget (HTTP 429)

    @property
    def extension(self) -> dict[str, Any]:
        """`extensions.cost` of the response."""
        reset_at = self.reset_at.isoformat().replace("+00:00", "Z") if self.reset_at else None
        return {"requested": self.requested, "remaining": self.remaining, "resetAt": reset_at}


class TenantBudget:
    """Per-tenant limits (`saas.quota.tenant_limits`) and buckets (`saas.quota.bucket`) together.

    Every operation is charged in Redis. From the event loop the server opened the budget on
    (`open`, in the HTTP application's lifespan) the charge goes through that loop's
    `LoopCharger` (asyncio connections) and is awaited there; from any other loop (tests, tools)
    the blocking client runs it in a worker thread. Either way it is the same script on the same
    Redis."""

    def __init__(self, engine: Engine, client: redis.Redis, settings: Settings) -> None:
        self.limits = TenantLimitsCache(engine, settings)
        self.bucket = CostBucket(client)
        # One charger per event loop that opened the budget (a server worker has one; tests may
        # run several applications, each on its own loop, over one runtime).
        self._on_loop: dict[asyncio.AbstractEventLoop, LoopCharger] = {}

    async def open(self, redis_url: str) -> None:
        """Charge from the running event loop through asyncio connections to `redis_url` (opened
        on first use, so a Redis that is down fails the charges, which let operations through)."""
        await self.close()
        self._on_loop[asyncio.get_running_loop()] = LoopCharger(redis_url)

    async def close(self) -> None:
        """Close the running loop's connections (those its `open` made); other loops' stay."""
        opened = self._on_loop.pop(asyncio.get_running_loop(), None)
        if opened is not None:
            await opened.close()

    async def limits_of(self, tenant_id: uuid.UUID) -> TenantLimits:
        cached = self.limits.cached(tenant_id)
        return cached if cached is not None else await run_in_threadpool(self.limits.get, tenant_id)

    async def _charge(self, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge | None:
        on_loop = self._on_loop.get(asyncio.get_running_loop())
        try:
            if on_loop is not None:
                return await self.bucket.charge_async(on_loop, tenant_id, cost, capacity)
            return await run_in_threadpool(self.bucket.charge, tenant_id, cost, capacity)
        except redis.RedisError:
            logger.warning("cost budget unavailable (Redis); letting the operation through", exc_info=True)
            return None

    async def admit(self, tenant_id: uuid.UUID | None, cost: int) -> Admission:
        """Anonymous callers (tenant None: login, introspection) have no budget to charge."""
        if tenant_id is None:
            return Admission(requested=cost)
        limits = await self.limits_of(tenant_id)
        if cost > limits.request_limit:
            state = await self._charge(tenant_id, 0, limits.cost_per_minute)  # reads, spends nothing
            error = {
                "message": f"The operation costs {cost}; the limit is {limits.request_limit} per operation. "
                "Ask for smaller pages (first) or fewer nested lists.",
                "extensions": {"code": ErrorCode.QUERY_TOO_COMPLEX.value, "cost": cost, "limit": limits.request_limit},
            }
            return _admission(cost, state, error=error)
        charge = await self._charge(tenant_id, cost, limits.cost_per_minute)
        if charge is None or charge.allowed:
            return _admission(cost, charge)
        error = {
            "message": f"The tenant's query budget of {limits.cost_per_minute} per minute is spent: "
            f"this operation costs {cost} and {charge.remaining} remain; retry in {charge.retry_after} s",
            "extensions": {"code": ErrorCode.RATE_LIMITED.value, "retryAfter": charge.retry_after},
        }
        return _admission(cost, charge, error=error, retry_after=charge.retry_after)


def _admission(
    cost: int, charge: Charge | None, *, error: dict[str, Any] | None = None, retry_after: int | None = None
) -> Admission:
    if charge is None:
        return Admission(requested=cost, error=error, retry_after=retry_after)
    return Admission(cost, charge.remaining, charge.reset_at, error, retry_after)
