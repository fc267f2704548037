"""Per-connection context for every route: request id, log context, HTTP metrics, last-resort 500."""

from __future__ import annotations

from contextlib import suppress

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saas.audit.client import bind_client, unbind_client
from saas.auth.throttle import bind_client_address, unbind_client_address
from saas.http.errors import internal_error_response
from saas.http.logs import get_logger
from saas.http.metrics import OTHER, Metrics
from saas.http.request_id import REQUEST_ID_HEADER, choose_request_id

log = get_logger("saas.http")


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
        request_id = choose_request_id(headers.get(REQUEST_ID_HEADER))
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        client = scope.get("client")
        address = bind_client_address(client[0] if client else None)  # for the sign-in throttle
        audit_client = bind_client(client[0] if client else None, headers.get("user-agent"))
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
            log.exception("unhandled_exception", path=scope["path"])
            if scope["type"] == "http" and not started:
                await internal_error_response(request_id)(scope, receive, send_with_id)
            elif scope["type"] == "websocket":
                with suppress(Exception):  # the socket may be closed already
                    await send({"type": "websocket.close", "code": 1011, "reason": "Internal server error"})
        finally:
            unbind_client(audit_client)
            unbind_client_address(address)
            if scope["type"] == "http":
                path = scope["path"] if scope["path"] in self.paths else OTHER
                self.metrics.child(self.metrics.http_requests, path, str(status)).inc()
