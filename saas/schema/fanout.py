"""Live fan-out: one execution of a subscription's selection per event, shared by its subscribers.

Subscriptions of one process with the same document, operation, variables and principal (the
caller's tenant, membership or key, role, permissions, plugins, scope and teams: everything the
visibility rules read) get the same results. Instead of listening and executing the selection once
per subscriber, the first one starts the execution (`GraphQLEngine.subscribe`'s stream) and every
later one joins it: each result is computed once and handed to every subscriber's queue, in order.

- A subscriber receives the results produced after it joined, as a subscription of its own would
  (its own would start listening when it subscribed): none twice, none skipped while it stays.
- A subscriber too slow to keep `QUEUE_SIZE` results is ended with `SUBSCRIPTION_INTERRUPTED`
  (as `saas.realtime` does), without holding the others back.
- The stream stops (its Redis listener and its context released) when its last subscriber
  leaves; the next one starts it again. A stream that ends (an error, the source closing) ends
  every subscriber's.
- Admission (permissions, cost) is still checked for every subscriber, before it joins.

`/metrics`: `live_subscribers` counts the subscribers of shared streams; `realtime_listeners`
(`saas.realtime`) counts the streams' listeners, one per stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

from prometheus_client import Gauge

from saas.errors import SubscriptionInterrupted

QUEUE_SIZE = 1_000
SUBSCRIBERS = Gauge("live_subscribers", "Subscribers of this process's shared subscription streams")
_END = object()


class SharedStream:
    """One source of results, pumped into the queues of the subscribers that joined it."""

    def __init__(self, source: AsyncIterator[dict[str, Any]], on_empty: Callable[[], None]) -> None:
        self.source = source
        self.on_empty = on_empty
        self.queues: set[asyncio.Queue[Any]] = set()
        self.pump: asyncio.Task[None] | None = None
        self.executions = 0  # results computed (each shared by every subscriber then joined)

    async def _pump(self) -> None:
        try:
            async for payload in self.source:
                self.executions += 1
                for queue in list(self.queues):
                    try:
                        queue.put_nowait(payload)
                    except asyncio.QueueFull:
                        self.queues.discard(queue)
                        _drop_oldest(queue)
                        queue.put_nowait(SubscriptionInterrupted("This subscription fell behind; subscribe again"))
        finally:
            for queue in list(self.queues):
                if queue.full():
                    _drop_oldest(queue)
                queue.put_nowait(_END)

    def join(self) -> AsyncIterator[dict[str, Any]]:
        """A subscriber's results from now on (its queue is registered at once)."""
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        SUBSCRIBERS.inc()
        if self.pump is None:
            self.pump = asyncio.create_task(self._pump(), name="graphql-shared-subscription")
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            SUBSCRIBERS.dec()
            self.queues.discard(queue)
            if not self.queues:
                await self.close()

    async def close(self) -> None:
        self.on_empty()
        pump, self.pump = self.pump, None
        if pump is not None and not pump.done():
            pump.cancel()
            try:
                await pump
            except (asyncio.CancelledError, Exception):
                pass
        aclose = getattr(self.source, "aclose", None)
        if aclose is not None:
            await aclose()


def _drop_oldest(queue: asyncio.Queue[Any]) -> None:
    try:
        queue.get_nowait()
    except asyncio.QueueEmpty:
        pass


class SharedStreams:
    """The process's shared subscription streams by key (per event loop)."""

    def __init__(self) -> None:
        self.streams: dict[Hashable, SharedStream] = {}

    async def subscribe(
        self, key: Hashable, start: Callable[[], Awaitable[AsyncIterator[dict[str, Any]] | Any]]
    ) -> AsyncIterator[dict[str, Any]] | Any:
        """Join the stream of `key`, or start it with `start()` (whose non-iterator answer, e.g. a
        refusal, is returned as it is)."""
        full_key = (id(asyncio.get_running_loop()), key)
        stream = self.streams.get(full_key)
        if stream is None:
            source = await start()
            if not hasattr(source, "__anext__"):
                return source
            stream = self.streams.get(full_key)  # another subscriber may have started it meanwhile
            if stream is None:
                stream = self._new(full_key, source)
            else:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
        return stream.join()

    def _new(self, full_key: Hashable, source: AsyncIterator[dict[str, Any]]) -> SharedStream:
        def forget() -> None:
            if self.streams.get(full_key) is stream:
                del self.streams[full_key]

        stream = SharedStream(source, forget)
        self.streams[full_key] = stream
        return stream
