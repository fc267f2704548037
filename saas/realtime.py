"""Tenant-scoped real-time channels on Redis pub/sub (works across server processes).

Publishing is the services' work, after commit: a service calls `publish_after_commit(session,
topic, message)`, and the message goes out on the session's tenant channel once the transaction
commits (never on rollback); with `stamp=True` it carries the moment of that commit
(`COMMITTED_AT`, an ISO 8601 date-time in UTC). It reaches Redis through the publisher bound to the session's engine
(`bind_publisher`, done by `saas.runtime.Runtime` for its engine, beside its credential cache), so a change made by
a request, a job, the CLI, `saas demo` or a plugin publishes the same message. A session of an
engine without a publisher (a migration, a script with no Redis) publishes nothing.

A server process holds one Redis subscriber connection (per event loop), whatever the number
of live subscriptions: each `listen` registers a local queue for its channel, the connection
subscribes to a channel while someone listens to it, and one reader hands every message to
the channel's queues. The connection closes when the last listener leaves. A consumer too slow to keep `QUEUE_SIZE` messages is told so and ended,
rather than holding the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import redis
import redis.asyncio as aioredis
from prometheus_client import Gauge, Histogram
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from saas.errors import SubscriptionInterrupted
from saas.tenancy.session import bound_tenant, committed_at, on_commit, run_redis_step

log = logging.getLogger(__name__)

QUEUE_SIZE = 1_000
# The key of a stamped message's commit time (`publish_after_commit(..., stamp=True)`).
COMMITTED_AT = "committed_at"
LISTENERS = Gauge("realtime_listeners", "Live subscriptions of this process listening on real-time channels")
# Seconds, for the live path's latency histograms (`live_message_lag_seconds` here, the fan-out's
# in `saas.schema.fanout`): fine below 100 ms, where the live target's p99 lies.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)
MESSAGE_LAG = Histogram(
    "live_message_lag_seconds",
    "From a stamped live message's commit to this process reading it from Redis",
    buckets=LAG_BUCKETS,
)
_CLOSED = object()
# When this process read the message `listen` last yielded in the current task: a consumer (the
# shared fan-out) measures its own delay from there.
_READ_AT: contextvars.ContextVar[MessageRead | None] = contextvars.ContextVar("live_message_read", default=None)


class MessageRead(NamedTuple):
    """When a live message was read from Redis (`time.monotonic()`), and how long after its
    commit (seconds; None for a message without a stamp)."""

    at: float
    since_commit: float | None


def take_message_read() -> MessageRead | None:
    """When the message that `listen` last yielded in this task was read, once: None if none
    was, or if it was taken already."""
    read = _READ_AT.get()
    if read is not None:
        _READ_AT.set(None)
    return read


def _since_commit(data: Any) -> float | None:
    """Seconds from a stamped message's commit to now (observed in `live_message_lag_seconds`)."""
    committed = data.get(COMMITTED_AT) if isinstance(data, dict) else None
    if not isinstance(committed, str):
        return None
    try:
        lag = max(0.0, time.time() - datetime.fromisoformat(committed).timestamp())
    except ValueError:
        return None
    MESSAGE_LAG.observe(lag)
    return lag


class SubscriptionLost(SubscriptionInterrupted):
    """The connection to Redis failed, or the consumer fell too far behind.

    An `AppError`: the subscriber gets `SUBSCRIPTION_INTERRUPTED` (subscribe again), not a
    masked internal error."""


def channel(tenant_id: uuid.UUID, topic: str) -> str:
    return f"saas:tenant:{tenant_id}:{topic}"


def publish(client: redis.Redis, tenant_id: uuid.UUID, topic: str, message: dict[str, Any]) -> None:
    client.publish(channel(tenant_id, topic), orjson.dumps(message))


# The engine execution option that carries the Redis client its sessions publish live messages on
# (SQLAlchemy keeps user-defined execution options with the engine and ignores them otherwise).
# The work after a commit sends them through it, in the round trip it shares with the commit's
# other Redis commands (`LivePublish`).
CLIENT_OPTION = "saas_live_client"


