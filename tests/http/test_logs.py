"""Structured logs: one access line per GraphQL request, request and tenant ids in the context."""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import uuid
from contextvars import Context, ContextVar
from typing import Any

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from saas.config import Settings
from saas.http import create_app
from saas.http.logs import clear_log_context, configure_logging, get_logger, merge_log_context
from saas.plugin_host.host import PluginHost
from saas.runtime import Runtime, create_runtime
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


def login_token(client: TestClient, tenant: Any) -> str:
    login = "mutation($input: LoginInput!) { login(input: $input) { token } }"
    variables = {"input": {"email": tenant.owner_email, "password": tenant.password, "tenant": tenant.slug}}
    token: str = client.post("/graphql", json={"query": login, "variables": variables}).json()["data"]["login"]["token"]
    return token


def test_each_request_has_its_own_log_context(
    client: TestClient, tenant: Any, other_tenant: Any, captured_logs: list[dict[str, Any]]
) -> None:
    """Two tenants and an anonymous caller taking turns: each line names the request's own ids,
    nothing bound by the request before (the context is cleared for each request)."""
    first, second = login_token(client, tenant), login_token(client, other_tenant)
    del captured_logs[:]
    callers = [(first, str(tenant.id)), (second, str(other_tenant.id)), (None, None), (first, str(tenant.id))]
    request_ids = []
    for credential, _ in callers:
        headers = {"authorization": f"Bearer {credential}"} if credential else {}
        response = client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.status_code == 200
        request_ids.append(response.headers["x-request-id"])
    lines = access_lines(captured_logs)
    assert [line.get("tenant_id") for line in lines] == [tenant_id for _, tenant_id in callers]
    assert [line["request_id"] for line in lines] == request_ids
    assert len(set(request_ids)) == len(callers)


def test_the_log_context_is_cleared_and_merged_as_structlog_does() -> None:
    """`clear_log_context` and `merge_log_context` read structlog's registry of its variables
    instead of walking the context: the same outcome as structlog's functions, beside other
    libraries' variables, keys never bound here, keys unbound, and a line's own keys."""

    def outcomes() -> list[Any]:
        other: ContextVar[int] = ContextVar("another_library")
        other.set(7)
        structlog.contextvars.bind_contextvars(request_id="r-1", tenant_id="t-1", extra=None)
        structlog.contextvars.unbind_contextvars("extra")
        seen = []
        for line in ({"event": "e"}, {"event": "e", "tenant_id": "own"}):
            ours = merge_log_context(None, "info", dict(line))
            theirs = structlog.contextvars.merge_contextvars(None, "info", dict(line))
            seen.append((ours, theirs))
        clear_log_context()
        seen.append((structlog.contextvars.get_contextvars(), {}))
        seen.append((merge_log_context(None, "info", {"event": "e"}), {"event": "e"}))
        structlog.contextvars.bind_contextvars(request_id="r-2")
        seen.append((merge_log_context(None, "info", {}), {"request_id": "r-2"}))
        seen.append((other.get(), 7))
        return seen

    for ours, expected in Context().run(outcomes):
        assert ours == expected
    assert "structlog_request_id" in structlog.contextvars._CONTEXT_VARS  # the registry read


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


# --- No secret reaches the logs, even when requests fail in unexpected ways -------------------

LOGIN_MUTATION = "mutation Login($input: LoginInput!) { login(input: $input) { token } }"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def secrets_in_play(settings: Settings) -> dict[str, str]:
    """Values that must never be written to a log line, whatever fails."""
    return {
        "password": f"pw-{secrets.token_urlsafe(12)}",
        "secret_key": f"sk-{secrets.token_urlsafe(32)}",
        "database_password": f"db-{secrets.token_urlsafe(12)}",
        "api_key_secret": secrets.token_urlsafe(32),
        # Not a secret but user data in an SQL parameter: neither belongs in a log line.
        "sql_parameter": f"param-{secrets.token_hex(8)}",
    }


