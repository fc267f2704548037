"""The graphql-transport-ws protocol on /graphql, against the real engine, PostgreSQL and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from tests.http.transport_helpers import LOGIN, login, login_variables, wait_for_listener, without_cost

PROTOCOL = ["graphql-transport-ws"]
EVENTS = "subscription Events { customerEvents { kind customerId } }"
# The same name each time: not a duplicate check's business here.
CREATE_CUSTOMER = (
    'mutation { createCustomer(input: {name: "Acme", allowDuplicate: true}) { customer { id } userErrors { code } } }'
)

Socket = Any  # starlette.testclient.WebSocketTestSession


@contextmanager
def connected(client: TestClient, token: str | None = None, **init: Any) -> Iterator[Socket]:
    """A socket past connection_init / connection_ack."""
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        if token:
            init["authorization"] = f"Bearer {token}"
        ws.send_json({"type": "connection_init", "payload": init})
        assert ws.receive_json() == {"type": "connection_ack"}
        yield ws


def closed_with(ws: Socket) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code


def test_subprotocol_is_negotiated(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.accepted_subprotocol == "graphql-transport-ws"
        assert dict(ws.extra_headers)[b"x-request-id"]  # the connection's id, also in its logs


@pytest.mark.parametrize("subprotocols", [None, ["graphql-ws"]])
def test_other_subprotocols_are_closed_4406(client: TestClient, subprotocols: list[str] | None) -> None:
    with client.websocket_connect("/graphql", subprotocols=subprotocols) as ws:
        assert closed_with(ws) == 4406


def test_ping_pong_before_and_after_ack(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"type": "ping", "payload": {"at": 1}})
        assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "pong"})  # unsolicited pongs are fine
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_query_gets_next_and_complete(client: TestClient) -> None:
    with connected(client) as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        message = ws.receive_json()
        assert {**message, "payload": without_cost(message["payload"])} == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert ws.receive_json() == {"id": "1", "type": "complete"}
        # A finished id may be used again.
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        assert ws.receive_json()["type"] == "next"
        assert ws.receive_json() == {"id": "1", "type": "complete"}


def test_mutation_over_the_socket(client: TestClient, tenant: Any) -> None:
    with connected(client) as ws:
        payload = {"query": LOGIN, "variables": login_variables(tenant), "operationName": "Login"}
        ws.send_json({"id": "login", "type": "subscribe", "payload": payload})
        result = ws.receive_json()
        assert result["type"] == "next" and result["payload"]["data"]["login"]["token"]
        assert ws.receive_json() == {"id": "login", "type": "complete"}


@pytest.mark.parametrize("key", ["authorization", "Authorization"])  # GraphiQL sends its headers as they are typed
def test_authorised_in_connection_init(client: TestClient, tenant: Any, token: str, key: str) -> None:
    with connected(client, **{key: f"Bearer {token}"}) as ws:
        ws.send_json({"id": "me", "type": "subscribe", "payload": {"query": "{ me { email } }"}})
        assert without_cost(ws.receive_json()["payload"]) == {"data": {"me": {"email": tenant.owner_email}}}


def test_anonymous_connection_gets_field_errors(client: TestClient) -> None:
    with connected(client) as ws:
        ws.send_json({"id": "me", "type": "subscribe", "payload": {"query": "{ me { email } }"}})
        result = ws.receive_json()
        assert result["type"] == "next"
        assert result["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert ws.receive_json() == {"id": "me", "type": "complete"}


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Basic abc", 42])
def test_bad_credentials_close_4403(client: TestClient, authorization: Any) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": authorization}})
        assert closed_with(ws) == 4403


def test_no_connection_init_in_time_closes_4408(runtime: Runtime, engine: GraphQLEngine) -> None:
    with TestClient(create_app(runtime, engine, ws_init_timeout=0.1)) as client:
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "ping"})  # pings do not extend the wait
            assert ws.receive_json() == {"type": "pong"}
            assert closed_with(ws) == 4408


def test_second_connection_init_closes_4429(client: TestClient) -> None:
    with connected(client) as ws:
        ws.send_json({"type": "connection_init"})
        assert closed_with(ws) == 4429


def test_subscribe_before_ack_closes_4401(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        assert closed_with(ws) == 4401


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"no": "type"}',
        '{"type": "bogus"}',
        '{"type": "subscribe", "payload": {"query": "{ __typename }"}}',
        '{"type": "subscribe", "id": "", "payload": {"query": "{ __typename }"}}',
        '{"type": "subscribe", "id": "1"}',
        '{"type": "subscribe", "id": "1", "payload": {"query": 1}}',
        '{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "variables": []}}',
        '{"type": "complete"}',
    ],
)
def test_invalid_messages_close_4400(client: TestClient, message: str) -> None:
    with connected(client) as ws:
        ws.send_text(message)
        assert closed_with(ws) == 4400


def test_invalid_init_payload_closes_4400(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": ["not", "an", "object"]})
        assert closed_with(ws) == 4400


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"query": "{ __typename"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": LOGIN, "variables": {"input": {"email": 1}}}, None),
    ],
)
def test_request_errors_get_an_error_message(client: TestClient, payload: dict[str, Any], code: str | None) -> None:
    with connected(client) as ws:
        ws.send_json({"id": "bad", "type": "subscribe", "payload": payload})
        message = ws.receive_json()
        assert message["id"] == "bad" and message["type"] == "error"
        assert isinstance(message["payload"], list) and message["payload"]
        if code:
            assert message["payload"][0]["extensions"]["code"] == code
        # The connection stays usable after an operation error.
        ws.send_json({"id": "bad", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        assert ws.receive_json()["type"] == "next"


def test_oversized_query_gets_an_error_message(client: TestClient, runtime: Runtime) -> None:
    with connected(client) as ws:
        query = "{ __typename }".ljust(runtime.settings.max_query_bytes + 1)
        ws.send_json({"id": "big", "type": "subscribe", "payload": {"query": query}})
        message = ws.receive_json()
        assert message["type"] == "error" and "limit" in message["payload"][0]["message"]


def test_too_many_operations_get_an_error(runtime: Runtime, engine: GraphQLEngine, tenant: Any) -> None:
    with TestClient(create_app(runtime, engine, ws_max_operations=1)) as client:
        token = login(client, tenant)
        with connected(client, token) as ws:
            ws.send_json({"id": "a", "type": "subscribe", "payload": {"query": EVENTS}})
            wait_for_listener(runtime, tenant.id)
            ws.send_json({"id": "b", "type": "subscribe", "payload": {"query": "{ __typename }"}})
            message = ws.receive_json()
            assert message["id"] == "b" and message["type"] == "error"
            assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


# --- subscriptions ----------------------------------------------------------------------------------


def test_subscription_streams_the_tenants_events(client: TestClient, runtime: Runtime, tenant: Any, token: str) -> None:
    with connected(client, token) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": EVENTS, "operationName": "Events"}})
        wait_for_listener(runtime, tenant.id)
        for _ in range(2):
            headers = {"authorization": f"Bearer {token}"}
            created = client.post("/graphql", json={"query": CREATE_CUSTOMER}, headers=headers)
            customer_id = created.json()["data"]["createCustomer"]["customer"]["id"]
            event = ws.receive_json()
            assert event == {
                "id": "events",
                "type": "next",
                "payload": {"data": {"customerEvents": {"kind": "customer.created", "customerId": customer_id}}},
            }


def test_subscriptions_sharing_one_stream_get_each_event_once_in_order_under_their_own_id(
    client: TestClient, engine: GraphQLEngine, runtime: Runtime, tenant: Any, token: str
) -> None:
    """Two sockets and two operations on one of them, one document and principal: one shared
    stream, whose result each gets once, in order, framed with its own operation id; nothing
    more for an operation the client completed."""
    headers = {"authorization": f"Bearer {token}"}

    def create() -> str:
        created = client.post("/graphql", json={"query": CREATE_CUSTOMER}, headers=headers)
        return str(created.json()["data"]["createCustomer"]["customer"]["id"])

    def event(op_id: str, customer_id: str) -> dict[str, Any]:
        data = {"customerEvents": {"kind": "customer.created", "customerId": customer_id}}
        return {"id": op_id, "type": "next", "payload": {"data": data}}

    with connected(client, token) as first, connected(client, token) as second:
        for op_id in ("a", "b"):
            first.send_json({"id": op_id, "type": "subscribe", "payload": {"query": EVENTS}})
        second.send_json({"id": "c", "type": "subscribe", "payload": {"query": EVENTS}})
        wait_for_listener(runtime, tenant.id, listeners=1)
        (stream,) = engine.shared_streams.streams.values()
        for _ in range(100):
            if len(stream.queues) == 3:
                break
            time.sleep(0.02)
        assert len(stream.queues) == 3
        ids = [create() for _ in range(3)]
        on_first = [first.receive_json() for _ in range(6)]
        assert [m for m in on_first if m["id"] == "a"] == [event("a", i) for i in ids]
        assert [m for m in on_first if m["id"] == "b"] == [event("b", i) for i in ids]
        assert [second.receive_json() for _ in range(3)] == [event("c", i) for i in ids]
        assert stream.executions == 3  # once per event, for the three subscriptions

        first.send_json({"id": "a", "type": "complete"})
        for _ in range(100):
            if len(stream.queues) == 2:
                break
            time.sleep(0.02)
        last = create()
        assert first.receive_json() == event("b", last)
        assert second.receive_json() == event("c", last)
        first.send_json({"type": "ping"})
        assert first.receive_json() == {"type": "pong"}  # nothing for the completed "a"


def test_duplicate_id_closes_4409(client: TestClient, runtime: Runtime, tenant: Any, token: str) -> None:
    with connected(client, token) as ws:
        ws.send_json({"id": "same", "type": "subscribe", "payload": {"query": EVENTS}})
        wait_for_listener(runtime, tenant.id)
        ws.send_json({"id": "same", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        assert closed_with(ws) == 4409
    wait_for_listener(runtime, tenant.id, listeners=0)  # the running subscription was cancelled


def test_client_complete_stops_the_subscription(client: TestClient, runtime: Runtime, tenant: Any, token: str) -> None:
    with connected(client, token) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        wait_for_listener(runtime, tenant.id)
        ws.send_json({"id": "events", "type": "complete"})
        wait_for_listener(runtime, tenant.id, listeners=0)
        ws.send_json({"id": "unknown", "type": "complete"})  # completing an unknown id is harmless
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # nothing was sent for the completed operation


def test_disconnect_stops_every_subscription(client: TestClient, runtime: Runtime, tenant: Any, token: str) -> None:
    with connected(client, token) as ws:
        for op_id in ("a", "b"):
            ws.send_json({"id": op_id, "type": "subscribe", "payload": {"query": EVENTS}})
        # The process's listeners share one Redis subscription; it ends only when both have.
        wait_for_listener(runtime, tenant.id, listeners=1)
    wait_for_listener(runtime, tenant.id, listeners=0)


def test_subscription_needs_authentication(client: TestClient) -> None:
    with connected(client) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        message = ws.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_websocket_denial_is_not_used(client: TestClient) -> None:
    # Protocol failures are close codes on an accepted socket, never a refused handshake.
    try:
        with client.websocket_connect("/graphql") as ws:
            assert closed_with(ws) == 4406
    except WebSocketDenialResponse:  # pragma: no cover
        pytest.fail("the handshake was refused")