def bind_publisher(engine: Engine, client: redis.Redis) -> None:
    """Sessions of `engine` publish their live messages on `client` from now on."""
    engine.update_execution_options(**{CLIENT_OPTION: client})


def _stamped(session: Session, message: dict[str, Any]) -> dict[str, Any]:
    return {**message, COMMITTED_AT: committed_at(session).isoformat()}


def publish_after_commit(session: Session, topic: str, message: dict[str, Any], *, stamp: bool = False) -> None:
    """Publish `message` on `topic` of the session's tenant once its transaction commits.

    Never on rollback; nothing for a session bound to no tenant or whose engine has no Redis
    client bound (`bind_publisher`). A failed publish (Redis down) is logged and counted by `run_after_commit` and
    never reaches the caller: the change is committed, only its live copy is lost. With
    `stamp`, the message published carries the commit's moment under `COMMITTED_AT`.
    """
    publish_many_after_commit(session, topic, [message], stamp=stamp)


def publish_many_after_commit(
    session: Session, topic: str, messages: list[dict[str, Any]], *, stamp: bool = False
) -> None:
    """`publish_after_commit` of each message, in order, sent in one round trip once the
    transaction commits (a batch of changes, e.g. an import's chunk)."""
    tenant_id = bound_tenant(session)
    client = session.get_bind().get_execution_options().get(CLIENT_OPTION)
    if tenant_id is None or client is None or not messages:
        return
    on_commit(session, LivePublish(client, session, tenant_id, topic, list(messages), stamp))


class LivePublish:
    """Live messages published once the transaction commits, in order, as a `RedisStep`: their
    PUBLISH commands go in the round trip the commit's other Redis commands on the same client
    take (the dispatch mark's, `saas.events.outbox`), or in one of their own. A failure is the
    step's, logged and counted by `run_after_commit`; the change stands."""

    __slots__ = ("client", "messages", "session", "stamp", "tenant_id", "topic")

    def __init__(
        self,
        client: redis.Redis,
        session: Session,
        tenant_id: uuid.UUID,
        topic: str,
        messages: list[dict[str, Any]],
        stamp: bool,
    ) -> None:
        self.client, self.session, self.tenant_id = client, session, tenant_id
        self.topic, self.messages, self.stamp = topic, messages, stamp

    def redis_client(self) -> redis.Redis:
        return self.client

    def queue(self, pipeline: Any) -> int:
        name = channel(self.tenant_id, self.topic)
        payloads = [orjson.dumps(_stamped(self.session, m) if self.stamp else m) for m in self.messages]
        for payload in payloads:
            pipeline.publish(name, payload)
        return len(payloads)

    def finish(self, replies: list[Any]) -> None:
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply

    def __call__(self) -> None:
        run_redis_step(self)

    def __repr__(self) -> str:  # never the messages: notifications hold user text
        return f"live messages on {self.topic!r} of tenant {self.tenant_id}"


