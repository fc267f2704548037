"""Coalescing a burst of updates: at most one item per key per interval, never a stale one.

`coalesce(source, key, interval)` yields the items of `source`, but an item whose key was yielded
less than `interval` ago waits, and a newer item of the same key replaces it while it waits: the
first change of a key goes out at once, a burst becomes one trailing item with its newest value
when the key's interval ends. So a subscriber gets at most one message per key per interval and
the last value it gets for a key is the newest one published. Keys do not wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


async def coalesce(
    source: AsyncIterator[T],
    key: Callable[[T], Hashable],
    interval: float,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[T]:
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    inbox: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in source:
                await inbox.put(item)
        except BaseException as error:  # handed to the consumer, raised there
            await inbox.put(error)
            return
        await inbox.put(_DONE)

    reader = asyncio.create_task(pump())
    last_sent: dict[Hashable, float] = {}
    waiting: dict[Hashable, T] = {}
    finished = False
    try:
        while True:
            moment = now()
            for k in [k for k in waiting if moment - last_sent[k] >= interval]:
                yield waiting.pop(k)
                last_sent[k] = now()  # counted from when the consumer took it
            timeout = min((last_sent[k] + interval - moment for k in waiting), default=None)
            if finished:  # the source ended: what waits still goes out, each when its interval ends
                if timeout is None:
                    return
                await asyncio.sleep(max(timeout, 0))
                continue
            try:
                got = await asyncio.wait_for(inbox.get(), timeout=max(timeout, 0) if timeout is not None else None)
            except TimeoutError:
                continue
            if got is _DONE:
                finished = True
                continue
            if isinstance(got, BaseException):
                raise got
            item = got  # type: ignore[assignment]
            k = key(item)  # type: ignore[arg-type]
            moment = now()
            if k not in waiting and moment - last_sent.get(k, float("-inf")) >= interval:
                yield item  # type: ignore[misc]
                last_sent[k] = now()
            else:
                waiting[k] = item  # type: ignore[assignment]
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
