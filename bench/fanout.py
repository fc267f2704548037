"""The subscription fan-out benchmark: live customer events from two `saas serve` processes to N subscribers.

    python -m bench.fanout [--subscribers 100] [--duration 10] [--rates 10,25,50,max]
                           [--concurrency 8] [--client-processes 2] [--no-compression]
                           [--websockets-client] [--client-nice N] [--client-gather-ms 1]
                           [--database saas_fanout] [--profile] [--json FILE] [--commit HEAD]

Steps: create (if missing) and migrate a small database (`saas_fanout` on the server of
`DATABASE_URL`, default the local PostgreSQL) with one tenant `fanout` and its owner
(`saas.accounts.service.create_tenant`); start TWO `saas serve --workers 1` processes on
two free loopback ports, same DATABASE_URL and REDIS_URL (default redis://127.0.0.1:6379/0);
log in over HTTP; optionally measure the mutation path alone (a baseline at max rate
with no subscriber); open N WebSocket subscribers (`graphql-transport-ws`, token in
`connection_init`) split evenly over the two servers, each running
`subscription { customerEvents { kind customerId committedAt } }`, in separate client processes
(asyncio with websockets' sans-I/O protocol for the handshake, then each message's frame cut
from the bytes by hand (`ServerFrames`, a compressed one inflated by the negotiated
permessage-deflate) and noted as it is read, its JSON parsed when collected; `--websockets-client` for websockets' asyncio client, a task
per subscriber parsing each message, the client before); wait until Redis shows N subscriptions on
the tenant's channel;
then for each rate of `--rates` a driver process POSTs `createCustomer` alternately to the
two servers (open-loop at a fixed rate, or closed-loop with `--concurrency` threads at
"max") for `--duration` seconds, and the run waits until every subscriber has every event
(or nothing new arrives for `--drain-timeout` s).

Measured per rate: mutations/s reached and their HTTP latency; events delivered per
second (all subscribers); completeness (every subscriber got every event: missing and
duplicates); latency from the mutation's send time to each delivery (p50/p90/p99/max,
joined by customer id), and from the commit: the receipt minus the event's `committedAt` (the
server's CLOCK_REALTIME as the commit returned; one machine, one clock), with the mutation's own
send -> commit time beside it (`--no-commit-time` for code before `committedAt`). The receipt is
the kernel's timestamp of the message's bytes in the subscriber's socket (`SO_TIMESTAMPNS`,
CLOCK_REALTIME; for a read that takes several messages, the last one's: never earlier than the
message arrived), so that a client process waiting for the CPU on the shared machine does not
add its wait; beside it the moment the client process read them, and where the time goes: the
servers' own stages from their /metrics histograms (commit -> read from Redis, read -> hand-off
begins and ends, commit -> last subscriber sent), how the results were handed (direct or
mailbox), the bytes left unread in the subscribers' sockets and unsent by the servers
(/proc/net/tcp every 0.2 s), and how late the client processes' event loops ran a 5 ms timer;
CPU (cores) of each server, the client processes, the driver, redis-server and the
database's PostgreSQL backends; the servers' memory (RSS idle, with subscribers, peak) and
their TCP connections to Redis, also after the subscribers close (a leak check). With
`--profile` (needs `py-spy`, or `--py-spy PATH`), one server is sampled during the last
rate and its busy time is split by package.

Everything started here (servers, client and driver processes) is stopped at the end,
also on error, Ctrl-C, SIGTERM or `--timeout`. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing as mp
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # `python bench/fanout.py`: import `bench` as a package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import orjson
import psutil

from bench.common import (
    LOGIN,
    PASSWORD,
    bench_url,
    make_settings,
    owner_email,
    percentile,
    redis_url,
    run_at_commit,
    server_url,
)

DEFAULT_FANOUT_DATABASE = "saas_fanout"
SLUG = "fanout"
PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = "subscription Fanout { customerEvents { kind customerId committedAt } }"
# For code before `committedAt` (`--no-commit-time`): latency from the mutation's send only.
SUBSCRIPTION_WITHOUT_COMMIT_TIME = "subscription Fanout { customerEvents { kind customerId } }"
CREATE_CUSTOMER = """mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { field code message } }
}"""
SERVERS = 2
IDLE_RECONNECT_S = 3.0


def log(message: str) -> None:
    print(f"[fanout] {message}", file=sys.stderr, flush=True)


# --- the database ------------------------------------------------------------------------------


def prepare_database(database: str, redis: str) -> str:
    """Create the database if missing, migrate it (idempotent), make sure the tenant exists; its id."""
    from sqlalchemy import create_engine, select, text
    from sqlalchemy.exc import DBAPIError

    from saas.accounts.models import Tenant
    from saas.accounts.service import create_tenant
    from saas.db.engine import create_app_engine, create_owner_engine, owner_url
    from saas.db.migrate import migrate
    from saas.errors import InputInvalid
    from saas.runtime import load_plugins
    from saas.tenancy.session import tenant_session

    admin = create_engine(owner_url(server_url()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
            if not exists:
                log(f"creating database {database!r}")
                conn.execute(text('CREATE DATABASE "' + database.replace('"', '""') + '"'))
    finally:
        admin.dispose()
    url = bench_url(database)
    settings = make_settings(url, redis)
    owner = create_owner_engine(url)
    try:
        for attempt in range(5):
            try:
                migrate(owner, settings, load_plugins())
                break
            except DBAPIError as error:  # e.g. another migration altering the shared app role at once
                if attempt == 4:
                    raise
                log(f"migrate failed ({str(error.orig or error).strip()[:80]}); again in 2 s")
                time.sleep(2)
    finally:
        owner.dispose()
    app = create_app_engine(settings, url)
    try:
        try:
            return str(create_tenant(app, SLUG, "Fan-out benchmark", owner_email(SLUG), PASSWORD).id)
        except InputInvalid:  # the slug is taken: made by an earlier run
            with tenant_session(app, None) as session:
                return str(session.scalar(select(Tenant.id).where(Tenant.slug == SLUG)))
    finally:
        app.dispose()


# --- helpers shared with bench.run (imported lazily: bench.run imports a lot) ----------------


def _run_module() -> Any:
    import bench.run as run_module

    return run_module


def login(port: int) -> str:
    run_module = _run_module()
    client = run_module.HttpClient(port)
    try:
        body = orjson.dumps(
            {"query": LOGIN, "variables": {"input": {"email": owner_email(SLUG), "password": PASSWORD, "tenant": SLUG}}}
        )
        status, payload = client.post("/graphql", body, run_module.graphql_headers(None))
    finally:
        client.close()
    token = ((orjson.loads(payload).get("data") or {}).get("login") or {}).get("token")
    if status != 200 or not token:
        raise RuntimeError(f"login failed ({status}): {payload[:500]!r}")
    return token


# --- the subscribers (client processes) -----------------------------------------------------


def subscriber_process(
    targets: list[tuple[int, int]],
    token: str,
    compression: bool,
    conn: Any,
    connect_timeout: float,
    query: str,
    lean: bool = True,
    gather: float = 0.0,
) -> None:
    """Entry of a client process: `targets` are (subscriber index, port). Commands come over `conn`.

    `lean`: each subscriber is a plain asyncio protocol around websockets' sans-I/O client, which
    notes each message's frame as it is read and parses the JSON only when the receipts are
    collected (`_lean_subscribers`); otherwise websockets' asyncio client with a task per
    subscriber that parses each message as it comes (`_subscribers`, the client before)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (Ctrl-C reaches the whole group)
    try:
        with asyncio.Runner(loop_factory=lambda: _stamping_loop(gather)) as runner:
            if lean:
                runner.run(_lean_subscribers(targets, token, compression, conn, connect_timeout, query))
            else:
                runner.run(_subscribers(targets, token, compression, conn, connect_timeout, query))
    except Exception as error:  # the parent waits for a reply: tell it
        try:
            conn.send(("failed", repr(error)))
        except Exception:
            pass


class _GatheringSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """A selector that, when a wait ends with sockets ready, waits `gather` seconds more and
    answers everything ready then: one wake-up of the client process for the messages of many
    subscribers (a server writes an event's to its subscribers one after the other), instead of
    one per message, each a context switch on the CPU the servers share. The receipt is the
    kernel's timestamp of the bytes in the socket (`_stamping_loop`), which the later read does
    not change; the client's own read moment and its event loop's lag grow by up to `gather`.
    A poll (timeout 0: the loop has work ready) is answered at once."""

    def __init__(self, gather: float) -> None:
        super().__init__()
        self.gather = gather

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(timeout)
        if ready and timeout != 0:
            time.sleep(self.gather)
            ready = super().select(0)
        return ready  # type: ignore[no-any-return]


