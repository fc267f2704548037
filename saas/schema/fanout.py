"""Live fan-out: one execution of a subscription's selection per event, shared by its subscribers.

Subscriptions of one process with the same document, operation, variables and principal (the
caller's tenant, membership or key, role, permissions, plugins, scope and teams: everything the
visibility rules read) get the same results. Instead of listening and executing the selection once
per subscriber, the first one starts the execution (`GraphQLEngine.subscribe`'s stream) and every
later one joins it: each result is computed once and handed to every subscriber, in order.

- A subscriber receives the results produced after it joined, as a subscription of its own would
  (its own would start listening when it subscribed): none twice, none skipped while it stays.
- A subscriber with `QUEUE_SIZE` results waiting in its mailbox is ended with `SUBSCRIPTION_INTERRUPTED`
  (as `saas.realtime` does), without holding the others back.
- The stream stops (its Redis listener and its context released) when its last subscriber
  leaves; the next one starts it again. A stream that ends (an error, the source closing) ends
  every subscriber's.
- Admission (permissions, cost) is still checked for every subscriber, before it joins.
- Each result is a `SharedResult`: its JSON is made once (`SharedResult.json`, `.text`), and
  what a transport makes of it for a subscriber once per kind (`SharedResult.derived`, e.g. the
  frame of every subscriber whose operation has the same id), so the same bytes go to every
  subscriber without serialising, encoding or framing them again.
- A subscriber may give a `deliver` callable (a transport's direct send): while nothing of its
  own is waiting in its mailbox, the stream hands it each result at once, in the stream's own
  loop over its subscribers (no task switch per subscriber); `deliver` answers False when it
  cannot take the result now (e.g. its socket is busy), and the result goes to the mailbox,
  after which the subscriber takes its results in order as usual.
- Otherwise handing a result to a subscriber is an append to its mailbox (and a wake-up only if
  it waits); a subscriber that finds several results waiting takes them without waiting again.
- The stream hands a result to `SLICE` subscribers at a time and lets the event loop run between
  slices, so that the process's other work (a request that is making the next change, the
  next message's read) waits for a slice, not for the whole hand-off. Only the stream hands
  out its results, one after the other, so a subscriber still gets them in order, each once; one
  that joins during the pause gets the next result on, as if it had joined after this one was
  made (it was made before), and one that leaves during it is passed over.

`/metrics`: `live_subscribers` counts the subscribers of shared streams; `realtime_listeners`
(`saas.realtime`) counts the streams' listeners, one per stream; `live_fanout_seconds` times
each live result's hand-off (from the message's read, and from its commit) and
`live_fanout_deliveries_total` counts the results handed directly or through a mailbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from saas.errors import SubscriptionInterrupted
from saas.realtime import LAG_BUCKETS, take_message_read
from saas.schema.execution import dumps

log = logging.getLogger(__name__)

QUEUE_SIZE = 1_000
# Subscribers handed a result between two turns of the event loop (about 2 ms of sends).
SLICE = 64
SUBSCRIBERS = Gauge("live_subscribers", "Subscribers of this process's shared subscription streams")
_END = object()
_T = TypeVar("_T")
Deliver = Callable[["SharedResult"], bool]
# Per result of a shared stream whose source is a live message (`saas.realtime.listen`): from
# this process reading the message from Redis to its result's hand-off beginning ("start": the
# wait for the event loop and the execution) and to the last subscriber's send or mailbox ("end");
# and, for a stamped message, from its commit to that last hand-off ("commit_to_end").
HANDOFF = Histogram(
    "live_fanout_seconds",
    "From reading a live message from Redis (or from its commit) to its shared result handed to the stream's subscribers",
    ["stage"],
    buckets=LAG_BUCKETS,
)
_HANDOFF_START, _HANDOFF_END = HANDOFF.labels("start"), HANDOFF.labels("end")
_COMMIT_TO_END = HANDOFF.labels("commit_to_end")
# How each result reached each subscriber: sent from the stream's loop by the subscriber's own
# `deliver` ("direct"), or put in its mailbox for its own task to send later ("mailbox": it was
# sending, had results waiting, had no direct send, or its socket could not take it now).
HANDED = Counter(
    "live_fanout_deliveries_total", "Shared results handed to subscribers, by how they were handed", ["path"]
)
_HANDED_DIRECT, _HANDED_MAILBOX = HANDED.labels("direct"), HANDED.labels("mailbox")


class SharedResult(dict[str, Any]):
    """One execution's result, handed to every subscriber of its stream (read it, do not change it)."""

    __slots__ = ("_derived", "_json", "_text")

    def derived(self, key: Hashable, make: Callable[[SharedResult], _T]) -> _T:
        """`make(self)`, made by the first subscriber that asks with `key`, then kept for every
        other one: `key` must name everything `make` adds to the result (e.g. the prefix a
        transport splices in), so that equal keys mean equal values."""
        try:
            derived = self._derived
        except AttributeError:
            self._derived: dict[Hashable, Any] = {}
            derived = self._derived
        try:
            return derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = derived[key] = make(self)
            return value

    def json(self) -> bytes:
        """The result as JSON (UTF-8), serialised by the first subscriber that asks, then kept."""
        try:
            return self._json
        except AttributeError:
            self._json: bytes = dumps(self)
            return self._json

    def text(self) -> str:
        """`json()` as text, decoded once."""
        try:
            return self._text
        except AttributeError:
            self._text: str = self.json().decode()
            return self._text


