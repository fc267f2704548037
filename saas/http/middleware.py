"""Per-connection context for every route: request id, log context, HTTP metrics, last-resort 500.

The functions are shared with the GraphQL endpoint's own path (`saas.http.graphql_http.GraphQLEndpoint`),
which does these duties itself for POST and GET /graphql, ahead of Starlette's router."""

from __future__ import annotations

from contextlib import suppress
from contextvars import Token
from typing import NamedTuple

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saas.audit.client import Client, bind_client, unbind_client
from saas.auth.throttle import bind_client_address, unbind_client_address
from saas.http.errors import internal_error_response
from saas.http.logs import clear_log_context, get_logger
from saas.http.metrics import OTHER, Metrics
from saas.http.request_id import REQUEST_ID_HEADER, choose_request_id

log = get_logger("saas.http")


class BoundRequest(NamedTuple):
    request_id: str
    address: Token[str | None]
    audit_client: Token[Client]


def bind_request(scope: Scope, incoming_request_id: str | None, user_agent: str | None) -> BoundRequest:
    """Choose the request id and bind it to the log context; name the client for the sign-in
    throttle (the address) and the audit log (the address and the user agent)."""
    request_id = choose_request_id(incoming_request_id)
    clear_log_context()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    client = scope.get("client")
    host = client[0] if client else None
    return BoundRequest(request_id, bind_client_address(host), bind_client(host, user_agent))


def unbind_request(bound: BoundRequest) -> None:
    unbind_client(bound.audit_client)
    unbind_client_address(bound.address)


async def answer_escaped(scope: Scope, send: Send, request_id: str, started: bool) -> None:
    """An exception escaped the endpoint: log it with its traceback, then answer a masked 500
    naming the request id if no HTTP response has begun, or close a WebSocket with 1011."""
    log.exception("unhandled_exception", path=scope["path"])
    if scope["type"] == "http" and not started:
        await internal_error_response(request_id).send(send, request_id.encode("latin-1"))
    elif scope["type"] == "websocket":
        with suppress(Exception):  # the socket may be closed already
            await send({"type": "websocket.close", "code": 1011, "reason": "Internal server error"})


class RequestContextMiddleware:
    """Gives each request an id (header `X-Request-ID`, `request.state.request_id`, log context)
    and names its client for the sign-in throttle (`saas.auth.throttle`, the address) and the
    audit log (`saas.audit.client`, the address and the user agent).

    An exception that escapes an endpoint is logged with its traceback and answered with a
    masked 500 that names the request id; internals never reach the client.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, paths: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths  # the path label is bounded to the application's routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        bound = bind_request(scope, headers.get(REQUEST_ID_HEADER), headers.get("user-agent"))
        request_id = bound.request_id
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
                status = message.get("status", status)
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            await answer_escaped(scope, send, request_id, started)
        finally:
            unbind_request(bound)
            if scope["type"] == "http":
                self.metrics.count_http(scope["path"] if scope["path"] in self.paths else OTHER, status)
