"""bench.fanout's lean subscriber cuts the servers' frames by hand: every message as websockets'
server framed it, whatever the reads' boundaries, pings told apart, and its pong read by a server;
a client process's wake-up reads every subscriber ready by the end of its gathering wait."""

from __future__ import annotations

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from bench.fanout import ServerFrames, pong_frame
from bench.fanout_client_cost import handshake

MESSAGES = [b"", b"x", b"y" * 125, b"z" * 126, b'{"id":"1","type":"next"}' * 9, b"w" * 65535, b"v" * 70000]


def _wire() -> tuple[bytes, list[tuple[int, bytes]]]:
    wire, expected = b"", []
    for n, data in enumerate(MESSAGES):
        wire += Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
        expected.append((0x81, data))
        if n == 2:
            wire += Frame(Opcode.PING, b"ping").serialize(mask=False, extensions=[])
            expected.append((0x89, b"ping"))
    return wire, expected


@pytest.mark.parametrize("step", [1, 2, 3, 7, 219, 4096, 10**6])
def test_the_frames_come_out_whole_and_in_order_whatever_the_reads(step: int) -> None:
    wire, expected = _wire()
    frames = ServerFrames()
    cut = []
    for at in range(0, len(wire), step):
        cut += frames.cut(wire[at : at + step])
    assert cut == expected and frames.rest == b""


def test_a_masked_frame_is_refused() -> None:
    with pytest.raises(ValueError):
        ServerFrames().cut(Frame(Opcode.TEXT, b"hello").serialize(mask=True, extensions=[]))


def test_the_pong_answers_the_ping_as_a_server_reads_it() -> None:
    reader = StreamReader()
    reader.feed_data(pong_frame(b"ping"))
    parser = Frame.parse(reader.read_exact, mask=True)  # a server reads masked frames
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame = done.value.value
    assert (frame.opcode, frame.data, frame.fin) == (Opcode.PONG, b"ping", True)


def test_compressed_messages_cut_by_hand_inflate_in_order_with_the_negotiated_extension() -> None:
    """permessage-deflate with context takeover: the compressed frames, cut as they are and
    inflated by the client's negotiated extension in order, give the messages sent; the ones
    sent uncompressed come out as they are."""
    server = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
    client = ClientProtocol(parse_uri("ws://example/graphql"), extensions=[ClientPerMessageDeflateFactory()])
    assert handshake(server, client) and client.extensions
    sent = [b'{"row": %d, "text": "the same words again"}' % n * 40 for n in range(4)]
    wire = b""
    for data in sent:
        server.send_text(data)
        wire += b"".join(server.data_to_send())
    frames = ServerFrames()
    received = []
    for first, payload in frames.cut(wire[:7]) + frames.cut(wire[7:]):
        assert first == 0xC1  # FIN, RSV1 (compressed), text
        frame = Frame(Opcode.TEXT, payload, rsv1=True)
        for extension in reversed(client.extensions):
            frame = extension.decode(frame)
        received.append(bytes(frame.data))
    assert received == sent


def test_a_client_wake_up_gathers_the_sockets_ready_by_the_end_of_its_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_GatheringSelector`: a wait that ends with a socket ready waits `gather` more and answers
    every socket ready then (one that got its bytes meanwhile too); a poll answers at once."""
    import selectors
    import socket

    from bench import fanout

    first, first_peer = socket.socketpair()
    second, second_peer = socket.socketpair()
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # bytes that arrive during the gathering wait
        slept.append(seconds)
        second_peer.send(b"later")

    monkeypatch.setattr(fanout.time, "sleep", sleep)
    selector = fanout._GatheringSelector(0.001)
    try:
        for sock in (first, second):
            selector.register(sock, selectors.EVENT_READ)
        assert selector.select(0.01) == [] and slept == []  # nothing ready: no gathering
        first_peer.send(b"now")
        ready = {key.fileobj for key, _ in selector.select(1.0)}
        assert ready == {first, second} and slept == [0.001]
        assert {key.fileobj for key, _ in selector.select(0)} == {first, second} and slept == [0.001]  # a poll
    finally:
        selector.close()
        for sock in (first, first_peer, second, second_peer):
            sock.close()