def _stamping_loop(gather: float = 0.0) -> asyncio.AbstractEventLoop:
    """An asyncio event loop whose TCP sockets note, for each read, when its bytes reached the
    socket: the kernel's receive timestamp (`SO_TIMESTAMPNS`, CLOCK_REALTIME), handed to the
    protocol as `kernel_received_at` before its `data_received`. On loopback that is the moment
    the server's send wrote them, whenever this (client) process next gets the CPU to read them:
    a subscriber's latency that its own process's scheduling does not add to. Where the platform
    has no such timestamp, the attribute is None. With `gather` (seconds), a wait that ends
    with sockets ready waits that much more and takes all of them at once (`_GatheringSelector`)."""
    from asyncio import selector_events

    # Python names no SO_TIMESTAMPNS; Linux's is 35 (asm-generic/socket.h). The kernel turns
    # receive timestamps on shortly after the first socket asks (the subscribers connect
    # seconds before any phase).
    timestamp_option = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
    ancillary = socket.CMSG_SPACE(16) if timestamp_option is not None else 0

    class Transport(selector_events._SelectorSocketTransport):  # type: ignore[name-defined,misc]
        def _read_ready__data_received(self) -> None:
            if self._conn_lost:
                return
            try:
                data, cmsgs, _, _ = self._sock.recvmsg(self.max_size, ancillary)
            except (BlockingIOError, InterruptedError):
                return
            except Exception as exc:
                self._fatal_error(exc, "Fatal read error on socket transport")
                return
            if not data:
                self._read_ready__on_eof()
                return
            stamp = None
            for level, kind, value in cmsgs:
                if level == socket.SOL_SOCKET and kind == timestamp_option and len(value) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    stamp = seconds + nanoseconds / 1e9
            self._protocol.kernel_received_at = stamp
            try:
                self._protocol.data_received(data)
            except Exception as exc:
                self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    class Loop(asyncio.SelectorEventLoop):
        def __init__(self) -> None:
            super().__init__(_GatheringSelector(gather) if gather > 0 else None)

        def _make_socket_transport(self, sock: Any, protocol: Any, waiter: Any = None, *, extra: Any = None,
                                   server: Any = None) -> Any:  # fmt: skip
            if timestamp_option is not None and sock.type == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, timestamp_option, 1)
                return Transport(self, sock, protocol, waiter, extra, server)
            return super()._make_socket_transport(sock, protocol, waiter, extra=extra, server=server)

    return Loop()


class ServerFrames:
    """Whole frames of a WebSocket server cut from its TCP stream as the bytes arrive: for a
    subscriber after the handshake, where a message costs a few byte reads and a slice instead
    of websockets' frame parser (a generator per frame, the extensions' pass, an event list),
    the client's own CPU being CPU the servers it measures do not get. A compressed frame
    (RSV1) is cut as it is: the caller inflates it.

    `cut(data)` answers the frames completed by `data`, in order, each as (its first byte:
    FIN, RSV and opcode, e.g. 0x81 for a whole text message, 0x89 for a ping; its payload);
    a partial frame waits for the next bytes. A server's frames are unmasked (RFC 6455 §5.2,
    §5.1): a masked one raises ValueError."""

    __slots__ = ("rest",)

    def __init__(self) -> None:
        self.rest = b""

    def cut(self, data: bytes) -> list[tuple[int, bytes]]:
        if self.rest:
            data = self.rest + data
        frames: list[tuple[int, bytes]] = []
        at, size = 0, len(data)
        while size - at >= 2:
            first, length = data[at], data[at + 1]
            if length < 126:
                start = at + 2
            elif length == 126:
                if size - at < 4:
                    break
                length, start = (data[at + 2] << 8) | data[at + 3], at + 4
            elif length == 127:
                if size - at < 10:
                    break
                length, start = int.from_bytes(data[at + 2 : at + 10], "big"), at + 10
            else:
                raise ValueError("a masked frame from the server")
            end = start + length
            if end > size:
                break
            frames.append((first, data[start:end]))
            at = end
        self.rest = data[at:] if at < size else b""
        return frames


def pong_frame(payload: bytes) -> bytes:
    """A client's pong answering a ping with `payload` (under 126 bytes, as a control frame's
    is): masked, as a client's frames must be, by the key 0 (RFC 6455 §5.3 asks for an
    unpredictable key against proxies' caches; the servers measured here read any key)."""
    return bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload


class _LoopLags:
    """How late this process's event loop runs a timer of 5 ms: its own wait for the CPU and its
    backlog of callbacks, which every receipt taken in this process shares."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(0.005)
            self.lags.append(loop.time() - asked - 0.005)

    def take(self) -> list[float]:
        taken, self.lags = self.lags, []
        return taken


async def _answer_driver(conn: Any, count: Any, collect: Any, lags: _LoopLags) -> None:
    """Answer the driver's commands on `conn` (`count`, `collect`, `loop lags`) until it says
    `stop` or goes away: the same for either client."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            command = await loop.run_in_executor(None, conn.recv)
        except (EOFError, OSError):
            return
        if command == "count":
            conn.send(count())
        elif command == "collect":
            conn.send(collect())
        elif command == "loop lags":
            conn.send(lags.take())
        elif command == "stop":
            return


async def _lean_subscribers(
    targets: list[tuple[int, int]], token: str, compression: bool, conn: Any, connect_timeout: float, query: str
) -> None:
    """The subscribers of one client process, doing as little per message as a receipt needs.

    The process shares the machine's CPU with the servers it measures: every wake-up and every
    microsecond it spends per message is a wait for a later receipt in this process (and CPU
    the servers do not get). Here a message costs, in the read's own callback, a frame cut from
    the bytes (`ServerFrames`, once the ack has come; a compressed message, which the servers
    send only above 1 KiB, is inflated by the negotiated permessage-deflate) and an append; no
    task wakes per message. A ping is answered at once. The receipts (and any unexpected
    message) are read when collected, every one of them: loss, duplication and latency are
    checked as before."""
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import PerMessageDeflate, enable_client_permessage_deflate
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Response
    from websockets.uri import parse_uri

    loop = asyncio.get_running_loop()
    # Per subscriber: (read: CLOCK_MONOTONIC, read: CLOCK_REALTIME, in the socket: CLOCK_REALTIME, text)
    frames: dict[int, list[tuple[float, float, float, bytes]]] = {j: [] for j, _ in targets}
    problems: list[str] = []
    closed_early: set[int] = set()
    stopping = False
    init = orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    subscribe = orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})

    class Subscriber(asyncio.Protocol):
        kernel_received_at: float | None = None  # set by `_stamping_loop`'s transport before each read

        def __init__(self, j: int, port: int) -> None:
            self.j = j
            self.ws = ClientProtocol(
                parse_uri(f"ws://127.0.0.1:{port}/graphql"),
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                extensions=enable_client_permessage_deflate(None) if compression else None,
                max_size=2**20,
            )
            self.opened: asyncio.Future[None] = loop.create_future()
            self.first: asyncio.Future[bytes] = loop.create_future()  # the first message: the ack
            self.mine = frames[j]
            self.transport: Any = None
            # After the ack, without extensions: the frames cut here (`ServerFrames`), not by websockets.
            self.cutter: ServerFrames | None = None

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.ws.send_request(self.ws.connect())
            self.flush()

        def flush(self) -> None:
            data = self.ws.data_to_send()
            if data and not self.transport.is_closing():
                self.transport.write(b"".join(data))

        def send(self, text: bytes) -> None:
            self.ws.send_text(text)
            self.flush()

        def data_received(self, data: bytes) -> None:
            wall, read, kernel = time.time(), time.monotonic(), self.kernel_received_at
            in_socket = kernel if kernel is not None else wall
            cutter = self.cutter
            if cutter is not None:
                try:
                    cut = cutter.cut(data)
                except ValueError as error:
                    problems.append(f"subscriber {self.j}: {error}")
                    self.transport.close()
                    return
                for first, payload in cut:
                    if first == 0x81:
                        self.mine.append((read, wall, in_socket, payload))
                    elif first == 0xC1:  # compressed (RSV1): inflated by the extension, in order (RFC 7692)
                        frame = Frame(Opcode.TEXT, payload, rsv1=True)
                        for extension in reversed(self.ws.extensions):
                            frame = extension.decode(frame)
                        self.mine.append((read, wall, in_socket, bytes(frame.data)))
                    elif first == 0x89:
                        self.transport.write(pong_frame(payload))
                    elif first != 0x8A:  # a pong is nothing to answer
                        problems.append(f"subscriber {self.j}: unexpected frame {first:#x} {payload[:100]!r}"[:300])
                return
            self.ws.receive_data(data)
            for event in self.ws.events_received():
                if isinstance(event, Frame):
                    if event.opcode is Opcode.TEXT and event.fin:
                        if self.first.done():
                            self.mine.append((read, wall, in_socket, bytes(event.data)))
                        else:
                            self.first.set_result(bytes(event.data))
                            # The ack: nothing more comes before the subscribe. From here on, the
                            # frames are cut by hand if the only extension is permessage-deflate
                            # (whose compressed messages it still inflates, and whose small ones the
                            # servers send as they are) and no byte of a next frame is waiting in
                            # websockets' reader.
                            if not self.ws.reader.buffer and all(
                                isinstance(e, PerMessageDeflate) for e in self.ws.extensions
                            ):
                                self.cutter = ServerFrames()
                    elif event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                        problems.append(f"subscriber {self.j}: unexpected frame {event.opcode.name}"[:300])
                elif isinstance(event, Response) and not self.opened.done():
                    if self.ws.handshake_exc is not None:
                        self.opened.set_exception(self.ws.handshake_exc)
                    else:
                        self.opened.set_result(None)
            self.flush()

        def connection_lost(self, exc: Exception | None) -> None:
            if not stopping:
                closed_early.add(self.j)
                problems.append(f"subscriber {self.j}: connection closed: {exc!r}"[:300])
            for future in (self.opened, self.first):
                if not future.done():
                    future.set_exception(ConnectionError(f"subscriber {self.j}: connection closed"))

    gate = asyncio.Semaphore(20)

    async def open_one(j: int, port: int) -> Subscriber:
        async with gate:
            _, subscriber = await asyncio.wait_for(
                loop.create_connection(lambda: Subscriber(j, port), "127.0.0.1", port), connect_timeout
            )
            await asyncio.wait_for(subscriber.opened, connect_timeout)
            subscriber.send(init)
            ack = orjson.loads(await asyncio.wait_for(subscriber.first, connect_timeout))
            if ack.get("type") != "connection_ack":
                subscriber.transport.close()
                raise RuntimeError(f"subscriber {j}: expected connection_ack, got {ack}")
            subscriber.send(subscribe)
            return subscriber

    def collect() -> dict[int, list[tuple[str, float, float, str | None, float, float, float]]]:
        batch: dict[int, list[tuple[str, float, float, str | None, float, float, float]]] = {}
        for j, mine in frames.items():
            out = batch[j] = []
            for read, wall, in_socket, text in mine:
                message = orjson.loads(text)
                kind = message.get("type")
                payload = message.get("payload") or {}
                data = payload.get("data") if kind == "next" else None
                if kind == "next" and data and not payload.get("errors"):
                    event = data["customerEvents"]
                    out.append((event["customerId"], read, wall, event.get("committedAt"), read, wall, in_socket))
                else:
                    problems.append(f"subscriber {j}: {message}"[:300])
                    if kind in ("error", "complete"):
                        closed_early.add(j)
            mine.clear()
        return batch

    lags = _LoopLags()
    opened_or_not = await asyncio.gather(*(open_one(j, port) for j, port in targets), return_exceptions=True)
    failures = [repr(s) for s in opened_or_not if isinstance(s, BaseException)]
    opened = [s for s in opened_or_not if not isinstance(s, BaseException)]
    conn.send(("ready", len(opened), failures[:5]))
    try:
        await _answer_driver(
            conn, lambda: (sum(len(f) for f in frames.values()), len(closed_early), problems[-5:]), collect, lags
        )
    finally:
        stopping = True
        lags.task.cancel()
        for subscriber in opened:
            subscriber.transport.close()
        await asyncio.sleep(0.1)
        try:
            conn.send(("stopped", len(problems), problems[:10]))
        except Exception:
            pass


