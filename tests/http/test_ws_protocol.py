"""The server's WebSocket protocol (`saas/http/ws_protocol.py`): with permessage-deflate negotiated
(browsers offer it), a message below the threshold goes out uncompressed (RSV1 clear), a larger
one compressed, and a client that inflates only the compressed ones reads every message as sent,
with the compressors' shared window in step across both kinds."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import uvicorn
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from saas.customers import service
from saas.http import create_app
from saas.http.ws_protocol import (
    COMPRESSION_THRESHOLD,
    DIRECT_SEND,
    ThresholdDeflate,
    ThresholdDeflateFactory,
    WebSocketProtocol,
    text_frame,
    text_frame_header,
)
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient
from tests.customers.live import event, operator
from tests.http.transport_helpers import wait_for_listener

SMALL = '{"id":"1","type":"next","payload":{"data":{"customerEvents":{"kind":"customer.created"}}}}'
LARGE = '{"id":"1","type":"next","payload":{"data":{"rows":[' + ",".join(f'"row {i}"' for i in range(200)) + "]}}}"


def _handshake() -> tuple[ServerProtocol, ClientProtocol]:
    server = ServerProtocol(extensions=[ThresholdDeflateFactory(server_max_window_bits=12, client_max_window_bits=12)])
    client = ClientProtocol(parse_uri("ws://example/graphql"), extensions=[ClientPerMessageDeflateFactory()])
    client.send_request(client.connect())
    for data in client.data_to_send():
        server.receive_data(data)
    [request] = server.events_received()
    server.send_response(server.accept(request))
    for data in server.data_to_send():
        client.receive_data(data)
    assert client.events_received()  # the response
    return server, client


def test_small_messages_go_out_uncompressed_large_ones_compressed_and_all_arrive_intact() -> None:
    server, client = _handshake()
    assert [type(e) for e in server.extensions] == [ThresholdDeflate]  # negotiated
    assert len(SMALL) < COMPRESSION_THRESHOLD <= len(LARGE)
    sent = [SMALL, LARGE, SMALL, SMALL, LARGE, LARGE, SMALL]
    first_bytes = []
    for text in sent:
        server.send_text(text.encode())
        [wire] = server.data_to_send()
        first_bytes.append(wire[0])
        client.receive_data(wire)
    received = [e for e in client.events_received() if isinstance(e, Frame)]
    assert [(f.opcode, f.data.decode()) for f in received] == [(Opcode.TEXT, text) for text in sent]
    # FIN + text, and RSV1 (compressed) for the large ones only.
    assert first_bytes == [0x81 if text is SMALL else 0xC1 for text in sent]


def test_a_connection_that_only_sends_small_messages_makes_no_compressor() -> None:
    server, _ = _handshake()
    for _ in range(3):
        server.send_text(SMALL.encode())
    [extension] = server.extensions
    assert not hasattr(extension, "encoder")
    server.send_text(LARGE.encode())
    assert hasattr(extension, "encoder")


async def _echo_twice(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": SMALL})
    await send({"type": "websocket.send", "text": LARGE})
    await receive()  # the client's close


@contextmanager
def serve(app: Any, lifespan: str = "off") -> Iterator[int]:
    """uvicorn on a free loopback port with `WebSocketProtocol`, as `saas serve` runs it; the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, ws=WebSocketProtocol, lifespan=lifespan, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served() -> Iterator[int]:
    with serve(_echo_twice) as port:
        yield port


def _deflate_client_reads(port: int, count: int) -> tuple[ClientProtocol, bytes, list[Frame]]:
    """A client offering permessage-deflate as browsers do, on a plain socket: its first `count`
    frames from the server, the bytes on the wire, then its close."""
    client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"), extensions=[ClientPerMessageDeflateFactory()])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        client.send_request(client.connect())
        sock.sendall(b"".join(client.data_to_send()))
        wire = b""
        frames: list[Frame] = []
        while len(frames) < count:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            wire += data
            client.receive_data(data)
            frames += [e for e in client.events_received() if isinstance(e, Frame)]
        client.send_close()
        sock.sendall(b"".join(client.data_to_send()))
    return client, wire, frames


def test_uvicorn_with_the_protocol_negotiates_deflate_and_leaves_small_messages_uncompressed(served: int) -> None:
    """A client offering permessage-deflate as browsers do, on a plain socket: the bytes on the wire."""
    client, wire, frames = _deflate_client_reads(served, 2)
    assert client.handshake_exc is None
    assert [type(e) for e in client.extensions] != []  # permessage-deflate negotiated
    assert [f.data.decode() for f in frames] == [SMALL, LARGE]
    body = wire[wire.index(b"\r\n\r\n") + 4 :]
    assert body[0] == 0x81  # the small message: FIN + text, RSV1 clear
    assert body[2 : 2 + len(SMALL)] == SMALL.encode()  # as it is (payload length < 126: 2-byte header)
    assert body[2 + len(SMALL)] == 0xC1  # the large one: FIN + RSV1 (compressed) + text


def test_the_direct_send_writes_at_once_in_order_with_asgi_sends_and_declines_a_closed_socket() -> None:
    answers: list[bool] = []
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        send_now = scope["extensions"][DIRECT_SEND]["send_text"]
        answers.append(send_now("one"))
        await send({"type": "websocket.send", "text": "two"})
        answers.append(send_now("three"))
        assert (await receive())["type"] == "websocket.disconnect"
        answers.append(send_now("after the close"))
        done.set()

    with serve(app) as port, ws_connect(f"ws://127.0.0.1:{port}/") as ws:
        assert [ws.recv(timeout=10) for _ in range(3)] == ["one", "two", "three"]
        ws.close()
        assert done.wait(10)
    assert answers == [True, True, False]


