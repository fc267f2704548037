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

import asyncio
import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

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

    async def charge_async(self, charger: LoopCharger, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge:
        """`charge` through `charger` (`TenantBudget.open`): the same script on the same Redis,
        awaited on the event loop, no worker thread."""
        return _charge_of(*await charger.run(self.key(tenant_id), capacity, cost))


class LoopCharger:
    """The charge script's round trip from one event loop, with as little Python per charge as
    redis-py allows: its own connections (`redis.asyncio.Connection`, not a client's pool, which
    checks every connection for stray data on every checkout), the command packed once per
    (key, capacity, cost) and sent as `EVALSHA`.

    - **A connection per charge in flight**: a charge takes an idle connection or opens one, and
      gives it back when its reply is read; none is shared by two charges, so replies cannot be
      crossed. At most `MAX_IDLE` are kept.
    - **A connection in doubt is dropped**: any error or cancellation between the send and the
      reply disconnects it (a reply left unread would answer the next charge).
    - **Redis forgot the script** (a restart, `SCRIPT FLUSH`): `NOSCRIPT` loads it and the charge
      is sent once more.
    - **One deadline per round trip**: the connections have no socket timeout of their own (with
      one, redis-py awaits every send through `asyncio.wait_for`: a Task and two more turns of
      the event loop per charge); the charger bounds each round trip (a new connection's connect
      and handshake included) by the URL's socket timeout itself (`asyncio.timeout`, a timer),
      and a round trip that overruns it raises redis-py's `TimeoutError`, as a read that timed
      out does.
    """

    MAX_IDLE = 8
    MAX_PACKED = 4096

    def __init__(self, redis_url: str) -> None:
        pool = redis.asyncio.ConnectionPool.from_url(redis_url)
        kwargs = pool.connection_kwargs
        # The URL's kind of connection: TCP, or a unix socket (`unix://`, the embedded Redis).
        self._connection_class: Any = pool.connection_class
        self._packer = self._connection_class(**kwargs)  # packs commands; never connected
        # The socket timeout the URL asks for (redis-py's default when it names none), applied by
        # `_round_trip` to the whole round trip; the connections themselves run without one.
        self._timeout: float | None = self._packer.socket_timeout
        self._kwargs = {**kwargs, "socket_timeout": None}
        self._sha = hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest()  # the script's name in Redis
        self._idle: list[redis.asyncio.Connection] = []
        self._packed: dict[tuple[str, int, int], list[bytes]] = {}

    def _command(self, key: str, capacity: int, cost: int) -> list[bytes]:
        packed = self._packed.get((key, capacity, cost))
        if packed is None:
            if len(self._packed) >= self.MAX_PACKED:
                self._packed.clear()
            packed = self._packed[(key, capacity, cost)] = self._packer.pack_command(
                "EVALSHA", self._sha, 1, key, capacity, cost
            )
        return packed

    async def run(self, key: str, capacity: int, cost: int) -> list[Any]:
        """The script's reply for one charge; raises `redis.RedisError` when Redis cannot answer."""
        connection = self._idle.pop() if self._idle else self._connection_class(**self._kwargs)
        try:
            try:
                reply = await self._round_trip(connection, self._command(key, capacity, cost))
            except NoScriptError:
                loaded = await self._round_trip(connection, self._packer.pack_command("SCRIPT", "LOAD", CHARGE_SCRIPT))
                self._sha = loaded.decode() if isinstance(loaded, bytes) else str(loaded)
                self._packed.clear()
                reply = await self._round_trip(connection, self._command(key, capacity, cost))
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(connection)
        else:
            await connection.disconnect()
        return list(reply)

    async def _round_trip(self, connection: redis.asyncio.Connection, command: list[bytes]) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                await connection.send_packed_command(command, check_health=False)
                return await connection.read_response()
        except TimeoutError as error:  # asyncio's (the builtin): the deadline passed
            raise RedisTimeoutError(f"Timeout reading from {connection._host_error()}") from error

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(connection.disconnect() for connection in idle), return_exceptions=True)


def _charge_of(allowed: Any, tokens: Any, full_in_ms: Any, retry_ms: Any, now_ms: Any) -> Charge:
    reset_at = datetime.fromtimestamp((int(now_ms) + int(full_in_ms)) / 1000, UTC)
    return Charge(
        allowed=bool(allowed),
        remaining=math.floor(float(tokens)),
        reset_at=reset_at,
        retry_after=0 if allowed else max(1, math.ceil(int(retry_ms) / 1000)),
    )
