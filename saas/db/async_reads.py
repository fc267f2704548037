"""The compiled reads on the event loop: psycopg2's asynchronous connections, no worker thread.

A compiled read is one message (the tenant setting and the statement, `saas/db/reads.py`) and one
JSON text back. Sent from a worker thread, every request paid two thread hand-overs (to the thread
and back to the loop) and SQLAlchemy's pool and execution layers around a single `execute`. Here
the message goes out on a psycopg2 connection opened with `async_=1`, and the event loop waits for
the socket (`add_reader`/`add_writer`) while it serves other requests.

Guarantees, and why they hold:

- **Bounded**: a pool holds at most `size` connections (`DB_READ_CONCURRENCY`, else
  `DB_POOL_SIZE`); a read finding every connection busy waits, first come first served, and is
  handed the next connection released, whichever thread's event loop releases it (the hand-over
  goes through `call_soon_threadsafe` to the waiter's loop). So one pool serves a process's event
  loop and any other loop (tests, tools), and `Runtime.close` closes it once.
- **One connection, one read**: a connection is either idle in the pool or held by exactly one
  read until it is released; psycopg2 refuses a second command on an asynchronous connection that
  is still executing, so a bug here fails loudly rather than mixing two results.
- **A dropped connection costs no request an error**: when PostgreSQL ends a connection (a
  restart, a failover), the read that finds it broken discards it and every idle connection
  opened before it (they went with the same server), and runs once more on a new connection; a
  read is safe to repeat. Errors of the statement itself (a timeout, a bad value) are raised and
  the connection, still sound, goes back to the pool.
- **A cancelled read closes its connection**: a client that goes away cancels its request while
  the statement may still be running, so the connection's state is unknown; it is closed, never
  reused.
- **Recycled**: a connection older than `recycle` seconds is closed when released, as
  `pool_recycle` did for the thread path.
- **Generic plans**: every link is opened with `plan_cache_mode=force_generic_plan`
  (`LINK_PLAN_CACHE_MODE`), so a prepared compiled read is planned once per connection, not on
  every `EXECUTE`; which statements run so and which opt out, and why, is
  `saas/db/prepared.py` `plan_cache_mode`. It changes nothing for a statement sent as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from typing import Any

import psycopg2
from psycopg2 import extensions
from sqlalchemy.engine import URL

from saas.db.statements import count_statement

RECYCLE_SECONDS = 3600.0
# The plan cache mode of every read link: the prepared compiled reads' default (`saas/db/prepared.py`).
LINK_PLAN_CACHE_MODE = "force_generic_plan"


def link_connect_args(connect_args: dict[str, Any]) -> dict[str, Any]:
    """The connection arguments of a read link: the application's (`CONNECT_ARGS`) and
    `plan_cache_mode` (`LINK_PLAN_CACHE_MODE`) among the session options."""
    options = f"{connect_args.get('options', '')} -c plan_cache_mode={LINK_PLAN_CACHE_MODE}".strip()
    return {**connect_args, "options": options}


def _wake(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)


class AsyncLink:
    """One asynchronous psycopg2 connection (a link to a backend) and the prepared statements it holds."""

    __slots__ = ("born", "prepared", "raw")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.born = time.monotonic()
        self.prepared: set[str] = set()  # names of the statements prepared on it (`saas/db/prepared.py`)

    @classmethod
    async def open(cls, dsn: str, connect_args: dict[str, Any]) -> AsyncLink:
        connection = cls(psycopg2.connect(dsn, async_=1, **connect_args))
        try:
            await connection._ready()
        except BaseException:
            connection.close()
            raise
        return connection

    async def _ready(self) -> None:
        """Wait, on the running loop, until psycopg2 has nothing left to send or receive."""
        raw = self.raw
        loop: asyncio.AbstractEventLoop | None = None
        while True:
            state = raw.poll()
            if state == extensions.POLL_OK:
                return
            if loop is None:
                loop = asyncio.get_running_loop()
            fd = raw.fileno()
            future = loop.create_future()
            if state == extensions.POLL_READ:
                loop.add_reader(fd, _wake, future)
                try:
                    await future
                finally:
                    loop.remove_reader(fd)
            elif state == extensions.POLL_WRITE:
                loop.add_writer(fd, _wake, future)
                try:
                    await future
                finally:
                    loop.remove_writer(fd)
            else:  # pragma: no cover - psycopg2 raises rather than return POLL_ERROR
                raise psycopg2.OperationalError(f"unexpected poll state {state}")

    async def fetch_one(self, message: str, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Send `message` (psycopg2 placeholders, possibly several statements) and return the
        first row of its last statement's result (None when it has none)."""
        cursor = self.raw.cursor()
        try:
            count_statement()
            cursor.execute(message, values)
            await self._ready()
            row: tuple[Any, ...] | None = cursor.fetchone() if cursor.description is not None else None
            return row
        finally:
            cursor.close()

    @property
    def broken(self) -> bool:
        return bool(self.raw.closed)

    @property
    def reusable(self) -> bool:
        """Open, and not in the middle of a statement (a read cancelled while it ran)."""
        return not self.raw.closed and not self.raw.isexecuting()

    def close(self) -> None:
        try:
            self.raw.close()
        except psycopg2.Error:  # pragma: no cover - closing a broken connection
            pass