async def _subscribers(
    targets: list[tuple[int, int]], token: str, compression: bool, conn: Any, connect_timeout: float, query: str
) -> None:
    import websockets
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.frames import Frame, Opcode

    class StampedConnection(ClientConnection):
        """Notes when each message's last frame reached this process (the bytes read from the
        socket, before websockets parses them): the receipt time that this process's own
        backlog of parsing and waking consumers does not delay."""

        kernel_received_at: float | None = None  # set by `_stamping_loop`'s transport before each read

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Per message: (read: CLOCK_MONOTONIC, read: CLOCK_REALTIME, in the socket: CLOCK_REALTIME)
            self.arrivals: deque[tuple[float, float, float]] = deque()
            self._chunk_at = (0.0, 0.0, 0.0)

        def data_received(self, data: bytes) -> None:
            wall = time.time()
            kernel = self.kernel_received_at
            self._chunk_at = (time.monotonic(), wall, kernel if kernel is not None else wall)
            super().data_received(data)

        def process_event(self, event: Any) -> None:
            if isinstance(event, Frame) and event.fin and event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self.arrivals.append(self._chunk_at)
            super().process_event(event)

    # (customer id, received: CLOCK_MONOTONIC, received: CLOCK_REALTIME, the event's committedAt or None,
    # its bytes read from the socket: CLOCK_MONOTONIC, CLOCK_REALTIME)
    receipts: dict[int, list[tuple[str, float, float, str | None, float, float]]] = {j: [] for j, _ in targets}
    problems: list[str] = []
    closed_early: set[int] = set()
    stopping = asyncio.Event()
    init = orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}).decode()
    subscribe = orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
    gate = asyncio.Semaphore(20)

    async def open_one(j: int, port: int) -> Any:
        async with gate:
            ws = await connect(
                f"ws://127.0.0.1:{port}/graphql",
                subprotocols=[PROTOCOL],
                compression="deflate" if compression else None,
                ping_interval=None,
                open_timeout=connect_timeout,
                max_size=2**20,
                create_connection=StampedConnection,
            )
            await ws.send(init)
            ack = orjson.loads(await asyncio.wait_for(ws.recv(), connect_timeout))
            ws.arrivals.clear()  # the ack's; nothing else comes before the subscription's results
            if ack.get("type") != "connection_ack":
                await ws.close()
                raise RuntimeError(f"subscriber {j}: expected connection_ack, got {ack}")
            await ws.send(subscribe)
            return ws

    async def consume(j: int, ws: Any) -> None:
        mine = receipts[j]
        try:
            arrivals = ws.arrivals
            async for raw in ws:
                now, wall = time.monotonic(), time.time()
                arrived, arrived_wall, in_socket = arrivals.popleft() if arrivals else (now, wall, wall)
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    payload = message.get("payload") or {}
                    data = payload.get("data")
                    if payload.get("errors") or not data:
                        problems.append(f"subscriber {j}: next with errors: {payload}"[:300])
                        continue
                    event = data["customerEvents"]
                    mine.append(
                        (event["customerId"], now, wall, event.get("committedAt"), arrived, arrived_wall, in_socket)
                    )
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                else:
                    problems.append(f"subscriber {j}: {message}"[:300])
                    if kind in ("error", "complete"):
                        closed_early.add(j)
                        return
        except websockets.ConnectionClosed as closed:
            if not stopping.is_set():
                closed_early.add(j)
                problems.append(f"subscriber {j}: connection closed: {closed}"[:300])

    def collect() -> dict[int, list[Any]]:
        # Single-threaded loop: no receipt is added between the copy and the clear.
        batch = {j: list(r) for j, r in receipts.items()}
        for r in receipts.values():
            r.clear()
        return batch

    lags = _LoopLags()
    sockets = await asyncio.gather(*(open_one(j, port) for j, port in targets), return_exceptions=True)
    failures = [repr(s) for s in sockets if isinstance(s, BaseException)]
    opened = [(j, s) for (j, _), s in zip(targets, sockets, strict=True) if not isinstance(s, BaseException)]
    consumers = [asyncio.create_task(consume(j, ws)) for j, ws in opened]
    conn.send(("ready", len(opened), failures[:5]))

    try:
        await _answer_driver(
            conn, lambda: (sum(len(r) for r in receipts.values()), len(closed_early), problems[-5:]), collect, lags
        )
    finally:
        stopping.set()
        lags.task.cancel()
        await asyncio.gather(*(asyncio.wait_for(ws.close(), 5) for _, ws in opened), return_exceptions=True)
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        try:
            conn.send(("stopped", len(problems), problems[:10]))
        except Exception:
            pass


@dataclass
class ClientProcess:
    process: Any
    conn: Any
    subscribers: list[int]

    def ask(self, command: str, timeout: float = 60.0) -> Any:
        self.conn.send(command)
        if not self.conn.poll(timeout):
            raise RuntimeError(f"client process {self.process.pid} did not answer {command!r} within {timeout:g} s")
        return self.conn.recv()

    def stop(self) -> None:
        try:
            if self.process.is_alive():
                self.conn.send("stop")
                if self.conn.poll(15):
                    self.conn.recv()
        except (OSError, EOFError, BrokenPipeError):
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


def start_clients(
    ctx: Any,
    ports: list[int],
    subscribers: int,
    processes: int,
    token: str,
    compression: bool,
    query: str,
    nice: int = 0,
    lean: bool = True,
    gather: float = 0.0,
) -> list[ClientProcess]:
    """Subscriber j goes to server j % 2 and to client process j % processes."""
    clients: list[ClientProcess] = []
    for p in range(processes):
        targets = [(j, ports[j % len(ports)]) for j in range(subscribers) if j % processes == p]
        if not targets:
            continue
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=subscriber_process,
            args=(targets, token, compression, child, 20.0, query, lean, gather),
            name=f"fanout-subscribers-{p}",
            daemon=True,
        )
        process.start()
        child.close()
        clients.append(ClientProcess(process, parent, [j for j, _ in targets]))
    if nice:
        for client in clients:
            try:
                os.setpriority(os.PRIO_PROCESS, client.process.pid, nice)
            except OSError as error:  # not permitted: the clients run at the default priority
                log(f"--client-nice {nice}: {error}; the client processes keep the default priority")
                break
    for client in clients:
        if not client.conn.poll(90):
            raise RuntimeError("subscribers did not connect within 90 s")
        reply = client.conn.recv()
        if reply[0] != "ready" or reply[2]:
            raise RuntimeError(f"subscribers failed to connect: {reply}")
    return clients


