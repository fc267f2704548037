"""A token bucket of query cost per tenant, in Redis, charged by one Lua script.

Guarantees:
- A charge is atomic: Redis runs the script alone, so concurrent requests of one tenant (on
  any number of processes) never spend the same tokens twice; the bucket's time is Redis's
  own clock (`TIME`), so servers with skewed clocks agree.
- The bucket holds at most `capacity` (the tenant's cost per minute) and refills continuously
  at `capacity / 60` per second: a tenant idle for a minute has its whole budget again.
- A charge that does not fit spends nothing and says how long until it would fit.
- A tenant's key expires once its bucket would be full again: idle tenants leave nothing behind.
- Charges sent together (`BATCH_SCRIPT`) are answered each as that charge alone would be, one
  after the other in their order at one instant: the rule is one Lua function both scripts call.
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
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

KEY_PREFIX = "saas:cost"
WINDOW_SECONDS = 60

# One charge of `cost` against the bucket at `key` of `capacity` per minute, at `now` (ms): the
# rule itself, written once and shared by the two scripts below. Returns {allowed, remaining,
# full_in_ms, retry_in_ms, now_ms}.
_CHARGE_RULE = """
local function charge(key, capacity, cost, now)
  local rate = capacity / 60000.0
  local state = redis.call('HMGET', key, 'tokens', 'at')
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
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  local full_in = math.ceil((capacity - tokens) / rate)
  redis.call('PEXPIRE', key, math.max(1, full_in))
  return {allowed, tostring(tokens), full_in, retry, now}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] the tenant's bucket; ARGV: capacity, cost. Returns the charge's reply.
CHARGE_SCRIPT = _CHARGE_RULE + "return charge(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)\n"

# KEYS[1..N] the buckets of N charges (a key may repeat); ARGV: capacity and cost of each, in
# order. Applies the charges one after the other, each allowed or refused on its own, all at
# one `now`; returns their N replies in order.
BATCH_SCRIPT = (
    _CHARGE_RULE
    + """
local replies = {}
for i = 1, #KEYS do
  replies[i] = charge(KEYS[i], tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]), now)
end
return replies
"""
)


@dataclass(frozen=True)
class Charge:
    """The answer to one charge: whether it fit, what is left, when the bucket is full again."""

    allowed: bool
    remaining: int
    reset_at: datetime
    retry_after: int  # whole seconds until a refused charge would fit; 0 when allowed


