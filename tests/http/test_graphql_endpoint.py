"""/graphql's own ASGI path (`GraphQLEndpoint`), driven with raw ASGI messages: the body read from
`receive`, the response's messages and headers, and the duties it shares with
`RequestContextMiddleware` (request id, client binding, masked 500, metrics)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import structlog
from starlette.applications import Starlette
from starlette.testclient import TestClient

import saas.http.graphql_http as graphql_http
from saas.audit.client import current_client
from saas.auth.throttle import client_address
from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from tests.http.transport_helpers import GRAPHQL_RESPONSE, login_variables

TYPENAME = orjson.dumps({"query": "{ __typename }"})
JSON_HEADERS = [(b"content-type", b"application/json"), (b"accept", b"application/json")]


@dataclass
class Answer:
    messages: list[dict[str, Any]]

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0]["headers"])

    def header(self, name: bytes) -> bytes:
        return dict(self.headers)[name]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    def json(self) -> Any:
        return orjson.loads(self.body)


async def call(
    app: Any,
    *,
    method: str = "POST",
    headers: Sequence[tuple[bytes, bytes]] = JSON_HEADERS,
    chunks: Sequence[bytes] = (TYPENAME,),
    query_string: bytes = b"",
    path: str = "/graphql",
    root_path: str = "",
    disconnect: bool = False,
    client: tuple[str, int] | None = ("203.0.113.7", 4000),
) -> Answer:
    """One request as uvicorn would send it: the body in `chunks` (`more_body` on all but the last),
    or a disconnect after them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query_string,
        "headers": list(headers),
        "client": client,
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": disconnect or i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        incoming.append({"type": "http.disconnect"})
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return Answer(messages)


@pytest.fixture
def driven(app: Starlette) -> Iterator[Any]:
    """Runs `call` on the application's event loop (its lifespan started, as under uvicorn)."""
    with TestClient(app) as client:

        def run(**kwargs: Any) -> Answer:
            return client.portal.call(lambda: call(app, **kwargs))

        yield run


def test_a_query_is_two_messages_with_the_headers_in_starlettes_order(driven: Any) -> None:
    answer = driven(headers=[*JSON_HEADERS, (b"x-request-id", b"lean-1")])
    assert [m["type"] for m in answer.messages] == ["http.response.start", "http.response.body"]
    assert answer.status == 200
    assert answer.headers == [
        (b"content-length", str(len(answer.body)).encode()),
        (b"content-type", b"application/json; charset=utf-8"),
        (b"x-request-id", b"lean-1"),
    ]
    assert answer.json()["data"] == {"__typename": "Query"}


def test_a_body_in_several_chunks_is_joined(driven: Any) -> None:
    answer = driven(chunks=[TYPENAME[:5], b"", TYPENAME[5:12], TYPENAME[12:]])
    assert answer.status == 200 and answer.json()["data"] == {"__typename": "Query"}


def test_a_chunked_body_over_the_limit_is_413_without_a_content_length(runtime: Runtime, engine: GraphQLEngine) -> None:
    body = orjson.dumps({"query": "{ __typename }", "variables": {"x": "y" * 1000}})
    app = create_app(runtime, engine, max_body_bytes=1000)
    with TestClient(app) as client:
        answer = client.portal.call(lambda: call(app, chunks=[body[:600], body[600:]]))
        declared = client.portal.call(
            lambda: call(app, headers=[*JSON_HEADERS, (b"content-length", b"1001")], chunks=[b"{}"])
        )
    assert answer.status == 413
    assert answer.json()["errors"][0]["message"] == "The request body is larger than 1000 bytes"
    assert declared.status == 413  # refused on the declared length, before reading


def test_an_empty_body_is_400(driven: Any) -> None:
    answer = driven(chunks=[b""])
    assert answer.status == 400
    assert "empty" in answer.json()["errors"][0]["message"]


def test_a_missing_content_type_is_415(driven: Any) -> None:
    answer = driven(headers=[(b"accept", b"application/json")])
    assert answer.status == 415
    assert answer.header(b"content-type") == b"application/json; charset=utf-8"