class AsyncReadPool:
    """At most `size` asynchronous connections to one database, shared by every event loop of the
    process (see the module's guarantees)."""

    def __init__(
        self, dsn: str, size: int, *, prepared: bool = True, connect_args: dict[str, Any] | None = None
    ) -> None:
        self.dsn = dsn
        self.size = size
        self.prepared = prepared
        self.recycle = RECYCLE_SECONDS
        self._connect_args = link_connect_args(dict(connect_args or {}))
        self._idle: list[AsyncLink] = []
        self._open = 0  # idle + held + being opened
        self._held = 0
        self.most_held = 0  # the most connections held at once (tests read it)
        # Reads waiting for a connection, oldest first; each is handed a connection, or None
        # (room to open one) when a connection was closed instead of released.
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[AsyncLink | None]]] = deque()
        self._lock = threading.Lock()
        self._closed = False

    async def acquire(self) -> AsyncLink:
        while True:
            with self._lock:
                if self._closed:
                    raise psycopg2.InterfaceError("the read pool is closed")
                if self._idle:
                    return self._hold(self._idle.pop())
                opening = self._open < self.size
                if opening:
                    self._open += 1
                else:
                    loop = asyncio.get_running_loop()
                    future: asyncio.Future[AsyncLink | None] = loop.create_future()
                    self._waiters.append((loop, future))
            if opening:
                try:
                    connection = await AsyncLink.open(self.dsn, self._connect_args)
                except BaseException:
                    self._gone()
                    raise
                with self._lock:
                    return self._hold(connection)
            try:
                handed = await future
            except asyncio.CancelledError:
                with self._lock:
                    if (loop, future) in self._waiters:
                        self._waiters.remove((loop, future))
                raise  # a connection handed over meanwhile comes back through `_hand`
            if handed is not None:
                with self._lock:
                    return self._hold(handed)

    def _hold(self, connection: AsyncLink) -> AsyncLink:
        self._held += 1
        self.most_held = max(self.most_held, self._held)
        return connection

    def release(self, connection: AsyncLink, *, discard: bool = False) -> None:
        """Give a held connection back: to the oldest waiter, else to the idle list; closed
        instead when `discard`, broken or still executing, older than `recycle`, or the pool is
        closed. A connection kept is counted back and handed on under one hold of the lock."""
        if discard or not connection.reusable or self._closed or time.monotonic() - connection.born > self.recycle:
            with self._lock:
                self._held -= 1
            connection.close()
            self._gone()
            return
        with self._lock:
            self._held -= 1
            if not self._wake_first(connection):
                self._idle.append(connection)

    def _gone(self) -> None:
        """A connection was closed or never opened: its room goes to the oldest waiter."""
        with self._lock:
            self._open -= 1
            self._wake_first(None)

    def _wake_first(self, handed: AsyncLink | None) -> bool:
        """Hand `handed` (None: the room to open one) to the oldest live waiter; under the lock."""
        while self._waiters:
            loop, future = self._waiters.popleft()
            if future.done():
                continue
            try:
                loop.call_soon_threadsafe(self._hand, future, handed)
            except RuntimeError:  # that loop is closed
                continue
            return True
        return False

    def _hand(self, future: asyncio.Future[AsyncLink | None], handed: AsyncLink | None) -> None:
        """On the waiter's loop: deliver, or, if it gave up meanwhile, pass the turn on."""
        if not future.done():
            future.set_result(handed)
            return
        if handed is not None:
            with self._lock:
                self._held += 1  # `release` takes it back out
            self.release(handed)
        else:
            with self._lock:
                self._wake_first(None)

    def discard_idle_older_than(self, born: float) -> None:
        """Close the idle connections opened before `born` (they went with the same server)."""
        with self._lock:
            stale = [c for c in self._idle if c.born <= born]
            self._idle = [c for c in self._idle if c.born > born]
        for connection in stale:
            connection.close()
            self._gone()

    def close(self) -> None:
        """Close the idle connections now and every held one when it is released."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            waiters, self._waiters = self._waiters, deque()
        for connection in idle:
            connection.close()
            with self._lock:
                self._open -= 1
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._hand, future, None)


def dsn_of(url: URL) -> str:
    """A libpq connection string for psycopg2 from the engine's URL (password included)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