class _Mailbox:
    """A subscriber's results not yet taken, and the future it waits on when there are none."""

    __slots__ = ("deliver", "items", "waiter")

    def __init__(self, deliver: Deliver | None) -> None:
        self.items: deque[Any] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.deliver = deliver

    def put(self, item: Any) -> None:
        self.items.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def full(self) -> bool:
        return len(self.items) >= QUEUE_SIZE

    def last(self, item: Any) -> None:
        """Put `item` as the subscriber's last, dropping the oldest result if there is no room."""
        if self.full():
            self.items.popleft()
        self.put(item)

    async def take(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.popleft()


class SharedStream:
    """One source of results, handed to the mailboxes of the subscribers that joined it."""

    def __init__(self, source: AsyncIterator[dict[str, Any]], on_empty: Callable[[], None]) -> None:
        self.source = source
        self.on_empty = on_empty
        self.queues: set[_Mailbox] = set()
        self.pump: asyncio.Task[None] | None = None
        self.executions = 0  # results computed (each shared by every subscriber then joined)

    async def _pump(self) -> None:
        try:
            async for payload in self.source:
                self.executions += 1
                read = take_message_read()
                if read is not None:
                    _HANDOFF_START.observe(time.monotonic() - read.at)
                result = SharedResult(payload)
                direct = mailed = 0
                mailboxes = list(self.queues)
                for start in range(0, len(mailboxes), SLICE):
                    batch = mailboxes[start : start + SLICE]
                    if start:
                        await asyncio.sleep(0)
                        batch = [mailbox for mailbox in batch if mailbox in self.queues]  # not those gone meanwhile
                    for mailbox in batch:
                        deliver = mailbox.deliver
                        if deliver is not None and not mailbox.items:
                            try:
                                if deliver(result):
                                    direct += 1
                                    continue
                            except Exception:  # the mailbox takes it; the subscriber's own send reports the failure
                                log.exception("direct delivery of a shared subscription result failed")
                        if mailbox.full():
                            self.queues.discard(mailbox)
                            mailbox.last(SubscriptionInterrupted("This subscription fell behind; subscribe again"))
                        else:
                            mailbox.put(result)
                            mailed += 1
                _HANDED_DIRECT.inc(direct)
                _HANDED_MAILBOX.inc(mailed)
                if read is not None:
                    since_read = time.monotonic() - read.at
                    _HANDOFF_END.observe(since_read)
                    if read.since_commit is not None:
                        _COMMIT_TO_END.observe(read.since_commit + since_read)
        finally:
            for mailbox in list(self.queues):
                mailbox.last(_END)

    def join(self, deliver: Deliver | None = None) -> AsyncIterator[dict[str, Any]]:
        """A subscriber's results from now on (its mailbox is registered at once); those handed
        to `deliver` are not yielded."""
        mailbox = _Mailbox(deliver)
        self.queues.add(mailbox)
        SUBSCRIBERS.inc()
        if self.pump is None:
            self.pump = asyncio.create_task(self._pump(), name="graphql-shared-subscription")
        return self._drain(mailbox)

    async def _drain(self, mailbox: _Mailbox) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                item = await mailbox.take()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            SUBSCRIBERS.dec()
            self.queues.discard(mailbox)
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


class SharedStreams:
    """The process's shared subscription streams by key (per event loop)."""

    def __init__(self) -> None:
        self.streams: dict[Hashable, SharedStream] = {}

    async def subscribe(
        self,
        key: Hashable,
        start: Callable[[], Awaitable[AsyncIterator[dict[str, Any]] | Any]],
        deliver: Deliver | None = None,
    ) -> AsyncIterator[dict[str, Any]] | Any:
        """Join the stream of `key`, or start it with `start()` (whose non-iterator answer, e.g. a
        refusal, is returned as it is); `deliver` as in `SharedStream.join`."""
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
        return stream.join(deliver)

    def _new(self, full_key: Hashable, source: AsyncIterator[dict[str, Any]]) -> SharedStream:
        def forget() -> None:
            if self.streams.get(full_key) is stream:
                del self.streams[full_key]

        stream = SharedStream(source, forget)
        self.streams[full_key] = stream
        return stream
