"""Transport-level failures (malformed HTTP requests), the GraphQL error bodies that report them,
and the complete responses of the GraphQL endpoint."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from starlette.types import Receive, Scope, Send

from saas.errors import ErrorCode
from saas.http.media import APPLICATION_JSON
from saas.schema.engine import dumps

INTERNAL_ERROR_MESSAGE = "Internal server error"


class TransportError(Exception):
    """The HTTP request cannot be served as a GraphQL request; answered with `status` and no data."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: ErrorCode = ErrorCode.BAD_USER_INPUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


class HttpResponse:
    """A complete response held in memory: status, body and raw headers, the extra headers first,
    then `content-length` and `content-type` (the order and lower-case names Starlette's
    `Response` gives). Called, it is an ASGI application like Starlette's responses."""

    __slots__ = ("body", "raw_headers", "status_code")

    def __init__(
        self, status_code: int, body: bytes, content_type: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] if headers else []
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        raw.append((b"content-type", content_type))
        self.status_code = status_code
        self.body = body
        self.raw_headers = raw

    async def send(self, send: Send, request_id: bytes | None = None) -> None:
        """Send it as `http.response.start` and one `http.response.body`; with `request_id`, the
        `X-Request-ID` header follows the others."""
        headers = self.raw_headers if request_id is None else [*self.raw_headers, (b"x-request-id", request_id)]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.send(send)


@functools.lru_cache(maxsize=16)  # the media types served (`saas.http.media`): a handful
def _content_type(media_type: str) -> bytes:
    """`<media type>; charset=utf-8`, encoded."""
    return f"{media_type}; charset=utf-8".encode("latin-1")


def error_payload(message: str, code: ErrorCode | str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL response with one error and no data."""
    return {"errors": [{"message": message, "extensions": {"code": str(getattr(code, "value", code)), **extensions}}]}


def graphql_response(
    payload: dict[str, Any],
    status: int,
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Serialise once with the engine's `dumps` (which passes pre-rendered JSON fragments through)."""
    return HttpResponse(status, dumps(payload), _content_type(media_type), headers)


def transport_error_response(error: TransportError) -> HttpResponse:
    # Not a well-formed GraphQL response, so never `application/graphql-response+json` (spec).
    return graphql_response(error_payload(error.message, error.code), error.status, APPLICATION_JSON, error.headers)


def internal_error_response(request_id: str) -> HttpResponse:
    payload = error_payload(INTERNAL_ERROR_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, requestId=request_id)
    return graphql_response(payload, 500, APPLICATION_JSON)
