"""The HTTP request as the GraphQL endpoint reads it, straight from the ASGI scope: the method,
each header's first value (by its lower-case name, as the server sends them), the query
string's parameters and the body from `receive`."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope


class HttpRequest:
    __slots__ = ("headers", "method", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key not in headers:  # the first of repeated headers, as Starlette's `Headers.get`
                headers[key] = value.decode("latin-1")
        self.headers = headers

    @property
    def query_params(self) -> QueryParams:
        return QueryParams(self.scope["query_string"])

    async def read_body(self, max_bytes: int) -> bytes | None:
        """The body, or None as soon as more than `max_bytes` have arrived; `ClientDisconnect` if
        the client goes away first. Read from `receive` as Starlette's `Request.stream` does."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if body:
                    size += len(body)
                    if size > max_bytes:
                        return None
                    chunks.append(body)
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect()

    def starlette(self) -> Request:
        """Starlette's request over the same scope (multipart forms), before the body is read."""
        return Request(self.scope, self.receive)