class _Hub:
    """One subscriber connection shared by the process's listeners of one Redis."""

    def __init__(self, redis_url: str) -> None:
        self.client = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.queues: dict[str, set[asyncio.Queue[Any]]] = {}
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None
        self.closed = False

    async def add(self, name: str) -> asyncio.Queue[Any] | None:
        """A queue of the channel's messages; None if the hub closed meanwhile (use a new one)."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        async with self.lock:
            if self.closed:
                return None
            if name not in self.queues:
                await self.pubsub.subscribe(name)
                self.queues[name] = set()
            self.queues[name].add(queue)
            if self.reader is None or self.reader.done():
                self.reader = asyncio.create_task(self._read(), name="realtime-reader")
        return queue

    async def remove(self, name: str, queue: asyncio.Queue[Any]) -> None:
        async with self.lock:
            listeners = self.queues.get(name)
            if listeners is None:
                return
            listeners.discard(queue)
            if not listeners:
                del self.queues[name]
                try:
                    await self.pubsub.unsubscribe(name)
                except Exception:
                    log.warning("could not unsubscribe from %s", name, exc_info=True)
            if not self.queues:
                await self._close()

    async def _close(self) -> None:
        self.closed = True
        _forget(self)
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
        try:
            await self.pubsub.aclose()
            await self.client.aclose()
        except Exception:
            log.warning("could not close the real-time subscriber connection", exc_info=True)

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                read_at = time.monotonic()
                name = message["channel"].decode()
                data = orjson.loads(message["data"])
                item = (MessageRead(read_at, _since_commit(data)), data)
                for queue in list(self.queues.get(name, ())):
                    try:
                        queue.put_nowait(item)
                    except asyncio.QueueFull:
                        log.warning("a subscriber of %s fell %d messages behind; ending it", name, QUEUE_SIZE)
                        self._end(queue)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the real-time subscriber connection failed; live subscriptions end")
            for listeners in list(self.queues.values()):
                for queue in list(listeners):
                    self._end(queue)
            _forget(self)

    @staticmethod
    def _end(queue: asyncio.Queue[Any]) -> None:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_CLOSED)

    def listeners(self, name: str) -> int:
        return len(self.queues.get(name, ()))


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Hub]] = weakref.WeakKeyDictionary()


def _hub(redis_url: str) -> _Hub:
    by_url = _hubs.setdefault(asyncio.get_running_loop(), {})
    hub = by_url.get(redis_url)
    if hub is None:
        hub = by_url[redis_url] = _Hub(redis_url)
    return hub


def _forget(hub: _Hub) -> None:
    for by_url in _hubs.values():
        for url, known in list(by_url.items()):
            if known is hub:
                del by_url[url]


def local_listeners(redis_url: str, name: str) -> int:
    """How many `listen` calls of this event loop wait on channel `name` (for tests and metrics)."""
    by_url = _hubs.get(asyncio.get_running_loop(), {})
    hub = by_url.get(redis_url)
    return hub.listeners(name) if hub is not None else 0


async def listen(
    redis_url: str, tenant_id: uuid.UUID, topic: str, ready: asyncio.Event | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Messages published to the tenant's topic from now on, until the consumer stops.

    `ready` is set once the channel is subscribed (see `Listening`)."""
    name = channel(tenant_id, topic)
    while True:
        hub = _hub(redis_url)
        queue = await hub.add(name)
        if queue is not None:
            break
    LISTENERS.inc()
    if ready is not None:
        ready.set()
    try:
        while True:
            item = await queue.get()
            if item is _CLOSED:
                raise SubscriptionLost()
            read, message = item
            _READ_AT.set(read)
            yield message
    finally:
        LISTENERS.dec()
        await hub.remove(name, queue)


class Listening:
    """A tenant topic's messages, subscribed before `async with` enters: for "the state now, then
    its changes" subscriptions, which read the state only once listening, so that a change
    committed between the read and the subscription is never missed (it may be heard twice:
    once in the read, once as a message; the caller drops what it has already sent).

        async with Listening(redis_url, tenant_id, topic) as messages:
            state = read()
            ...
            message = await messages.next()
    """

    def __init__(self, redis_url: str, tenant_id: uuid.UUID, topic: str) -> None:
        self._ready = asyncio.Event()
        self._messages = listen(redis_url, tenant_id, topic, self._ready)
        self._pending: asyncio.Future[dict[str, Any]] | None = None

    async def __aenter__(self) -> Listening:
        self._pending = asyncio.ensure_future(anext(self._messages))  # type: ignore[arg-type]
        subscribed = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait((self._pending, subscribed), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        finally:
            subscribed.cancel()
        if not self._ready.is_set():  # the listener failed before subscribing (Redis down)
            try:
                self._pending.result()
            finally:
                await self.__aexit__(None, None, None)
        return self

    async def next(self) -> dict[str, Any]:
        """The next message (waits for it)."""
        assert self._pending is not None, "use `async with`"
        message = await self._pending
        self._pending = asyncio.ensure_future(anext(self._messages))  # type: ignore[arg-type]
        return message

    async def __aexit__(self, *_: object) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(BaseException):
                await self._pending  # the listener ends inside its own task; then the generator is closed
        await self._messages.aclose()  # type: ignore[attr-defined]  # an async generator
