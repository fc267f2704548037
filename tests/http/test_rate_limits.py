"""Per-tenant budgets over HTTP and WebSocket: a noisy tenant gets 429s, a quiet one none."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from saas.runtime import Runtime
from tests.http.transport_helpers import GRAPHQL_RESPONSE, login
from tests.schema.test_cost import limit_tenant

ME = "{ me { email role } }"  # costs 3


def post(client: TestClient, token: str, query: str = ME, accept: str = GRAPHQL_RESPONSE) -> Any:
    return client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}", "Accept": accept}
    )


def test_a_noisy_tenant_is_throttled_and_a_quiet_one_is_not(
    client: TestClient, runtime: Runtime, tenant: Any, other_tenant: Any
) -> None:
    limit_tenant(runtime, tenant, cost_per_minute=30)  # ten operations of 3, then one per 6 s
    noisy, quiet = login(client, tenant), login(client, other_tenant)
    noisy_statuses, quiet_statuses = [], []
    for _ in range(25):
        noisy_statuses.append(post(client, noisy).status_code)
        quiet_statuses.append(post(client, quiet).status_code)
    assert noisy_statuses[:10] == [200] * 10
    assert noisy_statuses.count(429) >= 14
    assert quiet_statuses == [200] * 25


def test_over_budget_is_429_with_retry_after_and_rate_limited(
    client: TestClient, runtime: Runtime, tenant: Any
) -> None:
    limit_tenant(runtime, tenant, cost_per_minute=6)
    token = login(client, tenant)
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        responses = [post(client, token, accept=accept) for _ in range(3)]
        refused = responses[-1]
        assert refused.status_code == 429, [r.status_code for r in responses]
        body = refused.json()
        assert "data" not in body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after >= 1 and body["errors"][0]["extensions"]["retryAfter"] == retry_after
        assert body["extensions"]["cost"]["requested"] == 3


def test_too_complex_is_a_request_error_not_a_429(client: TestClient, runtime: Runtime, tenant: Any) -> None:
    limit_tenant(runtime, tenant, max_query_cost=2)
    response = post(client, login(client, tenant))
    assert response.status_code == 400
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["QUERY_TOO_COMPLEX"]


def test_a_websocket_operation_over_budget_ends_with_an_error(
    client: TestClient, runtime: Runtime, tenant: Any
) -> None:
    limit_tenant(runtime, tenant, cost_per_minute=3)
    token = login(client, tenant)
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ME}})
        message = ws.receive_json()
        assert message["type"] == "next" and message["payload"]["extensions"]["cost"]["requested"] == 3
        assert ws.receive_json() == {"id": "1", "type": "complete"}
        ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": ME}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["id"] == "2"
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["RATE_LIMITED"]
        subscription = "subscription { customerEvents { __typename } }"
        ws.send_json({"id": "3", "type": "subscribe", "payload": {"query": subscription}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["id"] == "3"  # costed at subscribe time