def test_a_live_subscription_served_by_uvicorn_gets_its_events_in_order_through_the_direct_send(
    runtime: Runtime,
    graphql_engine: GraphQLEngine,
    tenant: Any,
    other_tenant: Any,
    owner: GraphQLClient,
    monkeypatch: Any,
) -> None:
    """The application's WebSocket endpoint behind `WebSocketProtocol`: shared results go out by
    the direct send, every event once and in order; another tenant's change is not sent."""
    direct: list[bool] = []
    original = WebSocketProtocol.send_framed_now

    def counted(self: WebSocketProtocol, data: bytes, frame: bytes | None) -> bool:
        sent = original(self, data, frame)
        if b'"type":"next"' in data:
            assert frame == text_frame(data)  # framed once for the event, as it goes out
            direct.append(sent)
        return sent

    monkeypatch.setattr(WebSocketProtocol, "send_framed_now", counted)
    query = "subscription { customerEvents { kind customerId contactId } }"
    with (
        serve(create_app(runtime, graphql_engine), lifespan="on") as port,
        ws_connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
    ):
        ws.send(
            orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {owner.token}"}}).decode()
        )
        assert orjson.loads(ws.recv(timeout=10)) == {"type": "connection_ack"}
        ws.send(orjson.dumps({"id": "a", "type": "subscribe", "payload": {"query": query}}).decode())
        wait_for_listener(runtime, tenant.id)
        made = []
        for n in range(5):
            if n == 4:  # another tenant's change, published before this tenant's last one: never sent here
                with tenant_session(runtime.engine, other_tenant.id) as session:
                    service.create_customer(session, operator(other_tenant.id), {"name": "Elsewhere Ltd"})
            with tenant_session(runtime.engine, tenant.id) as session:
                made.append(service.create_customer(session, operator(tenant.id), {"name": f"Direct {n} Ltd"}).id)
        received = [orjson.loads(ws.recv(timeout=10)) for _ in range(5)]
    assert received == [
        {"id": "a", "type": "next", "payload": {"data": {"customerEvents": event("customer.created", m)}}} for m in made
    ]
    assert direct == [True] * 5


@pytest.mark.parametrize("length", [0, 1, 125, 126, 1000, 65535, 65536, 70000])
def test_the_direct_sends_frame_header_is_websockets_own_for_an_uncompressed_text_frame(length: int) -> None:
    data = b"x" * length
    assert text_frame_header(length) + data == Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])


def test_the_direct_send_frames_utf8_bytes_as_they_are_below_the_threshold_and_compresses_larger_ones() -> None:
    """UTF-8 bytes (as the fan-out hands them) and text, on a connection with permessage-deflate:
    the small ones on the wire byte for byte (RSV1 clear, the length in bytes, not characters),
    the large one compressed, and a client inflating only the compressed ones reads them all."""
    small = SMALL.replace("customer.created", "Müller & Søn").encode()
    answers: list[bool] = []
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        send_now = scope["extensions"][DIRECT_SEND]["send_text"]
        answers.extend([send_now(small), send_now(LARGE.encode()), send_now(SMALL), send_now(small)])
        await receive()  # the client's close
        done.set()

    with serve(app) as port:
        client, wire, frames = _deflate_client_reads(port, 4)
        assert done.wait(10)
    assert answers == [True] * 4
    assert [type(e) for e in client.extensions] != []  # permessage-deflate negotiated
    assert [f.data for f in frames] == [small, LARGE.encode(), SMALL.encode(), small]
    body = wire[wire.index(b"\r\n\r\n") + 4 :]
    assert body.startswith(bytes((0x81, len(small))) + small)  # as it is: FIN + text, RSV1 clear
    assert body[2 + len(small)] == 0xC1  # the large one: FIN + RSV1 (compressed) + text


def test_the_direct_send_frames_large_bytes_as_they_are_without_compression() -> None:
    """A client that offers no compression: every message goes out as it is, a large one too."""
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        send_now = scope["extensions"][DIRECT_SEND]["send_text"]
        assert send_now(LARGE.encode()) and send_now(SMALL.encode())
        await receive()
        done.set()

    with serve(app) as port, ws_connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
        assert [ws.recv(timeout=10) for _ in range(2)] == [LARGE, SMALL]
        ws.close()
        assert done.wait(10)


def test_the_framed_send_writes_the_frame_given_below_the_threshold_and_compresses_larger_messages() -> None:
    """`send_framed(data, text_frame(data))` on a connection with permessage-deflate: a small
    message's frame goes out as given (the same bytes the plain direct send makes), a large one
    is compressed from `data` (its frame is not used), and the client reads them all as sent."""
    small = SMALL.encode()
    answers: list[bool] = []
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        send_framed = scope["extensions"][DIRECT_SEND]["send_framed"]
        large = LARGE.encode()
        answers.extend([send_framed(small, text_frame(small)), send_framed(large, text_frame(large))])
        answers.append(send_framed(small, text_frame(small)))
        await receive()  # the client's close
        answers.append(send_framed(small, text_frame(small)))  # closed: nothing sent
        done.set()

    with serve(app) as port:
        _client, wire, frames = _deflate_client_reads(port, 3)
        assert done.wait(10)
    assert answers == [True, True, True, False]
    assert [f.data for f in frames] == [small, LARGE.encode(), small]
    body = wire[wire.index(b"\r\n\r\n") + 4 :]
    assert body.startswith(text_frame(small))  # as given: FIN + text, RSV1 clear
    assert body[len(text_frame(small))] == 0xC1  # the large one: FIN + RSV1 (compressed) + text
