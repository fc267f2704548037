"""Worker processes that share their connections evenly: the least-connected worker accepts.

With `saas serve --workers N`, uvicorn binds one listening socket and every worker accepts from
it. The kernel wakes every worker for a new connection and the first to call `accept` takes it
(with uvloop, every connection waiting at that moment): which one wins is a race. Keep-alive
clients (a load balancer's pool, a load generator) open their connections at once and keep them,
so a split such as 10 and 6 of 16 lasts as long as the connections do, and the busier worker
queues its requests longer: the slowest requests (the p99) are all its own.

Here each worker publishes its number of open connections in a small array shared by the
workers (`ConnectionBalance`, one slot per worker, each slot written only by its worker) and
accepts a waiting connection only while it holds no more than the least-connected other worker;
otherwise it stops watching the socket for `RECHECK_SECONDS` and lets that worker take it.
What bounds the wait: a connection is never refused, and a worker that has held back for
`MAX_HOLD_SECONDS` (the other worker busy, hung or gone) accepts anyway. A worker's count is
uvicorn's own set of open connections (HTTP and WebSocket; an upgrade keeps its connection)
plus the accepted sockets whose protocol is not made yet, so it never counts low.

Only the accept changes: requests are served by uvicorn's protocols exactly as with uvicorn's
own listener (`Server.startup` with the same protocol factory), and uvicorn's supervisor still
starts, pings, restarts and stops the workers. `saas serve` uses it (`balanced_workers`) for
`--workers` above 1 without `--reload` when `SERVE_BALANCED_ACCEPT` is on (the default).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from uvicorn.server import Server, ServerState
from uvicorn.supervisors import multiprocess

logger = logging.getLogger("saas.serve")

# A held-back worker looks again this often, and accepts anyway after holding back this long.
RECHECK_SECONDS = 0.002
MAX_HOLD_SECONDS = 0.05


class ConnectionBalance:
    """Each worker's open connections, in shared memory: slot i is (pid, connections).

    Created by the supervisor before it starts the workers (spawned processes inherit it).
    A worker claims a free slot (pid 0, or a pid no longer alive) under the array's lock and
    is the only writer of its slot afterwards; readers need no lock (one aligned 64-bit word
    each, a stale value at worst makes one accept less even).
    """

    def __init__(self, slots: int, max_hold: float = MAX_HOLD_SECONDS) -> None:
        if slots < 1:
            raise ValueError("a connection balance needs at least one slot")
        if not max_hold >= 0:
            raise ValueError("a connection balance's max_hold is a number of seconds, 0 or more")
        self.slots = slots
        self.max_hold = max_hold
        self._array: Any = multiprocessing.get_context("spawn").Array("q", 2 * slots)

    def claim(self, pid: int) -> int | None:
        """This process's slot (None when every slot belongs to a live process: never held back)."""
        with self._array.get_lock():
            values = self._array.get_obj()
            for index in range(self.slots):
                owner = values[2 * index]
                if owner == 0 or owner == pid or not _alive(owner):
                    values[2 * index], values[2 * index + 1] = pid, 0
                    return index
        return None

    def release(self, index: int) -> None:
        values = self._array.get_obj()
        values[2 * index + 1] = 0
        values[2 * index] = 0

    def publish(self, index: int, connections: int) -> None:
        self._array.get_obj()[2 * index + 1] = connections

    def fewest_elsewhere(self, index: int) -> int | None:
        """The fewest connections held by another live worker (None: there is no other)."""
        values = self._array.get_obj()
        fewest: int | None = None
        for other in range(self.slots):
            if other == index:
                continue
            owner, count = values[2 * other], values[2 * other + 1]
            if owner == 0:
                continue
            if fewest is None or count < fewest:
                fewest = count
        return fewest

    def forget_dead(self) -> None:
        """Free the slots of workers that died without releasing them (a crash, SIGKILL)."""
        with self._array.get_lock():
            values = self._array.get_obj()
            for index in range(self.slots):
                owner = values[2 * index]
                if owner != 0 and not _alive(owner):
                    values[2 * index], values[2 * index + 1] = 0, 0

    def snapshot(self) -> list[tuple[int, int]]:
        values = self._array.get_obj()
        return [(values[2 * i], values[2 * i + 1]) for i in range(self.slots)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (a recycled pid)
        return True
    return True


class _CountedConnections(set[Any]):
    """uvicorn's set of open connections, telling the balance whenever it changes."""

    def __init__(self, changed: Any) -> None:
        super().__init__()
        self._changed = changed

    def add(self, item: Any) -> None:
        super().add(item)
        self._changed()

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()


class _Acceptor:
    """Accepts from one shared listening socket while this worker is among the least connected."""

    def __init__(self, server: BalancedServer, sock: socket.socket, protocol_factory: Any) -> None:
        self._server = server
        self._sock = sock
        self._factory = protocol_factory
        self._loop = asyncio.get_running_loop()
        self._held_since: float | None = None
        self._watching = False
        self._closed = False
        self._resume: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        sock.setblocking(False)
        self._watch()

    def _watch(self) -> None:
        self._resume = None
        if not self._closed and not self._watching:
            self._loop.add_reader(self._sock.fileno(), self._readable)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._sock.fileno())
            self._watching = False

    def _readable(self) -> None:
        if self._server.should_hold_back():
            now = time.monotonic()
            if self._held_since is None:
                self._held_since = now
            if now - self._held_since < self._server.max_hold():
                self._unwatch()
                self._resume = self._loop.call_later(RECHECK_SECONDS, self._watch)
                return
            self._server.forget_dead()
        try:
            conn, _ = self._sock.accept()
        except (
            BlockingIOError,
            InterruptedError,
            ConnectionAbortedError,
        ):  # another worker took it, or the client left
            self._held_since = None
            return
        except OSError as exc:  # e.g. out of file descriptors: look again a little later
            logger.warning("accept failed: %s", exc)
            self._unwatch()
            self._resume = self._loop.call_later(0.1, self._watch)
            return
        self._held_since = None
        conn.setblocking(False)
        self._server.accepting(+1)
        made = asyncio.ensure_future(self._loop.connect_accepted_socket(self._factory, conn))
        self._pending.add(made)
        made.add_done_callback(self._made)

    def _made(self, made: asyncio.Future[Any]) -> None:
        self._pending.discard(made)
        self._server.accepting(-1)
        if not made.cancelled() and made.exception() is not None:
            logger.warning("a connection could not be set up: %s", made.exception())

    # What uvicorn's shutdown calls on each of its servers.
    def close(self) -> None:
        self._closed = True
        self._unwatch()
        if self._resume is not None:
            self._resume.cancel()

    async def wait_closed(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


class BalancedServer(Server):
    """uvicorn's server with its listener replaced by `_Acceptor`s (see the module's docstring)."""

    def __init__(self, config: uvicorn.Config, balance: ConnectionBalance | None) -> None:
        super().__init__(config=config)
        self.balance = balance
        self.slot: int | None = None
        self._accepting = 0
        self.server_state: ServerState
        self.server_state.connections = _CountedConnections(self._publish)

    def connections(self) -> int:
        return len(self.server_state.connections) + self._accepting

    def accepting(self, change: int) -> None:
        self._accepting += change
        self._publish()

    def _publish(self) -> None:
        if self.balance is not None and self.slot is not None:
            self.balance.publish(self.slot, self.connections())

    def should_hold_back(self) -> bool:
        if self.balance is None or self.slot is None:
            return False
        fewest = self.balance.fewest_elsewhere(self.slot)
        return fewest is not None and self.connections() > fewest

    def forget_dead(self) -> None:
        if self.balance is not None:
            self.balance.forget_dead()

    def max_hold(self) -> float:
        return self.balance.max_hold if self.balance is not None else 0.0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            await super().startup(sockets=sockets)
            return
        # uvicorn's start-up (the lifespan, `started`) with no listener of its own, then ours.
        await super().startup(sockets=[])
        if not self.started:
            return
        if self.balance is not None:
            self.slot = self.balance.claim(os.getpid())
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        for sock in sockets:  # bound by the supervisor; listening is the loop's `create_server`'s part
            sock.listen(config.backlog)
        self.servers = [_Acceptor(self, sock, create_protocol) for sock in sockets]  # type: ignore[misc]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().shutdown(sockets=sockets)
        finally:
            if self.balance is not None and self.slot is not None:
                self.balance.release(self.slot)
                self.slot = None


class BalancedProcess(multiprocess.Process):
    """uvicorn's worker process, serving with `BalancedServer` (the balance set by `balanced_workers`)."""

    balance: ConnectionBalance | None = None

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        # Set before uvicorn's constructor hands `self.target` to the spawned process.
        self.balance = type(self).balance
        super().__init__(config, sockets)

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = BalancedServer(self.config, self.balance)
        return self._server


@contextmanager
def balanced_workers(workers: int, max_hold: float = MAX_HOLD_SECONDS) -> Iterator[ConnectionBalance]:
    """While inside, the worker processes uvicorn's supervisor starts serve with `BalancedServer`.

    Wraps `uvicorn.run(..., workers=N)` (in the supervisor process, which builds the worker
    processes; each spawned worker gets the shared `ConnectionBalance`). Room is left for a
    replacement beside each worker (uvicorn starts one before retiring the old on SIGHUP).
    """
    balance = ConnectionBalance(max(2, 2 * workers), max_hold)
    previous = multiprocess.Process
    BalancedProcess.balance = balance
    multiprocess.Process = BalancedProcess  # type: ignore[misc]
    try:
        yield balance
    finally:
        multiprocess.Process = previous  # type: ignore[misc]
        BalancedProcess.balance = None


def supported() -> bool:
    """Does the installed uvicorn's supervisor build its workers as `BalancedProcess` expects?"""
    import inspect

    try:
        process_parameters = list(inspect.signature(multiprocess.Process.__init__).parameters)
        startup_parameters = list(inspect.signature(Server.startup).parameters)
    except (TypeError, ValueError):
        return False
    return (
        process_parameters == ["self", "config", "sockets"]
        and startup_parameters == ["self", "sockets"]
        and isinstance(getattr(multiprocess.Process, "server", None), property)
    )