# --- the mutation driver (a process) ------------------------------------------------------------


def driver_process(
    ports: list[int], token: str, rate: float, duration: float, concurrency: int, label: str, conn: Any
) -> None:
    """createCustomer alternately on the servers: `rate` per second (open loop) or as fast as possible (0).

    Sends back a list of (k, server index, scheduled, sent, done, customer id or None, error or None,
    sent by CLOCK_REALTIME); the other times are CLOCK_MONOTONIC.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_module = _run_module()
    headers = run_module.graphql_headers(token)
    records: list[tuple[Any, ...]] = []
    lock = threading.Lock()
    counter = [0]
    start = time.monotonic() + 0.3
    end = start + duration
    total = round(rate * duration) if rate else None

    def worker() -> None:
        clients = [run_module.HttpClient(port) for port in ports]
        last_used = [time.monotonic()] * len(ports)
        mine: list[tuple[Any, ...]] = []
        while True:
            with lock:
                k = counter[0]
                counter[0] += 1
            if total is not None:
                if k >= total:
                    break
                scheduled = start + k / rate
            else:
                scheduled = max(start, time.monotonic())
                if scheduled >= end:
                    break
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            server = k % len(ports)
            sent, sent_wall = time.monotonic(), time.time()
            body = orjson.dumps(
                {"query": CREATE_CUSTOMER, "variables": {"input": {"name": f"fanout {label} #{k} sent {sent:.6f}"}}}
            )
            cid, error = None, None
            try:
                if sent - last_used[server] > IDLE_RECONNECT_S:  # uvicorn closes idle keep-alives after 5 s
                    clients[server].close()
                    clients[server] = run_module.HttpClient(ports[server])
                try:
                    status, payload = clients[server].post("/graphql", body, headers)
                except (BrokenPipeError, http.client.RemoteDisconnected):
                    # Closed by the server while idle: the request was not processed; once more.
                    clients[server].close()
                    clients[server] = run_module.HttpClient(ports[server])
                    status, payload = clients[server].post("/graphql", body, headers)
                last_used[server] = time.monotonic()
                result = orjson.loads(payload)
                created = ((result.get("data") or {}).get("createCustomer") or {}).get("customer")
                if status == 200 and created and not result.get("errors"):
                    cid = created["id"]
                else:
                    error = f"{status}: {payload[:200]!r}"
            except Exception as exc:
                error = repr(exc)[:200]
                clients[server].close()
                clients[server] = run_module.HttpClient(ports[server])
            mine.append((k, server, scheduled, sent, time.monotonic(), cid, error, sent_wall))
        for client in clients:
            client.close()
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    conn.send(records)


def run_driver(ctx: Any, ports: list[int], token: str, rate: float, args: argparse.Namespace, label: str) -> Any:
    parent, child = ctx.Pipe()
    process = ctx.Process(
        target=driver_process,
        args=(ports, token, rate, args.duration, args.concurrency, label, child),
        name="fanout-driver",
        daemon=True,
    )
    process.start()
    child.close()
    return process, parent


def finish_driver(process: Any, conn: Any, timeout: float) -> list[tuple[Any, ...]]:
    try:
        if not conn.poll(timeout):
            raise RuntimeError(f"the mutation driver did not finish within {timeout:g} s")
        return conn.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(5)


# --- CPU, memory, connections ------------------------------------------------------------------


def redis_server_pid(redis: str) -> int | None:
    from urllib.parse import urlparse

    port = urlparse(redis).port or 6379
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("redis-server"):
            try:
                if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in p.net_connections("tcp")):
                    return p.pid
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
    return None


@dataclass
class Groups:
    """The processes whose CPU is measured, by group name."""

    servers: list[Any]
    clients: list[ClientProcess]
    database: str
    redis_pid: int | None
    driver_pid: int | None = None

    def pids(self) -> dict[int, str]:
        groups: dict[int, str] = {}
        for index, server in enumerate(self.servers):
            for p in server.tree():
                groups[p.pid] = f"server {'AB'[index]}"
        for client in self.clients:
            groups[client.process.pid] = "subscribers"
        if self.driver_pid is not None:
            groups[self.driver_pid] = "driver"
        if self.redis_pid is not None:
            groups[self.redis_pid] = "redis"
        marker = f" {self.database} "
        for p in psutil.process_iter(["cmdline"]):
            try:
                cmdline = " ".join(p.info["cmdline"] or [])
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if p.pid not in groups and cmdline.startswith("postgres:") and marker in cmdline + " ":
                groups[p.pid] = "postgres"
        return groups


def cpu_seconds(groups: dict[int, str]) -> dict[int, tuple[str, float]]:
    snapshot = {}
    for pid, group in groups.items():
        try:
            t = psutil.Process(pid).cpu_times()
            snapshot[pid] = (group, t.user + t.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return snapshot


class CpuWatch:
    """CPU seconds per group between start and stop; processes that exit keep their last reading."""

    ORDER = ("server A", "server B", "subscribers", "driver", "redis", "postgres")

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.before: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()

    def start(self) -> None:
        self.before = cpu_seconds(self.groups.pids())
        self.busy_before = _busy()
        self.started = time.monotonic()
        self.last = dict(self.before)
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            self.last.update(cpu_seconds(self.groups.pids()))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self.thread.join()
        self.last.update(cpu_seconds(self.groups.pids()))
        seconds = time.monotonic() - self.started
        used = {name: 0.0 for name in self.ORDER}
        for pid, (group, secs) in self.last.items():
            used[group] = used.get(group, 0.0) + max(0.0, secs - self.before.get(pid, (group, 0.0))[1])
        used["everything else"] = max(0.0, _busy() - self.busy_before - sum(used.values()))
        self.seconds_used = dict(used)
        return {k: v / seconds for k, v in used.items()}


def _busy() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def rss_mib(server: Any) -> float:
    total = 0
    for p in server.tree():
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def redis_connections(server: Any, redis: str) -> int:
    """TCP connections from the server's processes to Redis."""
    from urllib.parse import urlparse

    port = urlparse(redis).port or 6379
    count = 0
    for p in server.tree():
        try:
            count += sum(1 for c in p.net_connections("tcp") if c.raddr and c.raddr.port == port)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return count


def redis_connections_by_command(server: Any, client: Any, redis: str) -> dict[str, int]:
    """The server's connections as Redis sees them, by their last command (CLIENT LIST `cmd`)."""
    from urllib.parse import urlparse

    port = urlparse(redis).port or 6379
    local: set[int] = set()
    for p in server.tree():
        try:
            local.update(c.laddr.port for c in p.net_connections("tcp") if c.raddr and c.raddr.port == port)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    counts: Counter[str] = Counter()
    for row in client.client_list():
        if int(str(row.get("addr", ":0")).rpartition(":")[2] or 0) in local:
            counts[str(row.get("cmd"))] += 1
    return dict(counts)


def redis_info(redis: str) -> Any:
    import redis as redis_lib

    return redis_lib.Redis.from_url(redis)


def socket_queues(ports: list[int]) -> tuple[int, int]:
    """Bytes waiting in the subscribers' sockets unread by their client process (receive queues of
    the connections to the servers' ports), and bytes the servers have written that the kernel
    has not yet handed over (their send queues), from /proc/net/tcp; (0, 0) where it is missing."""
    wanted = {f"{port:04X}" for port in ports}
    unread = unsent = 0
    try:
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                if len(fields) < 5 or fields[3] != "01":  # ESTABLISHED only
                    continue
                tx, rx = (int(x, 16) for x in fields[4].split(":"))
                if fields[2].rpartition(":")[2] in wanted:
                    unread += rx
                elif fields[1].rpartition(":")[2] in wanted:
                    unsent += tx
    except OSError:
        pass
    return unread, unsent


class QueueWatch:
    """`socket_queues` every 0.2 s from start to stop: the largest and the median of each."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append(socket_queues(self.ports))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self.thread.join()
        if not self.samples:
            return {}
        unread = sorted(u for u, _ in self.samples)
        unsent = sorted(t for _, t in self.samples)
        return {
            "unread_kib_p50": unread[len(unread) // 2] / 1024,
            "unread_kib_max": unread[-1] / 1024,
            "unsent_kib_p50": unsent[len(unsent) // 2] / 1024,
            "unsent_kib_max": unsent[-1] / 1024,
        }


def wait_listening(ports: list[int], wanted: int, timeout: float) -> int:
    """Until the servers' subscribers (from /metrics) add up to `wanted`: `live_subscribers`, the
    subscribers of shared streams (`saas/schema/fanout.py`, one listener per stream), or, from
    servers without it, `realtime_listeners`."""
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        total = 0
        for port in ports:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            values: dict[str, int] = {}
            for line in text.splitlines():
                name = line.split(" ", 1)[0]
                if name in ("live_subscribers", "realtime_listeners"):
                    values[name] = values.get(name, 0) + int(float(line.split()[-1]))
            total += values.get("live_subscribers", values.get("realtime_listeners", 0))
        if total >= wanted:
            return total
        time.sleep(0.1)
    raise RuntimeError(f"only {total} of {wanted} subscriptions listening after {timeout:g} s")


def wait_subscribed(client: Any, channel: str, wanted: int, timeout: float) -> int:
    """Until Redis counts `wanted` subscriptions on the channel (one per server process)."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
        if count >= wanted:
            return count
        time.sleep(0.1)
    raise RuntimeError(f"only {count} of {wanted} subscriptions on {channel} after {timeout:g} s")


