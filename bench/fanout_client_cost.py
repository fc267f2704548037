"""The lean subscriber's CPU per message in `bench.fanout`: websockets' sans-I/O parser against
the frames cut by hand (`bench.fanout.ServerFrames`).

    python -m bench.fanout_client_cost [--messages 100000] [--path websockets|cut] [--instr-after-warmup]

One 219-byte `customerEvents` `next` message, framed as the servers send it (uncompressed, under
1 KiB), replayed into a connection that negotiated permessage-deflate, doing what the
subscriber's `data_received` does with it: the receipt's clocks and an append of its bytes
(`websockets`: the path before, `ServerFrames`: now). The socket read, the event loop and the
wake-ups are not included. Reported: CPU time per message (`time.process_time`) after 1,000 of
warm-up; with `--instr-after-warmup` (under `valgrind --tool=callgrind --instr-atstart=no`)
callgrind counts the measured messages only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import orjson
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory, enable_client_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from bench.common import callgrind
from bench.fanout import ServerFrames

MESSAGE = orjson.dumps(
    {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {
                "customerEvents": {
                    "kind": "customer.created",
                    "customerId": "Q3VzdG9tZXI6ZjQ5YjM0ZjAtOGQ0Ni00YjY1LWE5ZjYtMWI2ZDk2ZGQ0NjEx",
                    "committedAt": "2026-12-02T03:40:00.123456+00:00",
                }
            }
        },
    }
)
FRAME = bytes((0x81, 126)) + len(MESSAGE).to_bytes(2, "big") + MESSAGE


def handshake(server: ServerProtocol, client: ClientProtocol) -> list[Any]:
    """`client` opens its connection to `server` in memory (websockets' sans-I/O protocols): the
    request, the server's acceptance, the response read; returns what the client received."""
    client.send_request(client.connect())
    for data in client.data_to_send():
        server.receive_data(data)
    [request] = server.events_received()
    server.send_response(server.accept(request))
    for data in server.data_to_send():
        client.receive_data(data)
    return client.events_received()


def _open_client() -> ClientProtocol:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/graphql"), extensions=enable_client_permessage_deflate(None))
    server = ServerProtocol(
        extensions=[ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12)]
    )
    handshake(server, client)
    assert client.state is State.OPEN and client.extensions
    return client


def receiver(path: str, mine: list[Any]) -> Any:
    """A subscriber's `data_received` for one path (the kernel's stamp is absent here)."""
    ws = _open_client()
    if path == "cut":
        cutter = ServerFrames()

        def cut(data: bytes) -> None:
            wall, read = time.time(), time.monotonic()
            for first, payload in cutter.cut(data):
                if first == 0x81:
                    mine.append((read, wall, wall, payload))

        return cut

    def parse(data: bytes) -> None:
        wall, read = time.time(), time.monotonic()
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT and event.fin:
                mine.append((read, wall, wall, bytes(event.data)))
        ws.data_to_send()

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The lean subscriber's CPU per message, by path.")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--path", choices=["websockets", "cut"], default="cut")
    parser.add_argument("--instr-after-warmup", action="store_true")
    args = parser.parse_args(argv)
    mine: list[Any] = []
    receive = receiver(args.path, mine)
    for _ in range(1_000):
        receive(FRAME)
    if args.instr_after_warmup:
        callgrind("on")
    started = time.process_time()
    for _ in range(args.messages):
        receive(FRAME)
    cpu = time.process_time() - started
    if args.instr_after_warmup:
        callgrind("off")
    if len(mine) != 1_000 + args.messages or mine[-1][3] != MESSAGE:
        raise SystemExit("a message was lost or changed")
    print(f"{args.path}: {cpu / args.messages * 1e6:.2f} us of CPU per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