@pytest.mark.parametrize("log_json", [True, False], ids=["json", "console"])
def test_no_secret_reaches_the_logs_when_requests_fail(
    settings: Settings,
    runtime: Runtime,
    tenant: Any,
    secrets_in_play: dict[str, str],
    restore_logging: Any,
    capsys: pytest.CaptureFixture[str],
    log_json: bool,
) -> None:
    configure_logging(settings.model_copy(update={"log_json": log_json, "log_level": "INFO"}))
    found = secrets_in_play
    up_settings = settings.model_copy(update={"secret_key": found["secret_key"]})
    down_url = f"postgresql://postgres:{found['database_password']}@127.0.0.1:{unused_port()}/nowhere"
    down_settings = up_settings.model_copy(update={"database_url": down_url})
    up = create_runtime(up_settings, runtime.database_url, runtime.redis_url, plugins=PluginHost())
    # The same credential cache: a token checked by `up` is still trusted while the database is down.
    down = create_runtime(down_settings, down_url, runtime.redis_url, plugins=PluginHost())
    down.credentials = up.credentials
    api_key = f"crm_{tenant.id.hex}_{uuid.uuid4().hex}_{found['api_key_secret']}"
    try:
        with TestClient(create_app(up, GraphQLEngine(up))) as client:
            login = {"email": tenant.owner_email, "password": tenant.password, "tenant": tenant.slug}
            token = client.post("/graphql", json={"query": LOGIN_MUTATION, "variables": {"input": login}}).json()
            token = token["data"]["login"]["token"]
            assert client.post("/graphql", json={"query": "{ me { email } }"}, headers=bearer(token)).status_code == 200
            # A NUL byte in the e-mail, with the password next to it.
            nul = {"email": f"{found['sql_parameter']}\x00@example.com", "password": found["password"], "tenant": "x"}
            client.post("/graphql", json={"query": LOGIN_MUTATION, "variables": {"input": nul}})
        with TestClient(create_app(down, GraphQLEngine(down)), raise_server_exceptions=False) as client:
            # Log in while PostgreSQL is unreachable.
            login = {"email": tenant.owner_email, "password": found["password"], "tenant": tenant.slug}
            answer = client.post("/graphql", json={"query": LOGIN_MUTATION, "variables": {"input": login}})
            assert answer.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            # An API key that cannot be checked.
            assert (
                client.post("/graphql", json={"query": "{ me { email } }"}, headers=bearer(api_key)).status_code == 500
            )
            # A resolver that fails (the token is cached, the database is not there).
            answer = client.post("/graphql", json={"query": "{ customers { totalCount } }"}, headers=bearer(token))
            assert answer.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        # Bad SQL parameters: the statement fails in PostgreSQL, its parameters must not be logged.
        with pytest.raises(DBAPIError), up.engine.connect() as conn:
            try:
                conn.execute(
                    text("SELECT length(:text) + CAST(:n AS smallint)"), {"text": found["sql_parameter"], "n": 10**6}
                )
            except DBAPIError:
                get_logger("tests").exception("statement_failed", settings=repr(down.settings))
                raise
    finally:
        up.close()
        down.close()

    output = capsys.readouterr().out
    assert output.count("OperationalError") >= 3 and "NumericValueOutOfRange" in output, (
        output
    )  # the failures were logged, tracebacks included
    _, claims, signature = token.split(".")
    watched = {**found, "token claims": claims, "token signature": signature}
    leaked = sorted(name for name, value in watched.items() if appears(value, output))
    assert not leaked, f"secrets in the logs: {leaked}"


def appears(secret: str, output: str, window: int = 10) -> bool:
    """Whether any `window` characters of `secret` are in `output` (truncated reprs show a prefix)."""
    return any(secret[i : i + window] in output for i in range(len(secret) - window + 1))


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


def test_cached_loggers_write_the_same_lines(
    settings: Settings, restore_logging: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The serving process keeps its loggers (`cache_loggers`, saas.cli.create_asgi_app): the lines are the same."""
    configure_logging(settings.model_copy(update={"log_json": True, "log_level": "INFO"}), cache_loggers=True)
    logger = get_logger("test.cached")  # a logger of its own: no module's logger is kept past this test
    logger.info("graphql_request", operation="Cached", outcome="success")
    logger.debug("hidden")
    logger.info("graphql_request", operation="Again", outcome="success")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["event"], line["operation"], line["level"]) for line in lines] == [
        ("graphql_request", "Cached", "info"),
        ("graphql_request", "Again", "info"),
    ]


@pytest.mark.parametrize("log_json", [True, False])
def test_cached_loggers_write_what_the_standard_library_writes(
    settings: Settings, restore_logging: Any, capsys: pytest.CaptureFixture[str], log_json: bool
) -> None:
    """Served, structlog's lines skip the standard library's records (`HandlerLogger`): the same
    text as through `ProcessorFormatter`, tracebacks included, beside the standard library's lines."""

    def lines(cache_loggers: bool) -> list[str]:
        configure_logging(
            settings.model_copy(update={"log_json": log_json, "log_level": "INFO"}), cache_loggers=cache_loggers
        )
        logger = get_logger(f"test.direct.{cache_loggers}")  # its own: no module's logger is kept
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id="r-7", tenant_id="t-1")
        logger.info("graphql_request", transport="http", operation="Op", status=200, duration_ms=1.5)
        logger.debug("hidden")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("unexpected error", path=["a", 1])
        logging.getLogger("sqlalchemy.engine").warning("standard %s", "line")
        structlog.contextvars.clear_contextvars()
        output = capsys.readouterr().out
        # The time and the logger's name differ by construction.
        output = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "TIME", output).replace(f"test.direct.{cache_loggers}", "NAME")
        return output.splitlines()

    direct, formatted = lines(True), lines(False)
    assert direct == formatted
    assert len(direct) >= 3 and any("boom" in line for line in direct)
    if log_json:
        assert [json.loads(line)["event"] for line in direct] == [
            "graphql_request",
            "unexpected error",
            "standard line",
        ]


def test_a_line_that_cannot_be_written_does_not_fail_the_caller(
    settings: Settings, restore_logging: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the standard library's handler: the error is printed on stderr, the caller goes on."""

    class Closed:
        def write(self, text: str) -> int:
            raise OSError("stdout is gone")

        def flush(self) -> None:
            pass

    configure_logging(settings.model_copy(update={"log_json": True, "log_level": "INFO"}), cache_loggers=True)
    logging.getLogger().handlers[0].setStream(Closed())  # type: ignore[attr-defined]
    get_logger("test.closed").info("graphql_request", operation="Lost")
    assert "stdout is gone" in capsys.readouterr().err