# --- one phase -----------------------------------------------------------------------------------


def rate_label(rate: float) -> str:
    return "max" if not rate else f"{rate:g}/s"


def wait_drained(clients: list[ClientProcess], expected: int, stall: float, cap: float) -> tuple[int, float]:
    """Until the client processes hold `expected` receipts, or nothing new for `stall` s (cap `cap` s)."""
    started = time.monotonic()
    last_total, last_change = -1, started
    while True:
        total = sum(c.ask("count")[0] for c in clients)
        now = time.monotonic()
        if total >= expected:
            return total, now - started
        if total != last_total:
            last_total, last_change = total, now
        elif now - last_change >= stall or now - started >= cap:
            return total, now - started
        time.sleep(0.05)


def run_phase(
    ctx: Any,
    label: str,
    rate: float,
    servers: list[Any],
    token: str,
    clients: list[ClientProcess],
    subscriber_server: dict[int, int],
    groups: Groups,
    args: argparse.Namespace,
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ports = [s.port for s in servers]
    subscribers = len(subscriber_server)
    for c in clients:  # receipts that belong to no phase (there should be none)
        c.ask("collect")
    stages_before = scrape_stages(ports)
    handed_before = scrape_handed(ports)
    for c in clients:
        c.ask("loop lags")
    process, conn = run_driver(ctx, ports, token, rate, args, label)
    groups.driver_pid = process.pid
    watch = CpuWatch(groups)
    watch.start()
    queues = QueueWatch(ports)
    queues.start()
    profiler = None
    if profile is not None:
        profiler = start_profile(profile, servers[0], args)
    records = finish_driver(process, conn, args.duration + 120)
    ok = [r for r in records if r[5] is not None]
    errors = [r for r in records if r[5] is None]
    expected = len(ok) * subscribers
    received_before_drain = sum(c.ask("count")[0] for c in clients)
    total, drain_wait = wait_drained(clients, expected, args.drain_timeout, args.drain_timeout * 6)
    cpu = watch.stop()
    socket_backlog = queues.stop()
    cpu_seconds_used = watch.seconds_used
    window = time.monotonic() - watch.started
    groups.driver_pid = None
    if profiler is not None:
        finish_profile(profiler, profile)
    loop_lags = sorted(x * 1000 for c in clients for x in c.ask("loop lags"))  # before collecting blocks them
    batches = [c.ask("collect", 120) for c in clients]

    sends = {r[5]: r for r in ok}
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {"same server": [], "other server": []}
    # From the commit: the receipt's CLOCK_REALTIME minus the event's committedAt (the server's
    # CLOCK_REALTIME as the commit returned), both read on this machine.
    commit_latencies: list[float] = []
    commit_by_path: dict[str, list[float]] = {"same server": [], "other server": []}
    # Receipt is the moment the message's bytes were in the subscriber's socket (the kernel's
    # timestamp): on one machine, what the servers' work alone decides. Beside it, from the same
    # sends and commits: when the client process read them ("read"), and when the websockets
    # library handed the message over, parsed, to the subscriber's task ("parsed": the measure
    # before these two), both later by the client processes' own waits for the CPU.
    read_latencies: list[float] = []
    parsed_latencies: list[float] = []
    commit_read_latencies: list[float] = []
    commit_parsed_latencies: list[float] = []
    committed: dict[str, float] = {}  # customer id -> commit time (epoch seconds)
    first_receipt, last_receipt = float("inf"), 0.0
    duplicates = unexpected = 0
    missing_by_subscriber: dict[int, int] = {}
    for batch in batches:
        for j, receipts in batch.items():
            seen: set[str] = set()
            for cid, parsed, parsed_wall, committed_at, read, read_wall, wall in receipts:
                sent = sends.get(cid)
                if sent is None:
                    unexpected += 1
                    continue
                if cid in seen:
                    duplicates += 1
                    continue
                seen.add(cid)
                latency = wall - sent[7]
                t = sent[3] + latency  # the receipt on the driver's CLOCK_MONOTONIC
                latencies.append(latency)
                read_latencies.append(read - sent[3])
                parsed_latencies.append(parsed - sent[3])
                path = "same server" if sent[1] == subscriber_server[j] else "other server"
                by_path[path].append(latency)
                if committed_at is not None:
                    at = committed.get(cid)
                    if at is None:
                        at = committed[cid] = datetime.fromisoformat(committed_at).timestamp()
                    commit_latencies.append(wall - at)
                    commit_by_path[path].append(wall - at)
                    commit_read_latencies.append(read_wall - at)
                    commit_parsed_latencies.append(parsed_wall - at)
                first_receipt = min(first_receipt, t)
                last_receipt = max(last_receipt, t)
            missing = len(sends) - len(seen)
            if missing:
                missing_by_subscriber[j] = missing
    delivered = len(latencies)
    latencies.sort()
    commit_latencies.sort()
    for values in (read_latencies, parsed_latencies, commit_read_latencies, commit_parsed_latencies):
        values.sort()
    # The mutation's own part: from its send to its commit (CLOCK_REALTIME both).
    send_to_commit = sorted((committed[r[5]] - r[7]) * 1000 for r in ok if r[5] in committed)
    first_send = min((r[3] for r in ok), default=0.0)
    last_done = max((r[4] for r in ok), default=0.0)
    mutation_ms = sorted((r[4] - r[3]) * 1000 for r in ok)
    lag = sorted(max(0.0, r[3] - r[2]) * 1000 for r in records) if rate else []
    send_span = max(1e-9, last_done - first_send)
    server_cpu = cpu_seconds_used["server A"] + cpu_seconds_used["server B"]
    result = {
        "phase": label,
        "target_rate": rate or None,
        "subscribers": subscribers,
        "mutations": len(ok),
        "mutation_errors": len(errors),
        "mutation_error_samples": [r[6] for r in errors[:3]],
        "mutations_per_s": len(ok) / send_span,
        "mutation_ms": _pcts(mutation_ms),
        "send_lag_ms_p99": percentile(lag, 99) if lag else None,
        "expected_deliveries": expected,
        "delivered": delivered,
        "missing": expected - delivered,
        "subscribers_missing_events": len(missing_by_subscriber),
        "duplicates": duplicates,
        "unexpected": unexpected,
        "received_when_sending_ended": received_before_drain,
        "deliveries_per_s": delivered / max(1e-9, last_receipt - first_send) if delivered else 0.0,
        "deliveries_per_s_while_sending": _within(batches, sends, first_send, last_done) / send_span,
        "drain_s": max(0.0, last_receipt - last_done) if delivered else None,
        "latency_ms": _pcts([x * 1000 for x in latencies]),
        "latency_ms_by_path": {k: _pcts(sorted(x * 1000 for x in v)) for k, v in by_path.items()},
        "commit_latency_ms": _pcts([x * 1000 for x in commit_latencies]),
        "commit_latency_ms_by_path": {k: _pcts(sorted(x * 1000 for x in v)) for k, v in commit_by_path.items()},
        "latency_ms_client_read": _pcts([x * 1000 for x in read_latencies]),
        "commit_latency_ms_client_read": _pcts([x * 1000 for x in commit_read_latencies]),
        "latency_ms_after_client_parse": _pcts([x * 1000 for x in parsed_latencies]),
        "commit_latency_ms_after_client_parse": _pcts([x * 1000 for x in commit_parsed_latencies]),
        "server_stages_ms": server_stages(stages_before, scrape_stages(ports)),
        "socket_backlog": socket_backlog,
        "handed_by_path": {k: v - handed_before.get(k, 0.0) for k, v in scrape_handed(ports).items()},
        "client_loop_lag_ms": _pcts(loop_lags),
        "deliveries_without_commit_time": delivered - len(commit_latencies),
        "send_to_commit_ms": _pcts(send_to_commit),
        "cpu_cores": cpu,
        "cpu_window_s": window,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_delivery": server_cpu / delivered * 1e6 if delivered else None,
        "server_cpu_ms_per_mutation": server_cpu / len(ok) * 1e3 if ok else None,
        "drain_wait_s": drain_wait,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "total_counted": total,
    }
    return result


# The servers' live-path histograms (`/metrics`, since they exist): name -> Prometheus metric and label.
STAGES = {
    "commit -> read from Redis": ("live_message_lag_seconds", ""),
    "read -> hand-off begins": ("live_fanout_seconds", 'stage="start"'),
    "read -> last subscriber sent": ("live_fanout_seconds", 'stage="end"'),
    "commit -> last subscriber sent": ("live_fanout_seconds", 'stage="commit_to_end"'),
}


def _metrics_lines(ports: list[int]) -> Iterator[str]:
    """The lines of every server's `/metrics` (a server that does not answer gives none)."""
    for port in ports:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            continue
        yield from text.splitlines()


def scrape_handed(ports: list[int]) -> dict[str, float]:
    """The servers' shared results handed to subscribers, by path (`live_fanout_deliveries_total`), summed."""
    counts: dict[str, float] = {}
    for line in _metrics_lines(ports):
        if line.startswith("live_fanout_deliveries_total{"):
            path = line.split('path="', 1)[1].split('"', 1)[0]
            counts[path] = counts.get(path, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def scrape_stages(ports: list[int]) -> dict[str, dict[float, float]]:
    """Every server's cumulative bucket counts (upper bound in seconds -> count) of each stage, summed."""
    totals: dict[str, dict[float, float]] = {}
    for line in _metrics_lines(ports):
        for stage, (metric, label) in STAGES.items():
            if not line.startswith(metric + "_bucket{") or (label and label not in line):
                continue
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if bound == "+Inf" else float(bound)
            counts = totals.setdefault(stage, {})
            counts[le] = counts.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


def server_stages(
    before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]
) -> dict[str, dict[str, float]]:
    """Per stage, the phase's observations and their p50 / p90 / p99 in ms, read from the histogram's
    buckets (linear within a bucket: good to a bucket's width, 5-50 ms below 300 ms)."""
    result: dict[str, dict[str, float]] = {}
    for stage, counts in after.items():
        bounds = sorted(counts)
        delta = [counts[b] - before.get(stage, {}).get(b, 0.0) for b in bounds]
        total = delta[-1] if delta else 0.0
        if total <= 0:
            continue
        row: dict[str, float] = {"count": total}
        for q in (50, 90, 99):
            wanted = total * q / 100
            lower_bound, lower_count = 0.0, 0.0
            for bound, cumulative in zip(bounds, delta, strict=True):
                if cumulative >= wanted:
                    if bound == float("inf"):
                        row[f"p{q}"] = lower_bound * 1000
                    else:
                        share = (wanted - lower_count) / max(1e-9, cumulative - lower_count)
                        row[f"p{q}"] = (lower_bound + share * (bound - lower_bound)) * 1000
                    break
                lower_bound, lower_count = bound, cumulative
        result[stage] = row
    return result


def _within(
    batches: list[dict[int, list[tuple[str, float, float, Any]]]], sends: dict[str, Any], t0: float, t1: float
) -> int:
    return sum(1 for batch in batches for r in batch.values() for cid, t, *_ in r if cid in sends and t0 <= t <= t1)


def _pcts(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1],
    }


