"""One process's fan-out loop alone: the Python CPU per delivery of a shared subscription result.

    python -m bench.fanout_loop [--subscribers 500] [--events 200] [--repeat 5] [--protocol]
                                [--instr-after-warmup] [--commit REV]

`bench.fanout` measures the whole path (HTTP mutations, Redis, two servers, sockets, clients) and
on a shared machine its CPU figures move with everyone else's load. This measures only what runs
in a server's event loop for each subscriber and each event, with the real code of
`saas/schema/fanout.py` and `saas/http/websocket.py`: N `GraphQLTransportWSConnection`s each
run `customerEvents` (`_execute`) on one shared stream, whose source yields `--events` results;
the WebSocket is a stand-in whose send (and direct send, for code that has it) encodes the frame
and keeps its length (what uvicorn does before framing and `transport.write` when the socket is
writable). Starlette's, the middleware's and uvicorn's `send` layers are not included either, so
the direct send's saving over them shows only end to end (`bench.fanout`). No socket, framing, compression or
kernel time is included. With `--protocol`, the direct send is the server's own
(`saas.http.ws_protocol.WebSocketProtocol`, after a handshake that negotiated permessage-deflate
as browsers offer it) over a transport stand-in that keeps each write's length: its checks and
framing are included, the socket write is not. Reported: CPU time (`time.process_time`, which other processes'
load disturbs far less than wall time) per delivery, the best of `--repeat` runs; every
subscriber must receive every event, in order. With `--instr-after-warmup` (under
`valgrind --tool=callgrind --instr-atstart=no`), callgrind counts the events after the first
`WARMUP` of the first run only: its total divided by subscribers * (events - `WARMUP`) is the
instructions per delivery, without the start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import orjson

from bench.common import callgrind, run_at_commit

QUERY = "subscription { customerEvents { kind customerId } }"
WARMUP = 3  # events before callgrind counts (`--instr-after-warmup`)


class FakeWebSocket:
    """Starlette's `WebSocket.send` as far as the connection uses it, for a writable socket."""

    sent = 0  # frames sent by every instance

    def __init__(self) -> None:
        self.frames: list[int] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.frames.append(len(message["text"].encode()))
        FakeWebSocket.sent += 1

    async def send_text(self, text: str) -> None:  # the code before direct sends calls this
        await self.send({"type": "websocket.send", "text": text})

    def send_now(self, text: str | bytes) -> bool:
        """The server's direct send (`saas.http.ws_protocol`, since d1b658a; UTF-8 bytes too since
        the fan-out frames them as they are) for a writable socket."""
        self.frames.append(len(text.encode() if isinstance(text, str) else text))
        FakeWebSocket.sent += 1
        return True


class _Transport:
    """A writable socket's transport as far as the server's protocol uses it: each write's length
    is kept by the subscriber's stand-in WebSocket."""

    def __init__(self, websocket: FakeWebSocket) -> None:
        self.websocket = websocket

    def write(self, data: bytes) -> None:
        self.websocket.frames.append(len(data))
        FakeWebSocket.sent += 1

    def is_closing(self) -> bool:
        return False


def _server_protocol(websocket: FakeWebSocket) -> Any:
    """The server's WebSocket protocol, open (a real handshake that negotiated permessage-deflate),
    writing to a stand-in transport: only what the direct send reads is set."""
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    from saas.http.ws_protocol import ThresholdDeflateFactory, WebSocketProtocol

    conn = ServerProtocol(extensions=[ThresholdDeflateFactory(server_max_window_bits=12, client_max_window_bits=12)])
    client = ClientProtocol(parse_uri("ws://127.0.0.1/graphql"), extensions=[ClientPerMessageDeflateFactory()])
    client.send_request(client.connect())
    for data in client.data_to_send():
        conn.receive_data(data)
    [request] = conn.events_received()
    conn.send_response(conn.accept(request))
    conn.data_to_send()
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.conn = conn
    protocol.handshake_complete = True
    protocol.close_sent = protocol.disconnected = False
    protocol.initial_response = None
    protocol.writable = asyncio.Event()
    protocol.writable.set()
    protocol.transport = _Transport(websocket)  # type: ignore[assignment]
    return protocol


