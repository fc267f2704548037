"""The last-resort handling every route gets: request id header and a masked 500."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from saas.http.metrics import Metrics
from saas.http.middleware import RequestContextMiddleware


async def boom(request: Request) -> Response:
    raise RuntimeError("password=hunter2")


async def ws_boom(websocket: WebSocket) -> None:
    await websocket.accept()
    raise RuntimeError("password=hunter2")


def make_app(metrics: Metrics) -> Starlette:
    routes = [Route("/boom", boom), WebSocketRoute("/ws", ws_boom)]
    middleware = [Middleware(RequestContextMiddleware, metrics=metrics, paths=frozenset({"/boom", "/ws"}))]
    return Starlette(routes=routes, middleware=middleware)


def test_escaped_exception_is_a_masked_500(captured_logs: list[dict[str, Any]]) -> None:
    metrics = Metrics()
    with TestClient(make_app(metrics)) as client:
        response = client.get("/boom", headers={"x-request-id": "boom-1"})
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "boom-1"}
    logged = next(e for e in captured_logs if e["event"] == "unhandled_exception")
    assert logged["request_id"] == "boom-1" and logged["exc_info"] is True
    assert 'http_requests_total{path="/boom",status="500"} 1.0' in metrics.render().decode()


def test_escaped_websocket_exception_closes_1011() -> None:
    with TestClient(make_app(Metrics())) as client:
        with client.websocket_connect("/ws") as ws:
            message = ws.receive()
    assert message["type"] == "websocket.close" and message["code"] == 1011
