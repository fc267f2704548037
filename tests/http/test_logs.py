"""Structured logs: one access line per GraphQL request, request and tenant ids in the context."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog
from starlette.testclient import TestClient

from saas.config import Settings
from saas.http import create_app
from saas.http.logs import configure_logging
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine


def access_lines(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["event"] == "graphql_request"]


def test_one_access_line_per_request(client: TestClient, captured_logs: list[dict[str, Any]]) -> None:
    response = client.post("/graphql", json={"query": "query Hello { __typename }"}, headers={"x-request-id": "req-1"})
    (line,) = access_lines(captured_logs)
    assert line["request_id"] == "req-1" == response.headers["x-request-id"]
    assert line["operation"] == "Hello"
    assert line["operation_type"] == "query"
    assert line["status"] == 200
    assert line["outcome"] == "success"
    assert line["transport"] == "http"
    assert line["duration_ms"] >= 0
    assert "tenant_id" not in line  # anonymous


def test_tenant_id_is_bound_for_authenticated_requests(
    client: TestClient, token: str, tenant: Any, captured_logs: list[dict[str, Any]]
) -> None:
    client.post("/graphql", json={"query": "{ me { email } }"}, headers={"authorization": f"Bearer {token}"})
    (line,) = access_lines(captured_logs)
    assert line["tenant_id"] == str(tenant.id)


def test_rejected_requests_are_logged_too(client: TestClient, captured_logs: list[dict[str, Any]]) -> None:
    client.post("/graphql", content=b"{oops", headers={"content-type": "application/json"})
    (line,) = access_lines(captured_logs)
    assert (line["status"], line["outcome"], line["operation"]) == (400, "rejected", "unknown")


class ContextRecordingEngine(GraphQLEngine):
    """The real engine, noting the log context that code under `execute` sees."""

    seen: list[dict[str, Any]] = []

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(structlog.contextvars.get_contextvars())
        return await super().execute(*args, **kwargs)


def test_request_id_is_bound_before_execution(runtime: Runtime) -> None:
    engine = ContextRecordingEngine(runtime)
    with TestClient(create_app(runtime, engine)) as client:
        response = client.post("/graphql", json={"query": "{ __typename }"})
    assert engine.seen[-1]["request_id"] == response.headers["x-request-id"]


def test_websocket_operations_are_logged(client: TestClient, captured_logs: list[dict[str, Any]]) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        ws.receive_json()
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "query Ws { __typename }"}})
        ws.receive_json()
        ws.receive_json()
    (line,) = access_lines(captured_logs)
    assert (line["transport"], line["operation"], line["status"], line["operation_id"]) == ("ws", "Ws", "complete", "1")
    assert line["request_id"] and line["connection_id"]


@pytest.fixture
def restore_logging() -> Any:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configure_logging_writes_json(
    settings: Settings, restore_logging: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings.model_copy(update={"log_json": True, "log_level": "INFO"}))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="r-42")
    try:
        structlog.get_logger("test").info("hello", answer=42)
        structlog.get_logger("test").debug("hidden")
        logging.getLogger("stdlib").warning("from %s", "stdlib")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "hello" and lines[0]["answer"] == 42 and lines[0]["request_id"] == "r-42"
    assert lines[0]["level"] == "info" and "timestamp" in lines[0]
    assert lines[1]["event"] == "from stdlib" and lines[1]["level"] == "warning"
    assert len(lines) == 2