async def _run(subscribers: int, events: int, protocol: bool = False, instr: bool = False) -> tuple[float, int]:
    from types import SimpleNamespace

    from saas.http.operation_record import OperationRecord
    from saas.http.params import GraphQLParams
    from saas.http.websocket import GraphQLTransportWSConnection
    from saas.schema.fanout import SharedStreams

    feed: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def source() -> Any:
        while (event := await feed.get()) is not None:
            yield event

    streams = SharedStreams()
    prepared = SimpleNamespace(operation_name=None, operation_type="subscription")

    class Engine:
        async def prepare_async(self, *args: Any) -> Any:
            return prepared

        async def subscribe(self, prepared: Any, variables: Any, principal: Any, request_id: str, *deliver: Any) -> Any:
            started = source()

            async def start() -> Any:
                return started

            return await streams.subscribe("customerEvents", start, *deliver)

    metrics = SimpleNamespace(operation_label=lambda name: name or "anonymous")
    state = SimpleNamespace(engine=Engine(), runtime=SimpleNamespace(settings=SimpleNamespace(max_query_bytes=10**6)))
    params = GraphQLParams(query=QUERY, operation_name=None, variables=None, extensions=None)
    connections = []
    tasks = []
    for n in range(subscribers):
        connection = GraphQLTransportWSConnection.__new__(GraphQLTransportWSConnection)
        websocket = FakeWebSocket()
        # The direct send, offered in the scope as `WebSocketProtocol` does (code before it ignores it).
        direct: dict[str, Any] = {"send_text": websocket.send_now}
        if protocol:
            server = _server_protocol(websocket)
            direct = {"send_text": server.send_text_now}
            if hasattr(server, "send_framed_now"):  # code before it has the one send only
                direct["send_framed"] = server.send_framed_now
        scope = {"extensions": {"saas.websocket.direct_send": direct}}
        GraphQLTransportWSConnection.__init__(
            connection, SimpleNamespace(state=SimpleNamespace(request_id=f"c{n}"), scope=scope), state
        )  # type: ignore[arg-type]
        connection.websocket = websocket
        record = OperationRecord(metrics, transport="ws")  # type: ignore[arg-type]
        task = asyncio.create_task(connection._execute("1", params, object(), f"r{n}", record))
        connection.operations["1"] = task
        connections.append(connection)
        tasks.append(task)
    while len(streams.streams) != 1 or len(next(iter(streams.streams.values())).queues) < subscribers:
        await asyncio.sleep(0)
    (stream,) = streams.streams.values()
    FakeWebSocket.sent = 0
    started = time.process_time()
    for number in range(events):
        if instr and number == WARMUP:
            callgrind("on")
        await feed.put(
            {"data": {"customerEvents": {"kind": "customer.created", "customerId": f"Q3VzdG9tZXI6{number}"}}}
        )
        while stream.executions <= number:
            await asyncio.sleep(0)
        # Let every subscriber take it before the next event (events are far apart in real use).
        while FakeWebSocket.sent < subscribers * (number + 1):
            await asyncio.sleep(0)
    cpu = time.process_time() - started
    if instr:
        callgrind("off")
    await feed.put(None)
    await asyncio.gather(*tasks, return_exceptions=True)
    delivered = sum(len(c.websocket.frames) - 1 for c in connections)  # each also sent "complete"
    return cpu, delivered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Python CPU per delivery of one process's fan-out loop.")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--protocol", action="store_true", help="send through the server's WebSocket protocol (a stand-in transport)"
    )
    parser.add_argument(
        "--instr-after-warmup",
        action="store_true",
        help="under valgrind --tool=callgrind --instr-atstart=no: count the first run's events after the warm-up",
    )
    parser.add_argument("--commit", help="measure the saas code of this commit (e.g. HEAD) instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        run_at_commit(args.commit, "bench.fanout_loop", argv)
    results = []
    if args.instr_after_warmup and args.events <= WARMUP:
        parser.error(f"--instr-after-warmup needs more than {WARMUP} events")
    for n in range(args.repeat):
        instr = args.instr_after_warmup and n == 0
        cpu, delivered = asyncio.run(_run(args.subscribers, args.events, args.protocol, instr))
        expected = args.subscribers * args.events
        if delivered != expected:
            raise SystemExit(f"delivered {delivered} of {expected}")
        results.append(cpu / delivered * 1e6)
    summary = {"subscribers": args.subscribers, "events": args.events, "us_per_delivery": sorted(results)}
    print(orjson.dumps(summary).decode())
    print(f"best {min(results):.2f} us, median {sorted(results)[len(results) // 2]:.2f} us of CPU per delivery")
    return 0


if __name__ == "__main__":
    sys.exit(main())