def test_an_unacceptable_accept_is_406(driven: Any) -> None:
    answer = driven(headers=[(b"content-type", b"application/json"), (b"accept", b"text/csv")])
    assert answer.status == 406


def test_repeated_headers_count_once_the_first(driven: Any) -> None:
    answer = driven(headers=[*JSON_HEADERS, (b"accept", b"text/csv"), (b"x-request-id", b"a"), (b"x-request-id", b"b")])
    assert answer.status == 200 and answer.header(b"x-request-id") == b"a"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "HEAD"])
def test_other_methods_are_405_with_allow(driven: Any, method: str) -> None:
    answer = driven(method=method)
    assert answer.status == 405
    assert answer.headers[0] == (b"allow", b"GET, POST")
    assert [name for name, _ in answer.headers] == [b"allow", b"content-length", b"content-type", b"x-request-id"]
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_method_no_route_names_gets_the_routers_405(driven: Any) -> None:
    answer = driven(method="PROPFIND")
    assert answer.status == 405
    assert answer.body == b"Method Not Allowed"
    assert dict(answer.headers)[b"x-request-id"]  # through RequestContextMiddleware


def test_get_runs_a_query_and_refuses_a_mutation(driven: Any) -> None:
    query = driven(method="GET", headers=JSON_HEADERS[1:], chunks=[b""], query_string=b"query=%7B__typename%7D")
    assert query.status == 200 and query.json()["data"] == {"__typename": "Query"}
    mutation = driven(
        method="GET", headers=JSON_HEADERS[1:], chunks=[b""], query_string=b"query=mutation%7B__typename%7D"
    )
    assert mutation.status == 405 and mutation.header(b"allow") == b"POST"


def test_a_browser_gets_graphiql(driven: Any) -> None:
    answer = driven(method="GET", headers=[(b"accept", b"text/html")], chunks=[b""])
    assert answer.status == 200
    assert answer.headers[1] == (b"content-type", b"text/html; charset=utf-8")
    assert answer.header(b"content-length") == str(len(answer.body)).encode()
    assert b"<html" in answer.body.lower()


def test_request_ids_are_kept_when_sane_and_made_otherwise(driven: Any) -> None:
    kept = driven(headers=[*JSON_HEADERS, (b"x-request-id", b"abc-123.DEF:9_z")])
    assert kept.header(b"x-request-id") == b"abc-123.DEF:9_z"
    made = {driven(headers=[*JSON_HEADERS, (b"x-request-id", b"has space")]).header(b"x-request-id") for _ in range(3)}
    assert len(made) == 3 and all(len(rid) == 32 for rid in made)


def test_requests_in_a_row_each_get_their_own_id_and_context(driven: Any) -> None:
    """A kept-alive connection's requests: nothing of one is left bound for the next."""
    ids = [driven(headers=[*JSON_HEADERS, (b"x-request-id", f"row-{i}".encode())]) for i in range(5)]
    assert [answer.header(b"x-request-id") for answer in ids] == [f"row-{i}".encode() for i in range(5)]
    assert all(answer.status == 200 for answer in ids)
    assert client_address() is None and current_client().address is None


class RecordingEngine(GraphQLEngine):
    seen: list[dict[str, Any]] = []

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(
            {
                "context": structlog.contextvars.get_contextvars(),
                "address": client_address(),
                "client": current_client(),
            }
        )
        return await super().execute(*args, **kwargs)


def test_the_client_and_request_id_are_bound_during_execution(runtime: Runtime) -> None:
    engine = RecordingEngine(runtime)
    app = create_app(runtime, engine)
    headers = [*JSON_HEADERS, (b"x-request-id", b"bound-1"), (b"user-agent", b"probe/1.0")]
    with TestClient(app) as client:
        answer = client.portal.call(lambda: call(app, headers=headers))
    assert answer.status == 200
    seen = engine.seen[-1]
    assert seen["context"]["request_id"] == "bound-1"
    assert seen["address"] == "203.0.113.7"
    assert (seen["client"].address, seen["client"].user_agent) == ("203.0.113.7", "probe/1.0")


