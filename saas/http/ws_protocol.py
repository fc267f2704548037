"""The server's WebSocket protocol: uvicorn's (websockets, sans-I/O) with permessage-deflate that
leaves small messages uncompressed.

Browsers offer permessage-deflate on every WebSocket (`permessage-deflate; client_max_window_bits`)
and uvicorn accepts it. Compressed, every message costs the server a deflate and a sync flush
of its own connection's compressor, for every subscriber and event, and a frame of a few hundred
bytes (a subscription's `next`) saves at most that on the wire, less than its TCP/IP and TLS
headers' share of a packet. RFC 7692 §6.1 lets an endpoint send any message
uncompressed (RSV1 clear) on a connection that negotiated the extension; the receiver inflates
only the messages marked compressed, so the two compressors' windows stay in step. Messages
below `COMPRESSION_THRESHOLD` bytes therefore go out uncompressed, larger ones compressed as
before (Node's `ws` server does the same below 1 KiB). The connection's compressor is made only
when the first large message needs it.

It also offers the application a direct send (`DIRECT_SEND`, an ASGI scope extension):
`send_text(text)` frames a text message (a `str`, or `bytes` already encoded as UTF-8) and
writes it to the socket at once, in the caller's step, and answers True; or answers False,
having done nothing, when the socket cannot take it now (writing paused by a full buffer,
closing, closed, not yet accepted), and the caller sends the usual way (ASGI `send`, which
waits). A message that goes out uncompressed (no extension, or below the threshold) is framed
here, its 2-10 byte header put before the bytes as they are (RFC 6455 §5.2: FIN, text opcode, no
mask from a server), instead of through websockets' frame objects: the fan-out frames the same
kind of message for every subscriber of every event. `send_framed(data, frame)` is the same
send given the frame already made (`frame == text_frame(data)`, e.g. once for every subscriber
of an event): written as it is where `data` goes out uncompressed, so that a message sent to
many sockets is framed once; compressed from `data` otherwise. A live fan-out hands one result to hundreds of sockets
in one loop: through ASGI `send` each took a coroutine per layer (Starlette, middleware,
uvicorn) and a wait on the socket's writable event: a fifth of a server's samples in a fan-out
profile, beside the socket write itself (docs/performance-subscriptions.md).

`saas serve` runs uvicorn with `WebSocketProtocol`; negotiation and everything else are uvicorn's.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.exceptions import InvalidState
from websockets.extensions import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import ExtensionParameter

# Messages shorter than this (bytes of UTF-8 or binary data) are sent uncompressed.
COMPRESSION_THRESHOLD = 1024
# The ASGI scope extension of the direct send: `scope["extensions"][DIRECT_SEND]["send_text"]`.
DIRECT_SEND = "saas.websocket.direct_send"


def text_frame_header(length: int) -> bytes:
    """The header of a whole, unmasked, uncompressed text frame of `length` bytes (RFC 6455 §5.2)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


def text_frame(data: bytes) -> bytes:
    """The whole, unmasked, uncompressed text frame of `data` (UTF-8), as a server sends it."""
    return text_frame_header(len(data)) + data


class ThresholdDeflate(PerMessageDeflate):
    """permessage-deflate that sends a whole message below `threshold` bytes uncompressed."""

    def __init__(
        self,
        remote_no_context_takeover: bool,
        local_no_context_takeover: bool,
        remote_max_window_bits: int,
        local_max_window_bits: int,
        compress_settings: dict[Any, Any] | None = None,
        *,
        threshold: int = COMPRESSION_THRESHOLD,
    ) -> None:
        # As if without context takeover, so that no compressor is made yet (`encode` makes it).
        super().__init__(
            remote_no_context_takeover, True, remote_max_window_bits, local_max_window_bits, compress_settings
        )
        self.local_no_context_takeover = local_no_context_takeover
        self.threshold = threshold

    def encode(self, frame: Frame) -> Frame:
        if frame.fin and frame.opcode in (Opcode.TEXT, Opcode.BINARY) and len(frame.data) < self.threshold:
            return frame  # one frame, small: uncompressed (RSV1 clear)
        if not self.local_no_context_takeover and not hasattr(self, "encoder"):
            self.encoder = zlib.compressobj(wbits=-self.local_max_window_bits, **self.compress_settings)
        return super().encode(frame)


class ThresholdDeflateFactory(ServerPerMessageDeflateFactory):
    """Negotiates permessage-deflate as websockets does; the extension is a `ThresholdDeflate`."""

    def __init__(self, *args: Any, threshold: int = COMPRESSION_THRESHOLD, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threshold = threshold

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, negotiated = super().process_request_params(params, accepted_extensions)
        return response, ThresholdDeflate(
            negotiated.remote_no_context_takeover,
            negotiated.local_no_context_takeover,
            negotiated.remote_max_window_bits,
            negotiated.local_max_window_bits,
            negotiated.compress_settings,
            threshold=self.threshold,
        )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets (sans-I/O) protocol, its permessage-deflate settings, with `ThresholdDeflate`."""

    # Messages shorter than this (bytes) go out uncompressed on this connection: set by the first
    # direct send once the connection is open, when its extensions are settled (`_plain_limit`).
    _plain_below: float | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[
                    ThresholdDeflateFactory(
                        server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
                    )
                ],
                max_size=config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the application's task is created, not yet run: it sees the extension
            scope["extensions"][DIRECT_SEND] = {"send_text": self.send_text_now, "send_framed": self.send_framed_now}

    def send_text_now(self, text: str | bytes) -> bool:
        """Frame `text` (bytes: UTF-8 already) and write it now; False, having sent nothing, if
        the socket cannot take it now."""
        return self.send_framed_now(text.encode() if isinstance(text, str) else text, None)

    def send_framed_now(self, data: bytes, frame: bytes | None) -> bool:
        """`send_text_now(data)`, given `frame`, `text_frame(data)` (or None: framed here if need be),
        written as it is where `data` goes out uncompressed."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        conn = self.conn
        if conn.state is not State.OPEN:
            return False
        plain_below = self._plain_below
        if plain_below is None:
            plain_below = self._plain_below = self._plain_limit()
        if len(data) < plain_below:
            if conn.expect_continuation_frame:
                return False
            self.transport.write(text_frame(data) if frame is None else frame)
            return True
        try:
            conn.send_text(data)
        except InvalidState:
            return False
        self.transport.write(b"".join(conn.data_to_send()))
        return True

    def _plain_limit(self) -> float:
        """The length (bytes) below which a text message goes out as it is on this connection:
        every length without extensions, below the threshold with `ThresholdDeflate`, none with
        any other. Asked once the connection is open (its extensions are settled at the handshake)."""
        limit = float("inf")
        for extension in self.conn.extensions:
            limit = min(limit, extension.threshold if isinstance(extension, ThresholdDeflate) else 0)
        return limit
