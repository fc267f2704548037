"""A token bucket of query cost per tenant, in Redis, charged by one Lua script.

Guarantees:
- A charge is atomic: Redis runs the script alone, so concurrent requests of one tenant (on
  any number of processes) never spend the same tokens twice; the bucket's time is Redis's
  own clock (`TIME`), so servers with skewed clocks agree.
- The bucket holds at most `capacity` (the tenant's cost per minute) and refills continuously
  at `capacity / 60` per second: a tenant idle for a minute has its whole budget again.
- A charge that does not fit spends nothing and says how long until it would fit.
- A tenant's key expires once its bucket would be full again: idle tenants leave nothing behind.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from redis.commands.core import AsyncScript

KEY_PREFIX = "saas:cost"
WINDOW_SECONDS = 60

# KEYS[1] the tenant's bucket; ARGV: capacity, cost. Returns {allowed, remaining, full_in_ms, retry_in_ms, now_ms}.
CHARGE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local rate = capacity / 60000.0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local retry = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
local full_in = math.ceil((capacity - tokens) / rate)
redis.call('PEXPIRE', KEYS[1], math.max(1, full_in))
return {allowed, tostring(tokens), full_in, retry, now}
"""


@dataclass(frozen=True)
class Charge:
    """The answer to one charge: whether it fit, what is left, when the bucket is full again."""

    allowed: bool
    remaining: int
    reset_at: datetime
    retry_after: int  # whole seconds until a refused charge would fit; 0 when allowed


class CostBucket:
    """Charges query cost to tenants' buckets (one Redis hash per tenant)."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = KEY_PREFIX) -> None:
        self.key_prefix = key_prefix
        self.script = client.register_script(CHARGE_SCRIPT)

    def key(self, tenant_id: uuid.UUID) -> str:
        return f"{self.key_prefix}:{tenant_id}"

    def charge(self, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge:
        """Spend `cost` from the tenant's bucket of `capacity` per minute if it fits. Raises
        `redis.RedisError` when Redis cannot be reached (the caller decides what that means)."""
        return _charge_of(*self.script(keys=[self.key(tenant_id)], args=[capacity, cost]))

    async def charge_async(self, script: AsyncScript, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge:
        """`charge` through `script`, the same script registered on an asyncio client of the same
        Redis (`TenantBudget.open`): awaited on the event loop, no worker thread."""
        return _charge_of(*await script(keys=[self.key(tenant_id)], args=[capacity, cost]))


def _charge_of(allowed: Any, tokens: Any, full_in_ms: Any, retry_ms: Any, now_ms: Any) -> Charge:
    reset_at = datetime.fromtimestamp((int(now_ms) + int(full_in_ms)) / 1000, UTC)
    return Charge(
        allowed=bool(allowed),
        remaining=math.floor(float(tokens)),
        reset_at=reset_at,
        retry_after=0 if allowed else max(1, math.ceil(int(retry_ms) / 1000)),
    )