def test_metrics_count_the_requests_by_status(app: Starlette, driven: Any) -> None:
    driven()
    driven(method="PUT")
    rendered = app.state.transport.metrics.render().decode()
    assert 'http_requests_total{path="/graphql",status="200"} 1.0' in rendered
    assert 'http_requests_total{path="/graphql",status="405"} 1.0' in rendered
    assert 'graphql_requests_total{operation="anonymous",outcome="success",type="query"} 1.0' in rendered


def test_an_exception_escaping_the_endpoint_is_a_masked_500(
    driven: Any, monkeypatch: pytest.MonkeyPatch, captured_logs: list[dict[str, Any]]
) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr(graphql_http, "respond", broken)
    answer = driven(headers=[*JSON_HEADERS, (b"x-request-id", b"boom-2")])
    assert answer.status == 500
    assert b"hunter2" not in answer.body
    assert answer.header(b"x-request-id") == b"boom-2"
    assert answer.header(b"content-type") == b"application/json; charset=utf-8"
    assert answer.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "boom-2"}
    logged = next(e for e in captured_logs if e["event"] == "unhandled_exception")
    assert logged["request_id"] == "boom-2" and logged["exc_info"] is True


def test_a_client_gone_before_its_body_ends_is_a_masked_500(driven: Any) -> None:
    answer = driven(chunks=[TYPENAME[:5]], disconnect=True)
    assert answer.status == 500
    assert answer.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_the_router_serves_graphql_under_a_root_path_the_same_way(driven: Any) -> None:
    """Under a `root_path` the request goes through Starlette's router and middleware: same answer."""
    for headers in (JSON_HEADERS, [(b"accept", b"application/json")], [*JSON_HEADERS[:1], (b"accept", b"text/csv")]):
        lean = driven(headers=[*headers, (b"x-request-id", b"same")])
        routed = driven(headers=[*headers, (b"x-request-id", b"same")], path="/api/graphql", root_path="/api")
        assert (routed.status, routed.headers, routed.body) == (lean.status, lean.headers, lean.body)


def test_other_paths_still_go_through_starlette(driven: Any) -> None:
    answer = driven(method="GET", path="/healthz", headers=[(b"x-request-id", b"hz")], chunks=[b""])
    assert answer.status == 200 and answer.header(b"x-request-id") == b"hz"
    missing = driven(method="GET", path="/graphql/", headers=[], chunks=[b""])
    assert missing.status == 307 and missing.header(b"location").endswith(b"/graphql")  # the router's redirect


def test_sign_in_over_the_endpoint_and_a_second_tenant_sees_nothing_of_the_first(
    driven: Any, tenant: Any, other_tenant: Any
) -> None:
    login = "mutation($input: LoginInput!) { login(input: $input) { token } }"

    def token_of(who: Any) -> str:
        body = orjson.dumps({"query": login, "variables": login_variables(who)})
        return str(driven(chunks=[body]).json()["data"]["login"]["token"])

    first, second = token_of(tenant), token_of(other_tenant)
    create = orjson.dumps(
        {"query": 'mutation { createCustomer(input: {name: "Lean Co"}) { customer { id } userErrors { code } } }'}
    )
    created = driven(headers=[*JSON_HEADERS, (b"authorization", f"Bearer {first}".encode())], chunks=[create])
    customer_id = created.json()["data"]["createCustomer"]["customer"]["id"]
    read = orjson.dumps(
        {"query": "query($id: ID!) { customer(id: $id) { id name } }", "variables": {"id": customer_id}}
    )
    mine = driven(headers=[*JSON_HEADERS, (b"authorization", f"Bearer {first}".encode())], chunks=[read])
    theirs = driven(headers=[*JSON_HEADERS, (b"authorization", f"Bearer {second}".encode())], chunks=[read])
    assert mine.json()["data"]["customer"] == {"id": customer_id, "name": "Lean Co"}
    assert theirs.status == 200 and b"Lean Co" not in theirs.body
    assert theirs.json()["data"] is None and theirs.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = driven(
        headers=[
            (b"content-type", b"application/json"),
            (b"accept", GRAPHQL_RESPONSE.encode()),
            (b"authorization", b"Bearer nope"),
        ]
    )
    assert bad.status == 401 and bad.header(b"www-authenticate") == b"Bearer"
