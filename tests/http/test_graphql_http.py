"""GraphQL over HTTP: methods, media types, status codes, authentication, masking."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from tests.http.transport_helpers import GRAPHQL_RESPONSE, LOGIN, login_variables, without_cost

JSON_UTF8 = "application/json; charset=utf-8"
GRAPHQL_RESPONSE_UTF8 = f"{GRAPHQL_RESPONSE}; charset=utf-8"


def post(client: TestClient, body: Any, accept: str | None = "application/json", **headers: str) -> Any:
    if accept is not None:
        headers["accept"] = accept
    return client.post("/graphql", json=body, headers=headers)


def codes(response: Any) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


# --- success and media types ---------------------------------------------------------------


def test_post_query_succeeds(client: TestClient) -> None:
    response = post(client, {"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_UTF8
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


def test_graphql_response_json_when_accepted(client: TestClient) -> None:
    response = post(client, {"query": "{ __typename }"}, accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9")
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_UTF8


def test_highest_ranked_accepted_type_wins(client: TestClient) -> None:
    response = post(client, {"query": "{ __typename }"}, accept=f"application/json, {GRAPHQL_RESPONSE};q=0.5")
    assert response.headers["content-type"] == JSON_UTF8


@pytest.mark.parametrize("accept", [None, "*/*", "application/*"])
def test_unspecific_accept_gets_application_json(client: TestClient, accept: str | None) -> None:
    if accept is None:
        client.headers.pop("accept", None)
    response = post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_UTF8


def test_unacceptable_accept_is_406(client: TestClient) -> None:
    response = post(client, {"query": "{ __typename }"}, accept="text/plain")
    assert response.status_code == 406
    assert response.headers["content-type"] == JSON_UTF8
    assert GRAPHQL_RESPONSE in response.json()["errors"][0]["message"]


def test_body_is_bytes_of_the_engine_payload(client: TestClient) -> None:
    response = post(client, {"query": "query Hello { __typename }", "operationName": "Hello", "extensions": {"x": 1}})
    cost = {"cost": {"requested": 0, "remaining": None, "resetAt": None}}  # anonymous: no budget
    assert response.content == orjson.dumps({"data": {"__typename": "Query"}, "extensions": cost})


# --- GraphQL request errors: 400 with graphql-response+json, 200 with application/json --------

REQUEST_ERRORS = [
    pytest.param({"query": "{ __typename"}, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED", id="validation"),
    pytest.param({"query": "query A { __typename } query B { __typename }"}, "BAD_USER_INPUT", id="ambiguous"),
    pytest.param({"query": LOGIN, "variables": {"input": {"email": 1}}}, None, id="variables-coercion"),
]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS)
def test_request_error_is_400_for_graphql_response_json(
    client: TestClient, body: dict[str, Any], code: str | None
) -> None:
    response = post(client, body, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_UTF8
    assert "data" not in response.json()
    assert response.json()["errors"]
    if code:
        assert codes(response)[0] == code


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS)
def test_request_error_is_200_for_application_json(client: TestClient, body: dict[str, Any], code: str | None) -> None:
    response = post(client, body, accept="application/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_UTF8
    assert "data" not in response.json()
    if code:
        assert codes(response)[0] == code


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
def test_field_error_alongside_data_is_200(client: TestClient, accept: str) -> None:
    response = post(client, {"query": "{ me { email } }"}, accept=accept)  # anonymous: UNAUTHENTICATED
    assert response.status_code == 200
    assert "data" in response.json()
    assert codes(response) == ["UNAUTHENTICATED"]


# --- malformed HTTP requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"{ __typename }"', "JSON object"),
        (b"{}", "'query'"),
        (b'{"query": null}', "'query'"),
        (b'{"query": 1}', "'query' must be a string"),
        (b'{"query": "{ __typename }", "variables": [1]}', "'variables' must be a JSON object"),
        (b'{"query": "{ __typename }", "variables": "{}"}', "'variables' must be a JSON object"),
        (b'{"query": "{ __typename }", "operationName": 1}', "'operationName' must be a string"),
        (b'{"query": "{ __typename }", "extensions": 1}', "'extensions' must be a JSON object"),
    ],
)
def test_malformed_post_is_400(client: TestClient, content: bytes, message: str) -> None:
    response = client.post("/graphql", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_UTF8
    assert message in response.json()["errors"][0]["message"]
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_unsupported_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    assert response.status_code == 415


def test_json_with_charset_utf8_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "application/json; charset=UTF-8"}
    )
    assert response.status_code == 200


def test_query_over_the_limit_is_413(client: TestClient, runtime: Runtime) -> None:
    limit = runtime.settings.max_query_bytes
    query = "{ __typename }".ljust(limit + 1)
    response = post(client, {"query": query})
    assert response.status_code == 413
    assert f"the limit is {limit} bytes" in response.json()["errors"][0]["message"]
    assert post(client, {"query": "{ __typename }".ljust(limit)}).status_code == 200


def query_of(size: int, filler: str) -> str:
    """`{ __typename }` and a comment of `filler` characters (then ASCII), `size` bytes in UTF-8."""
    head = "{ __typename } #"
    room = size - len(head)
    width = len(filler.encode())
    return head + filler * (room // width) + "x" * (room % width)


@pytest.mark.parametrize("filler", ["x", "\u00e9", "\u20ac", "\U0001d11e"])  # 1, 2, 3 and 4 bytes each
def test_the_query_limit_counts_bytes_not_characters(client: TestClient, runtime: Runtime, filler: str) -> None:
    """Many characters of several bytes: at the limit served, one byte over refused, every time."""
    limit = runtime.settings.max_query_bytes
    over = query_of(limit + 1, filler)
    assert len(over.encode()) == limit + 1
    for _ in range(2):
        response = post(client, {"query": over})
        assert response.status_code == 413
        assert f"is {limit + 1} bytes; the limit is {limit} bytes" in response.json()["errors"][0]["message"]
        assert post(client, {"query": query_of(limit, filler)}).status_code == 200


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("text/plain", "Send the GraphQL request as 'Content-Type: application/json'"),
        ("application/json; charset=latin-1", "The request body must be encoded in UTF-8"),
        ('Application/JSON; Charset="UTF8"', None),
    ],
)
def test_a_content_type_is_judged_the_same_every_time(
    client: TestClient, content_type: str, message: str | None
) -> None:
    for _ in range(3):
        response = client.post(
            "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": content_type}
        )
        if message is None:
            assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}
        else:
            assert response.status_code == 415
            assert response.json()["errors"][0]["message"] == message
            assert "data" not in response.json()


def test_body_over_the_limit_is_413(runtime: Runtime, engine: GraphQLEngine) -> None:
    with TestClient(create_app(runtime, engine, max_body_bytes=1000)) as client:
        response = post(client, {"query": "{ __typename }", "variables": {"x": "y" * 1000}})
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405(client: TestClient, method: str) -> None:
    response = client.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_subscription_over_http_is_refused(client: TestClient) -> None:
    response = post(client, {"query": "subscription { customerEvents { kind } }"})
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


# --- GET ----------------------------------------------------------------------------------------


def test_get_query(client: TestClient) -> None:
    response = client.get(
        "/graphql",
        params={
            "query": "query Q($n: String!) { __type(name: $n) { name } }",
            "variables": '{"n": "Query"}',
            "operationName": "",
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_UTF8
    assert without_cost(response.json()) == {"data": {"__type": {"name": "Query"}}}


def test_get_mutation_is_405(client: TestClient, tenant: Any) -> None:
    variables = orjson.dumps(login_variables(tenant)).decode()
    response = client.get("/graphql", params={"query": LOGIN, "variables": variables})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_get_mutation_chosen_by_operation_name_is_405(client: TestClient) -> None:
    query = 'query Q { __typename } mutation M { login(input: {email: "a@b.c", password: "x", tenant: "t"}) { token } }'
    assert client.get("/graphql", params={"query": query, "operationName": "Q"}).status_code == 200
    assert client.get("/graphql", params={"query": query, "operationName": "M"}).status_code == 405


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"query": ""},
        {"query": "{ __typename }", "variables": "{oops"},
        {"query": "{ __typename }", "variables": "[]"},
    ],
)
def test_malformed_get_is_400(client: TestClient, params: dict[str, str]) -> None:
    assert client.get("/graphql", params=params, headers={"accept": "application/json"}).status_code == 400


# --- GraphiQL -------------------------------------------------------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_browser_gets_graphiql(client: TestClient) -> None:
    response = client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL.createFetcher" in response.text
    assert "subscriptionUrl" in response.text  # subscriptions over ws(s):// on the same URL


def test_graphiql_loads_its_assets_from_this_server_only(client: TestClient) -> None:
    """Offline, a page that loads scripts from a CDN stays blank: every asset is ours, as published."""
    import base64
    import hashlib
    from html.parser import HTMLParser
    from urllib.parse import urljoin, urlsplit

    class Assets(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            url = values.get("src") or (values.get("href") if tag == "link" else None)
            if url and not url.startswith("data:"):
                self.found.append({"url": url, "integrity": values.get("integrity"), "tag": tag})

    page = client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
    parser = Assets()
    parser.feed(page.text)
    assert len(parser.found) == 7  # React, ReactDOM, js-cookie, GraphiQL (js, css), the explorer (js, css)
    for asset in parser.found:
        url = urljoin(str(page.url), str(asset["url"]))
        assert urlsplit(url).netloc == urlsplit(str(page.url)).netloc, asset
        served = client.get(url)
        assert served.status_code == 200, url
        expected = "text/css" if asset["tag"] == "link" else "javascript"
        assert expected in served.headers["content-type"], url
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert asset["integrity"] == f"sha384-{digest}", url


def test_browser_with_a_query_gets_the_result(client: TestClient) -> None:
    response = client.get("/graphql", params={"query": "{ __typename }"}, headers={"accept": BROWSER_ACCEPT})
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


def test_graphiql_can_be_disabled(runtime: Runtime, engine: GraphQLEngine) -> None:
    settings = runtime.settings.model_copy(update={"graphiql": False})
    with TestClient(create_app(dataclasses.replace(runtime, settings=settings), engine)) as client:
        response = client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        assets = client.get("/static/graphiql/graphiql.min.js")
    assert response.status_code == 400
    assert "text/html" not in response.headers["content-type"]
    assert assets.status_code == 404


# --- authentication -------------------------------------------------------------------------------


def test_login_then_me(client: TestClient, tenant: Any, token: str) -> None:
    response = post(client, {"query": "{ me { email } }"}, authorization=f"Bearer {token}")
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"me": {"email": tenant.owner_email}}}


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer"])
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
def test_bad_credentials_are_401(client: TestClient, authorization: str, accept: str) -> None:
    response = post(client, {"query": "{ __typename }"}, accept=accept, authorization=authorization)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    body = response.json()
    assert "data" not in body
    assert codes(response) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["message"]


# --- request ids and masking ----------------------------------------------------------------------


def test_request_id_is_made_or_kept(client: TestClient) -> None:
    made = post(client, {"query": "{ __typename }"}).headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    kept = post(client, {"query": "{ __typename }"}, **{"x-request-id": "abc-123.DEF:9_z"})
    assert kept.headers["x-request-id"] == "abc-123.DEF:9_z"
    for insane in ["has space", "x" * 65, "-leading-dash", "semi;colon"]:
        replaced = post(client, {"query": "{ __typename }"}, **{"x-request-id": insane})
        assert replaced.headers["x-request-id"] != insane


class BrokenEngine(GraphQLEngine):
    """The real engine with a bug planted in `execute`."""

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")


def test_unexpected_exception_is_masked_500(runtime: Runtime, captured_logs: list[dict[str, Any]]) -> None:
    with TestClient(create_app(runtime, BrokenEngine(runtime))) as client:
        response = post(client, {"query": "{ __typename }"}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 500
    assert response.headers["content-type"] == JSON_UTF8
    assert "secret" not in response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]}
    failure = next(e for e in captured_logs if e["event"] == "graphql_http_failed")
    assert failure["exc_info"] is True and failure["request_id"] == response.headers["x-request-id"]