# --- profiling one server with py-spy (optional) ------------------------------------------------


def start_profile(profile: dict[str, Any], server: Any, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    seconds = max(2, int(args.duration) - 2)
    out = profile["dir"] / "server-a.collapsed"
    profile["file"] = out
    command = [
        profile["py_spy"], "record", "--pid", str(server.process.pid), "--duration", str(seconds),
        "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking", "--gil", "--full-filenames",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


PACKAGES = (
    ("redis", "/redis/"),
    ("graphql-core", "/graphql/"),
    ("strawberry", "/strawberry/"),
    ("websockets", "/websockets/"),
    ("uvicorn", "/uvicorn/"),
    ("starlette", "/starlette/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("psycopg2", "/psycopg2/"),
    ("structlog", "/structlog/"),
    ("asyncio", "/asyncio/"),
)


def finish_profile(process: subprocess.Popen[bytes], profile: dict[str, Any]) -> None:
    """Summarise py-spy's collapsed stacks: busy samples (GIL held) by package of the leaf and inclusive."""
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        profile["error"] = "py-spy did not finish"
        return
    path = profile.get("file")
    if process.returncode != 0 or path is None or not Path(path).exists():
        profile["error"] = f"py-spy failed ({process.returncode}): {err.decode(errors='replace')[-500:]}"
        return
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    saas_inclusive: Counter[str] = Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf[_package(frames[-1])] += count
        for name in {_package(f) for f in frames}:
            inclusive[name] += count
        for name in {f.split(" (")[0] + " (" + _short(f) + ")" for f in frames if "/saas/" in f}:
            saas_inclusive[name] += count
        functions[frames[-1].split(" (")[0] + " (" + _short(frames[-1]) + ")"] += count
    if profile.get("out"):
        shutil.copyfile(path, profile["out"])
    profile["samples"] = total
    profile["self_by_package"] = {k: v / total for k, v in leaf.most_common()} if total else {}
    profile["inclusive_by_package"] = {k: v / total for k, v in inclusive.most_common()} if total else {}
    profile["top_self_functions"] = {k: v / total for k, v in functions.most_common(15)} if total else {}
    profile["saas_inclusive"] = {k: v / total for k, v in saas_inclusive.most_common(12)} if total else {}


def _package(frame: str) -> str:
    for name, marker in PACKAGES:
        if marker in frame:
            return name
    if "/saas/" in frame:
        return "saas"
    if "site-packages" in frame:
        return frame.split("site-packages/")[1].split("/")[0]
    if "(" not in frame:
        return "native/other"
    return "python stdlib/other"


def _short(frame: str) -> str:
    inside = frame.rpartition("(")[2].rstrip(")")
    for marker in ("site-packages/", "/saas/", "/lib/python3"):
        if marker in inside:
            return inside.split(marker, 1)[1] if marker != "/saas/" else "saas/" + inside.split(marker, 1)[1]
    return inside


# --- the whole run -------------------------------------------------------------------------------


def parse_rates(text: str) -> list[float]:
    rates = []
    for part in text.split(","):
        part = part.strip().lower()
        rates.append(0.0 if part == "max" else float(part))
    if any(r < 0 for r in rates):
        raise argparse.ArgumentTypeError("rates are positive numbers or 'max'")
    return rates


def run(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    run_module = _run_module()
    redis = redis_url()
    ctx = mp.get_context("spawn")
    result.update(
        {
            "machine": run_module.machine(),
            "code": run_module.code_version(),
            "config": {
                "servers": SERVERS,
                "workers_per_server": 1,
                "subscribers": args.subscribers,
                "client_processes": args.client_processes,
                "client_nice": args.client_nice,
                "client_gather_ms": args.client_gather_ms,
                "client": "websockets asyncio" if args.websockets_client else "lean (sans-I/O)",
                "duration_s": args.duration,
                "rates": [rate_label(r) for r in args.rates],
                "concurrency": args.concurrency,
                "compression": not args.no_compression,
                "database": args.database,
                "redis": redis,
            },
            "phases": [],
        }
    )
    log(f"database {args.database!r}: create if missing, migrate, tenant {SLUG!r}")
    tenant_id = prepare_database(args.database, redis)
    result["postgres"] = run_module.postgres_version(args.database)
    database_url = bench_url(args.database)
    work_dir = Path(tempfile.mkdtemp(prefix="saas-fanout-"))
    servers: list[Any] = []
    clients: list[ClientProcess] = []
    samplers: list[Any] = []
    redis_client = redis_info(redis)
    channel = f"saas:tenant:{tenant_id}:customers"
    try:
        for index in range(SERVERS):
            log_dir = work_dir / f"server-{'AB'[index]}"
            log_dir.mkdir()
            log(f"starting saas serve --workers 1 #{index + 1} (log: {log_dir / 'server.log'})")
            servers.append(run_module.start_server(database_url, redis, 1, log_dir))
        for server in servers:
            sampler = run_module.Sampler(server)
            sampler.start()
            samplers.append(sampler)
        ports = [s.port for s in servers]
        token = login(ports[0])
        result["servers"] = [{"port": s.port, "pid": s.process.pid} for s in servers]
        groups = Groups(servers, clients, args.database, redis_server_pid(redis))
        if groups.redis_pid is None:
            log("redis-server's process was not found: its CPU is not reported separately")

        # Warm both servers' mutation path (statement and query caches, pools).
        log(f"warm-up: {args.warmup:g} s of createCustomer at 20/s, no subscriber")
        warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
        process, conn = run_driver(ctx, ports, token, 20.0, warm, "warm-up")
        finish_driver(process, conn, args.warmup + 120)

        memory: dict[str, Any] = {
            "idle_rss_mib": [rss_mib(s) for s in servers],
            "redis_connections_idle": [redis_connections(s, redis) for s in servers],
            "redis_clients_idle": redis_client.info("clients")["connected_clients"],
        }
        if args.baseline:
            log(f"baseline: createCustomer at max rate for {args.duration:g} s with no subscriber")
            result["baseline"] = run_phase(ctx, "baseline", 0.0, servers, token, [], {}, groups, args)

        log(f"opening {args.subscribers} subscribers in {args.client_processes} client process(es)")
        started = time.monotonic()
        clients.extend(
            start_clients(
                ctx,
                ports,
                args.subscribers,
                args.client_processes,
                token,
                not args.no_compression,
                SUBSCRIPTION if args.commit_time else SUBSCRIPTION_WITHOUT_COMMIT_TIME,
                args.client_nice,
                not args.websockets_client,
                args.client_gather_ms / 1000,
            )
        )
        wait_listening(ports, args.subscribers, 60)
        wait_subscribed(redis_client, channel, SERVERS, 10)
        result["subscribe_seconds"] = time.monotonic() - started
        time.sleep(1.0)
        memory.update(
            {
                "subscribed_rss_mib": [rss_mib(s) for s in servers],
                "redis_connections_subscribed": [redis_connections(s, redis) for s in servers],
                "redis_clients_subscribed": redis_client.info("clients")["connected_clients"],
                "redis_channel_subscriptions": int(dict(redis_client.pubsub_numsub(channel)).get(channel.encode(), 0)),
            }
        )
        result["memory"] = memory
        subscriber_server = {j: j % SERVERS for j in range(args.subscribers)}

        profile = None
        if args.profile:
            py_spy = args.py_spy or shutil.which("py-spy")
            if py_spy:
                profile = {"py_spy": py_spy, "dir": work_dir, "out": args.profile_out}
            else:
                log("--profile: py-spy not found (pip install py-spy, or --py-spy PATH): skipped")
        for i, rate in enumerate(args.rates):
            label = rate_label(rate)
            last = i == len(args.rates) - 1
            log(f"phase {label}: createCustomer for {args.duration:g} s to {args.subscribers} subscribers")
            phase = run_phase(
                ctx, label, rate, servers, token, clients, subscriber_server, groups, args, profile if last else None
            )
            result["phases"].append(phase)
            _log_phase(phase)
            if phase["missing"] and clients:
                stats = [c.ask("count") for c in clients]
                phase["client_problems"] = [p for s in stats for p in s[2]]
                phase["subscribers_closed"] = sum(s[1] for s in stats)
        base = result.get("baseline")
        if base and base["mutations"]:
            per_mutation = base["server_cpu_s"] / base["mutations"]
            for phase in result["phases"]:
                if phase["delivered"]:
                    fanout = phase["server_cpu_s"] - phase["mutations"] * per_mutation
                    phase["fanout_cpu_us_per_delivery"] = fanout / phase["delivered"] * 1e6
        if profile is not None:
            result["profile"] = {
                k: str(v) if k == "out" else v for k, v in profile.items() if k not in ("dir", "file", "py_spy")
            }
        memory["peak_rss_mib"] = [s.peak_rss / 2**20 for s in samplers]
        memory["redis_connections_end"] = [redis_connections(s, redis) for s in servers]
        memory["redis_output_buffers"] = _pubsub_buffers(redis_client)
        memory["redis_connections_by_last_command"] = [
            redis_connections_by_command(s, redis_client, redis) for s in servers
        ]
        # Closing the subscribers must release their Redis subscriptions and connections.
        for client in clients:
            client.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = [redis_connections(s, redis) for s in servers]
            if sum(left) <= sum(memory["redis_connections_idle"]):
                break
            time.sleep(0.5)
        memory["redis_connections_after_close"] = left
        memory["redis_connections_after_close_by_last_command"] = [
            redis_connections_by_command(s, redis_client, redis) for s in servers
        ]
        memory["redis_channel_subscriptions_after_close"] = int(
            dict(redis_client.pubsub_numsub(channel)).get(channel.encode(), 0)
        )
        memory["after_close_rss_mib"] = [rss_mib(s) for s in servers]
    finally:
        for client in clients:
            client.stop()
        for sampler in samplers:
            sampler.stop()
        for server in servers:
            server.stop()
        redis_client.close()
        log("servers and clients stopped")
    shutil.rmtree(work_dir, ignore_errors=True)
    return result


def _pubsub_buffers(client: Any) -> dict[str, int]:
    """The largest output buffer among Redis's pub/sub clients (a slow subscriber shows here)."""
    try:
        rows = client.client_list(_type="pubsub")
    except Exception:
        return {}
    return {"pubsub_clients": len(rows), "max_omem": max((int(r.get("omem", 0)) for r in rows), default=0)}


def _log_phase(p: dict[str, Any]) -> None:
    lat = p["latency_ms"] or {}
    com = p.get("commit_latency_ms") or {}
    log(
        f"  {p['mutations_per_s']:.0f} mutations/s, {p['deliveries_per_s']:.0f} deliveries/s, "
        f"missing {p['missing']}, latency from send p50 {lat.get('p50', float('nan')):.1f} ms "
        f"p99 {lat.get('p99', float('nan')):.1f} ms, from commit p50 {com.get('p50', float('nan')):.1f} ms "
        f"p99 {com.get('p99', float('nan')):.1f} ms; load average {p['load_average_at_end'][0]}"
    )


# --- the report --------------------------------------------------------------------------------


def print_report(r: dict[str, Any]) -> None:
    m, c = r["machine"], r["config"]
    print()
    print(
        f"Subscription fan-out: {c['subscribers']} subscribers (customerEvents), split over {c['servers']} x "
        f"`saas serve --workers 1`; createCustomer over HTTP alternately to both; Redis pub/sub in between"
    )
    print(
        f"  machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"PostgreSQL {r.get('postgres', '?')}, load average at start {m['loadavg_at_start'][0]}"
    )
    code = r["code"]
    where = (
        " (snapshot via --commit)"
        if code.get("snapshot")
        else (f" + {code['modified_files']} modified files" if code.get("modified_files") else "")
    )
    print(
        f"  code: commit {code['commit']}{where}; {c['duration_s']:g} s per rate, driver {c['concurrency']} threads, "
        f"{c['client_processes']} client processes ({c.get('client', 'websockets asyncio')} client, nice "
        f"{c.get('client_nice', 0)}, reads gathered {c.get('client_gather_ms', 0):g} ms), "
        f"permessage-deflate {'on' if c['compression'] else 'off'}"
    )
    mem = r.get("memory", {})
    if mem:
        print(
            "  servers A/B: RSS idle "
            + "/".join(f"{x:.0f}" for x in mem["idle_rss_mib"])
            + " MiB, with subscribers "
            + "/".join(f"{x:.0f}" for x in mem["subscribed_rss_mib"])
            + " MiB, peak "
            + "/".join(f"{x:.0f}" for x in mem.get("peak_rss_mib", []))
            + " MiB; TCP connections to Redis idle "
            + "/".join(str(x) for x in mem["redis_connections_idle"])
            + ", subscribed "
            + "/".join(str(x) for x in mem["redis_connections_subscribed"])
            + f"; Redis clients {mem['redis_clients_idle']} -> {mem['redis_clients_subscribed']}, "
            f"channel subscriptions {mem['redis_channel_subscriptions']}; subscribe took {r['subscribe_seconds']:.1f} s"
        )
        if "redis_connections_after_close" in mem:
            print(
                "  after the subscribers closed: TCP connections to Redis "
                + "/".join(str(x) for x in mem["redis_connections_after_close"])
                + " (by last command: "
                + " / ".join(
                    ", ".join(f"{k} {v}" for k, v in sorted(x.items()))
                    for x in mem.get("redis_connections_after_close_by_last_command", [])
                )
                + f"), channel subscriptions {mem['redis_channel_subscriptions_after_close']}, RSS "
                + "/".join(f"{x:.0f}" for x in mem["after_close_rss_mib"])
                + " MiB"
            )
    phases = ([r["baseline"]] if r.get("baseline") else []) + r["phases"]
    print()
    header = (
        f"  {'rate':>8} {'subs':>4} {'mut/s':>6} {'mut p50/p99 ms':>15} {'deliv/s':>8} {'expected':>8} "
        f"{'missing':>7} {'dup':>3} {'lat p50':>8} {'p90':>7} {'p99':>7} {'max ms':>7} {'drain s':>7}"
    )
    print(header)
    for p in phases:
        lat = p["latency_ms"]
        mut = p["mutation_ms"] or {"p50": float("nan"), "p99": float("nan")}
        lat_cells = (
            f"{lat['p50']:>8.1f} {lat['p90']:>7.1f} {lat['p99']:>7.1f} {lat['max']:>7.0f}"
            if lat
            else f"{'-':>8} {'-':>7} {'-':>7} {'-':>7}"
        )
        drain = f"{p['drain_s']:.2f}" if p["drain_s"] is not None else "-"
        print(
            f"  {p['phase']:>8} {p['subscribers']:>4} {p['mutations_per_s']:>6.0f} "
            f"{mut['p50']:>7.1f}/{mut['p99']:<7.1f} {p['deliveries_per_s']:>8.0f} {p['expected_deliveries']:>8} "
            f"{p['missing']:>7} {p['duplicates']:>3} {lat_cells} {drain:>7}"
        )
    if any(p.get("commit_latency_ms") for p in phases):
        print()
        print(
            f"  {'rate':>8}  from the commit (committedAt): {'lat p50':>8} {'p90':>7} {'p99':>7} {'max ms':>7}"
            f"   mutation sent -> committed p50 / p99 ms"
        )
        for p in phases:
            com, s2c = p.get("commit_latency_ms"), p.get("send_to_commit_ms")
            if not com:
                continue
            s2c_cells = f"{s2c['p50']:.1f} / {s2c['p99']:.1f}" if s2c else "-"
            print(
                f"  {p['phase']:>8}                                 {com['p50']:>8.1f} {com['p90']:>7.1f} "
                f"{com['p99']:>7.1f} {com['max']:>7.0f}   {s2c_cells}"
            )
    if any(p.get("server_stages_ms") or p.get("commit_latency_ms_after_client_parse") for p in phases):
        print()
        print(
            "  where the time goes, p50 / p90 / p99 ms (servers: from their /metrics histograms, both summed; "
            "clients: their process read the bytes, and the websockets library handed the message over parsed)"
        )
        for p in phases:
            cells = []
            for stage, row in (p.get("server_stages_ms") or {}).items():
                cells.append(
                    f"{stage} {row.get('p50', float('nan')):.1f} / {row.get('p90', float('nan')):.1f} / "
                    f"{row.get('p99', float('nan')):.1f}"
                )
            for name, key in (
                ("commit -> client process read", "commit_latency_ms_client_read"),
                ("commit -> client parsed", "commit_latency_ms_after_client_parse"),
            ):
                row = p.get(key)
                if row:
                    cells.append(f"{name} {row['p50']:.1f} / {row['p90']:.1f} / {row['p99']:.1f}")
            backlog = p.get("socket_backlog")
            if backlog and p["subscribers"]:
                cells.append(
                    f"unread in the subscribers' sockets median {backlog['unread_kib_p50']:.0f} KiB, "
                    f"max {backlog['unread_kib_max']:.0f} KiB; unsent by the servers median "
                    f"{backlog['unsent_kib_p50']:.0f} KiB, max {backlog['unsent_kib_max']:.0f} KiB"
                )
            handed = p.get("handed_by_path")
            if handed:
                cells.append("handed " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(handed.items())))
            lag = p.get("client_loop_lag_ms")
            if lag:
                cells.append(
                    f"client event loops late on a 5 ms timer {lag['p50']:.1f} / {lag['p90']:.1f} / {lag['p99']:.1f}"
                    f" (max {lag['max']:.0f})"
                )
            if cells:
                print(f"  {p['phase']:>8}  " + "; ".join(cells))
    print()
    print(
        f"  {'rate':>8}  CPU cores: {'server A':>8} {'server B':>8} {'clients':>7} {'driver':>6} {'redis':>5} "
        f"{'postgres':>8} {'other':>5}   server CPU per delivery (fan-out only) / per mutation"
    )
    for p in phases:
        cpu = p["cpu_cores"]
        per_delivery = f"{p['server_cpu_us_per_delivery']:.0f} us" if p["server_cpu_us_per_delivery"] else "-"
        if p.get("fanout_cpu_us_per_delivery") is not None:
            per_delivery += f" ({p['fanout_cpu_us_per_delivery']:.0f} us)"
        per_mutation = f"{p['server_cpu_ms_per_mutation']:.2f} ms" if p["server_cpu_ms_per_mutation"] else "-"
        print(
            f"  {p['phase']:>8}             {cpu['server A']:>8.2f} {cpu['server B']:>8.2f} {cpu['subscribers']:>7.2f} "
            f"{cpu['driver']:>6.2f} {cpu['redis']:>5.2f} {cpu['postgres']:>8.2f} {cpu['everything else']:>5.2f}   "
            f"{per_delivery} / {per_mutation}"
        )
    disturbed = [p["phase"] for p in phases if p["cpu_cores"]["everything else"] > 0.2]
    if disturbed:
        print(
            f"  warning: other processes on the machine used > 0.2 cores during {', '.join(disturbed)}: "
            "those numbers are low"
        )
    notes = []
    for p in r["phases"]:
        paths = p["latency_ms_by_path"]
        if paths["same server"] and paths["other server"]:
            notes.append(
                f"{p['phase']}: p50 {paths['same server']['p50']:.1f} ms same server / "
                f"{paths['other server']['p50']:.1f} ms other server"
            )
        if p["mutation_errors"]:
            notes.append(
                f"{p['phase']}: {p['mutation_errors']} mutation errors, e.g. {p['mutation_error_samples'][:1]}"
            )
        if p["missing"]:
            notes.append(
                f"{p['phase']}: {p['missing']} deliveries missing at {p['subscribers_missing_events']} subscribers "
                f"({p.get('subscribers_closed', 0)} connections closed early; {p.get('client_problems', [])[:2]})"
            )
        if p["unexpected"]:
            notes.append(f"{p['phase']}: {p['unexpected']} deliveries of events from earlier phases")
    if notes:
        print()
        print("  delivery latency by path (mutation served by the subscriber's server or the other one), problems:")
        for note in notes:
            print(f"    {note}")
    prof = r.get("profile")
    if prof:
        print()
        if prof.get("error"):
            print(f"  profile: {prof['error']}")
        else:
            print(
                f"  profile of server A during the last rate (py-spy --gil, {prof['samples']} samples of the GIL holder):"
            )
            print(
                "    inclusive by package: "
                + ", ".join(f"{k} {v:.0%}" for k, v in list(prof["inclusive_by_package"].items())[:10])
            )
            print(
                "    self by package:      "
                + ", ".join(f"{k} {v:.0%}" for k, v in list(prof["self_by_package"].items())[:10])
            )
            print(
                "    saas functions (inclusive): "
                + ", ".join(f"{k} {v:.0%}" for k, v in list(prof["saas_inclusive"].items())[:6])
            )
    print()
    print(
        "  deliv/s: deliveries (all subscribers) / (last delivery - first send); latency: mutation sent -> "
        "subscriber received (the message's bytes in the subscriber's socket, the kernel's timestamp; CLOCK_REALTIME); from the commit: subscriber received - the event's committedAt "
        "(CLOCK_REALTIME, one machine); drain: last delivery - last mutation response"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Subscription fan-out benchmark against two `saas serve` processes.")
    parser.add_argument("--subscribers", type=int, default=100, help="WebSocket subscribers (default %(default)s)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of mutations per rate (default %(default)s)"
    )
    parser.add_argument(
        "--rates", type=parse_rates, default=parse_rates("10,25,50,max"),
        help="mutations per second, comma-separated, 'max' = as fast as --concurrency allows (default 10,25,50,max)",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=int, default=8, help="driver threads (keep-alive connections) (default %(default)s)"
    )
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes holding the subscribers (default %(default)s)"
    )
    parser.add_argument("--no-compression", action="store_true", help="do not offer permessage-deflate (browsers do)")
    parser.add_argument(
        "--websockets-client", action="store_true",
        help="subscribers on websockets' asyncio client, a task each parsing every message as it comes "
        "(the client before the lean one; costs the shared machine more per message)",
    )  # fmt: skip
    parser.add_argument(
        "--client-gather-ms", type=float, default=1.0,
        help="a client process that wakes to read waits this much more and reads every subscriber ready then: "
        "one wake-up for many messages (receipts are the kernel's timestamps; 0: read at once, the client "
        "before) (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--client-nice", type=int, default=0,
        help="scheduling priority (nice) of the client processes, e.g. -10 (needs the right to raise it) (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--no-commit-time",
        dest="commit_time",
        action="store_false",
        help="do not select committedAt (code before it): latency from the mutation's send only",
    )
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip the max-rate run without subscribers"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds at 20/s (default %(default)s)")
    parser.add_argument(
        "--drain-timeout", type=float, default=10.0,
        help="stop waiting for deliveries after this many seconds without progress (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--database", default=DEFAULT_FANOUT_DATABASE, help="database, created if missing (default %(default)s)"
    )
    parser.add_argument("--profile", action="store_true", help="sample server A with py-spy during the last rate")
    parser.add_argument("--py-spy", help="path of py-spy (default: on PATH)")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's collapsed stacks in this file")
    parser.add_argument("--timeout", type=float, default=900.0, help="abort the whole run after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    parser.add_argument("--commit", help="benchmark the saas code of this commit (e.g. HEAD) instead of the work tree")
    args = parser.parse_args(argv)
    if args.subscribers < 1 or args.client_processes < 1 or args.concurrency < 1 or args.duration <= 0:
        parser.error("--subscribers, --client-processes, --concurrency and --duration must be positive")
    if args.commit:
        run_at_commit(args.commit, "bench.fanout", argv)

    def abort(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}" if signum != signal.SIGALRM else "--timeout reached")

    signal.signal(signal.SIGTERM, abort)
    signal.signal(signal.SIGALRM, abort)
    signal.alarm(max(1, int(args.timeout)))
    result: dict[str, Any] = {}
    try:
        run(args, result)
    finally:
        signal.alarm(0)
    print_report(result)
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