class CostBucket:
    """Charges query cost to tenants' buckets (one Redis hash per tenant)."""

    MAX_KEYS = 4096

    def __init__(self, client: redis.Redis, *, key_prefix: str = KEY_PREFIX) -> None:
        self.key_prefix = key_prefix
        self.script = client.register_script(CHARGE_SCRIPT)

    @property
    def key_prefix(self) -> str:
        return self._key_prefix

    @key_prefix.setter
    def key_prefix(self, prefix: str) -> None:
        self._key_prefix = prefix
        self._keys: dict[uuid.UUID, str] = {}  # formatted with this prefix only

    def key(self, tenant_id: uuid.UUID) -> str:
        """`{prefix}:{tenant_id}`, formatted once per tenant (at most `MAX_KEYS` kept): a charge
        formats no UUID."""
        key = self._keys.get(tenant_id)
        if key is None:
            if len(self._keys) >= self.MAX_KEYS:
                self._keys.clear()
            key = self._keys[tenant_id] = f"{self._key_prefix}:{tenant_id}"
        return key

    def charge(self, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge:
        """Spend `cost` from the tenant's bucket of `capacity` per minute if it fits. Raises
        `redis.RedisError` when Redis cannot be reached (the caller decides what that means)."""
        return _charge_of(*self.script(keys=[self.key(tenant_id)], args=[capacity, cost]))

    async def charge_async(self, charger: LoopCharger, tenant_id: uuid.UUID, cost: int, capacity: int) -> Charge:
        """`charge` through `charger` (`TenantBudget.open`): the same rule on the same Redis,
        awaited on the event loop, no worker thread; the charges of one turn of the loop share
        one round trip."""
        return _charge_of(*await charger.run(self.key(tenant_id), capacity, cost))


# One charge as the charger sends it: (key, capacity, cost, its own `EVALSHA` command packed,
# its key and its two arguments as RESP bulk strings for a batch).
_Packed = tuple[str, int, int, list[bytes], bytes, bytes]


def _bulk(value: str | int) -> bytes:
    """`value` as a RESP bulk string, as redis-py's `pack_command` encodes an argument."""
    encoded = str(value).encode()
    return b"$%d\r\n%s\r\n" % (len(encoded), encoded)


class _Flush:
    """The charges made in one turn of the event loop, sent as one command on one connection.

    The first charge (the leader) drives the round trip and answers the others (`waiters`, in
    order). It is sent once the turn is over (`closed`) and a connection is ready (`connection`),
    by whichever of the two comes last: the end of the turn (`LoopCharger._end_turn`) or the
    leader, after opening a connection. `evaluate`: Redis did not know the script (NOSCRIPT), so
    the same charges go again as `EVAL` of its text."""

    __slots__ = ("charges", "closed", "connection", "evaluate", "failed", "sent", "waiters")

    def __init__(self, charge: _Packed) -> None:
        self.charges = [charge]
        self.waiters: list[asyncio.Future[list[Any]]] = []
        self.connection: redis.asyncio.Connection | None = None
        self.closed = False
        self.sent = False
        self.evaluate = False
        self.failed: BaseException | None = None

    def waited_for(self) -> bool:
        """Whether a charge other than the leader still waits for this flush's reply."""
        return any(not waiter.done() for waiter in self.waiters)


class LoopCharger:
    """The charge script's round trips from one event loop: the charges made in one turn of the
    loop go to Redis together as one command, sent when the turn is over, with as little Python
    per charge as redis-py allows: its own connections (`redis.asyncio.Connection`, not a
    client's pool, which checks every connection for stray data on every checkout), each
    charge's command packed once per (key, capacity, cost).

    - **One round trip per turn**: the first charge of a turn schedules the end of the turn
      (`loop.call_soon`) and waits for the reply on its connection; the charges made later in
      the same turn join it (at most `MAX_BATCH`) and wait for their part of that reply. A
      turn with one charge sends the single charge's command, `EVALSHA` of `CHARGE_SCRIPT`; with
      several, one `EVALSHA` of `BATCH_SCRIPT`, which applies them in order, each exactly as
      `CHARGE_SCRIPT` would (allowed or refused on its own, its own remainder and times) at one
      `TIME`. No charge waits for a round trip in flight: the next turn's charges go on another
      connection.
    - **A connection per round trip in flight**: a flush takes an idle connection or opens one,
      and gives it back when its reply is read; none is shared by two flushes, so replies cannot
      be crossed. At most `MAX_IDLE` are kept.
    - **A connection in doubt is dropped**: any error between the send and the reply disconnects
      it (a reply left unread would answer the next flush), and the error is raised by every
      charge of the flush, as one charge's own error would be.
    - **A charge cancelled while others wait on its round trip**: the leader's cancellation does
      not abandon the others; a task reads the reply in its place (or, if nothing was sent yet,
      opens a connection and sends), answers them and gives the connection back; a cancelled
      charge that only waited is simply not answered. A cancelled charge may still have been
      applied by Redis, as a single charge cancelled after its send is.
    - **Redis forgot the script** (a restart, `SCRIPT FLUSH`): `NOSCRIPT` (nothing ran) sends the
      same charges again as `EVAL` of the script's text, which also loads it.
    - **One deadline per round trip**: the connections have no socket timeout of their own (with
      one, redis-py awaits every send through `asyncio.wait_for`: a Task and two more turns of
      the event loop per charge); the charger bounds each round trip (a new connection's connect
      and handshake included) by the URL's socket timeout itself (`asyncio.timeout`, a timer),
      and a round trip that overruns it raises redis-py's `TimeoutError`, as a read that timed
      out does.
    """

    MAX_IDLE = 8
    MAX_PACKED = 4096
    MAX_BATCH = 64

    def __init__(self, redis_url: str) -> None:
        pool = redis.asyncio.ConnectionPool.from_url(redis_url)
        kwargs = pool.connection_kwargs
        # The URL's kind of connection: TCP, or a unix socket (`unix://`, the embedded Redis).
        self._connection_class: Any = pool.connection_class
        self._packer = self._connection_class(**kwargs)  # packs commands; never connected
        # The socket timeout the URL asks for (redis-py's default when it names none), applied by
        # `_exchange` to each round trip; the connections themselves run without one.
        self._timeout: float | None = self._packer.socket_timeout
        self._kwargs = {**kwargs, "socket_timeout": None}
        # The scripts' names in Redis (the SHA1 of their text).
        self._sha = hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest()
        self._batch_sha = hashlib.sha1(BATCH_SCRIPT.encode()).hexdigest()
        self._idle: list[redis.asyncio.Connection] = []
        self._packed: dict[tuple[str, int, int], _Packed] = {}
        self._open: _Flush | None = None  # the flush of the running turn, until the turn is over
        self._handed_off: set[asyncio.Task[list[Any]]] = set()

    def _charge(self, key: str, capacity: int, cost: int) -> _Packed:
        packed = self._packed.get((key, capacity, cost))
        if packed is None:
            if len(self._packed) >= self.MAX_PACKED:
                self._packed.clear()
            command = self._packer.pack_command("EVALSHA", self._sha, 1, key, capacity, cost)
            packed = (key, capacity, cost, command, _bulk(key), _bulk(capacity) + _bulk(cost))
            self._packed[(key, capacity, cost)] = packed
        return packed

    async def run(self, key: str, capacity: int, cost: int) -> list[Any]:
        """The script's reply for one charge; raises `redis.RedisError` when Redis cannot answer."""
        charge = self._charge(key, capacity, cost)
        flush = self._open
        if flush is not None and len(flush.charges) < self.MAX_BATCH:  # a flush of this turn: join it
            waiter: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            flush.charges.append(charge)
            flush.waiters.append(waiter)
            return await waiter
        flush = self._open = _Flush(charge)
        asyncio.get_running_loop().call_soon(self._end_turn, flush)
        if self._idle:
            flush.connection = self._idle.pop()  # sent by `_end_turn`
        return await self._complete(flush, handed_off=False)

    def _end_turn(self, flush: _Flush) -> None:
        """The turn that made `flush`'s charges is over: no more join it; send it if it has a
        connection (else the leader sends it once its new connection is open)."""
        self._close(flush)
        if flush.connection is not None and not flush.sent:
            try:
                self._send(flush)
            except Exception as error:  # the leader's read must not wait for a reply never asked for
                flush.failed = error
                flush.connection._writer.transport.abort()  # type: ignore[union-attr]

    def _close(self, flush: _Flush) -> None:
        """No charge joins `flush` any more."""
        if self._open is flush:
            self._open = None
        flush.closed = True

    def _send(self, flush: _Flush) -> None:
        """Writes `flush`'s command to its connection's transport (no drain: a command of a few
        hundred bytes on a connection with nothing else in flight)."""
        charges = flush.charges
        if flush.evaluate:
            script = CHARGE_SCRIPT if len(charges) == 1 else BATCH_SCRIPT
            arguments = [argument for charge in charges for argument in charge[1:3]]
            command = self._packer.pack_command("EVAL", script, len(charges), *(c[0] for c in charges), *arguments)
        elif len(charges) == 1:
            command = charges[0][3]
        else:
            command = self._batch_command(charges)
        flush.sent = True
        flush.connection._writer.writelines(command)  # type: ignore[union-attr]

    def _batch_command(self, charges: list[_Packed]) -> list[bytes]:
        """`EVALSHA <batch> N key… capacity cost…` in RESP, from the charges' packed parts."""
        count = len(charges)
        head = b"*%d\r\n$7\r\nEVALSHA\r\n%s%s" % (3 + 3 * count, _bulk(self._batch_sha), _bulk(count))
        return [head, *(charge[4] for charge in charges), *(charge[5] for charge in charges)]

    async def _complete(self, flush: _Flush, *, handed_off: bool) -> list[Any]:
        """Runs `flush`'s round trip from where it is to its reply, answers its waiters, and
        returns the leader's reply; raises (and makes every waiter raise) what the round trip
        raised."""
        try:
            try:
                replies = await self._exchange(flush)
            finally:
                # Also when it failed within the turn that made it (a unix socket that is not
                # there refuses the connect at once): no charge made later in this turn may join
                # a flush that is over.
                self._close(flush)
        except asyncio.CancelledError:
            if not handed_off and flush.waited_for():
                task = asyncio.get_running_loop().create_task(self._complete(flush, handed_off=True))
                self._handed_off.add(task)
                task.add_done_callback(self._forget)
            else:
                for waiter in flush.waiters:
                    waiter.cancel()
                await self._drop(flush)
            raise
        except BaseException as error:
            for waiter in flush.waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            await self._drop(flush)
            raise
        for waiter, reply in zip(flush.waiters, replies[1:], strict=True):
            if not waiter.done():
                waiter.set_result(list(reply))
        connection = flush.connection
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(connection)  # type: ignore[arg-type]
        else:
            await connection.disconnect()  # type: ignore[union-attr]
        return list(replies[0])

    async def _exchange(self, flush: _Flush) -> list[Any]:
        """`flush`'s replies, one per charge: opens its connection if it has none, sends once the
        turn is over, reads the reply; on NOSCRIPT sends the charges again as `EVAL`."""
        while True:
            try:
                async with asyncio.timeout(self._timeout):
                    if flush.connection is None:
                        connection = self._connection_class(**self._kwargs)
                        try:
                            await connection.connect()
                        except BaseException:
                            await connection.disconnect(nowait=True)
                            raise
                        flush.connection = connection
                    if flush.closed and not flush.sent:
                        self._send(flush)
                    reply = await flush.connection.read_response(disconnect_on_error=False)
            except NoScriptError:
                if flush.evaluate:
                    raise
                flush.evaluate, flush.sent = True, False
                continue
            except TimeoutError as error:  # asyncio's (the builtin): the deadline passed
                raise RedisTimeoutError(f"Timeout reading from {self._packer._host_error()}") from error
            except RedisConnectionError:
                if flush.failed is not None:  # `_end_turn` could not write: say so
                    raise RedisConnectionError(f"Error while writing to socket: {flush.failed!r}") from flush.failed
                raise
            return [reply] if len(flush.charges) == 1 else list(reply)

    async def _drop(self, flush: _Flush) -> None:
        connection, flush.connection = flush.connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)

    def _forget(self, task: asyncio.Task[list[Any]]) -> None:
        self._handed_off.discard(task)
        if not task.cancelled():
            task.exception()  # raised by the waiters it answered; retrieved so asyncio logs nothing

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        handed_off = list(self._handed_off)
        for task in handed_off:
            task.cancel()
        await asyncio.gather(*handed_off, *(connection.disconnect() for connection in idle), return_exceptions=True)


def _charge_of(allowed: Any, tokens: Any, full_in_ms: Any, retry_ms: Any, now_ms: Any) -> Charge:
    reset_at = datetime.fromtimestamp((int(now_ms) + int(full_in_ms)) / 1000, UTC)
    return Charge(
        allowed=bool(allowed),
        remaining=math.floor(float(tokens)),
        reset_at=reset_at,
        retry_after=0 if allowed else max(1, math.ceil(int(retry_ms) / 1000)),
    )
