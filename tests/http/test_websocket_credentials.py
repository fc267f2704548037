"""An open socket answers to its credential's current state, not to what it was at `connection_init`.

Every operation is authorised again (through the same 5-second credential cache as HTTP); a
running subscription ends when its credential ends (close 4403, which graphql-ws clients
answer by connecting again with fresh parameters), and a token's `exp` ends the connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from saas.accounts.models import Membership
from saas.auth.tokens import issue_token, read_token
from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine
from saas.tenancy.session import tenant_session
from tests.conftest import CredentialClock, GraphQLClient, TenantHandle, add_member
from tests.http.test_websocket import CREATE_CUSTOMER, EVENTS, closed_with, connected
from tests.http.transport_helpers import wait_for_listener

RECHECK_SECONDS = 0.05
CREATE_API_KEY = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id } secret userErrors { code } }
}"""
REVOKE_API_KEY = "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } } }"
UPDATE_ROLE = "mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) { member { role } } }"
REMOVE_MEMBER = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { member { id } } }"
MY_MEMBER_ID = "{ me { member { id } } }"


@pytest.fixture
def client(runtime: Runtime, engine: GraphQLEngine) -> Iterator[TestClient]:
    """The application, re-checking the credentials of running subscriptions every 50 ms."""
    app = create_app(runtime, engine, ws_init_timeout=2.0, ws_credential_check_interval=RECHECK_SECONDS)
    with TestClient(app) as test_client:
        yield test_client


def run(ws: Any, op_id: str, query: str) -> dict[str, Any]:
    """Send one query or mutation and return its result (the `next` payload)."""
    ws.send_json({"id": op_id, "type": "subscribe", "payload": {"query": query}})
    message = ws.receive_json()
    assert message["type"] == "next", message
    assert ws.receive_json() == {"id": op_id, "type": "complete"}
    result: dict[str, Any] = message["payload"]
    return result


def created(ws: Any, op_id: str) -> bool:
    result = run(ws, op_id, CREATE_CUSTOMER)
    return "errors" not in result and result["data"]["createCustomer"]["customer"] is not None


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


def api_key(owner: GraphQLClient, scopes: list[str]) -> tuple[str, str]:
    """(id, secret) of a new API key of the owner's tenant."""
    payload = owner.data(CREATE_API_KEY, {"input": {"name": "socket", "scopes": scopes}})["createApiKey"]
    return payload["apiKey"]["id"], payload["secret"]


def member_id(member: GraphQLClient) -> str:
    return str(member.data(MY_MEMBER_ID)["me"]["member"]["id"])


def test_a_revoked_api_key_closes_the_socket(
    client: TestClient, owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    key_id, secret = api_key(owner, ["customers:read", "customers:write"])
    other_key_id, other_secret = api_key(other_owner, ["customers:read", "customers:write"])
    with connected(client, secret) as ws, connected(client, other_secret) as other_ws:
        assert created(ws, "before")
        assert owner.error_codes(REVOKE_API_KEY, {"input": {"id": other_key_id}}) == ["NOT_FOUND"]
        owner.data(REVOKE_API_KEY, {"input": {"id": key_id}})
        ws.send_json({"id": "after", "type": "subscribe", "payload": {"query": CREATE_CUSTOMER}})
        assert closed_with(ws) == 4403
        # The other tenant's key, which the first could not revoke, keeps its socket.
        assert created(other_ws, "unrelated")
    assert owner.data("{ customers { totalCount } }")["customers"]["totalCount"] == 1


def test_a_removed_member_is_refused_on_the_open_socket(
    client: TestClient, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    admin = add_member(owner, tenant, "admin")
    with connected(client, admin.token) as ws:
        assert created(ws, "before")
        owner.data(REMOVE_MEMBER, {"input": {"id": member_id(admin)}})
        ws.send_json({"id": "after", "type": "subscribe", "payload": {"query": CREATE_CUSTOMER}})
        assert closed_with(ws) == 4403


def test_a_demoted_member_gets_forbidden_on_the_open_socket(
    client: TestClient, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    admin = add_member(owner, tenant, "admin")
    with connected(client, admin.token) as ws:
        assert created(ws, "before")
        owner.data(UPDATE_ROLE, {"input": {"id": member_id(admin), "role": "VIEWER"}})
        result = run(ws, "after", CREATE_CUSTOMER)
        assert error_codes(result) == ["FORBIDDEN"]
        assert run(ws, "read", "{ customers { totalCount } }")["data"]["customers"]["totalCount"] == 1


def test_a_change_made_elsewhere_is_seen_once_the_cache_window_passes(
    client: TestClient, owner: GraphQLClient, tenant: TenantHandle, credential_clock: CredentialClock, runtime: Runtime
) -> None:
    """Another server process demoted the member: this one learns it within the credential cache's window."""
    admin = add_member(owner, tenant, "admin")
    with connected(client, admin.token) as ws:
        assert created(ws, "before")
        claims = read_token(runtime.settings, str(admin.token))
        with tenant_session(runtime.engine, tenant.id) as session:  # no cache here is told
            session.execute(update(Membership).where(Membership.id == claims.membership_id).values(role="viewer"))
        assert created(ws, "within the window")
        credential_clock.pass_cache_window(runtime)
        assert error_codes(run(ws, "after the window", CREATE_CUSTOMER)) == ["FORBIDDEN"]


def test_a_running_subscription_ends_when_its_credential_is_revoked(
    client: TestClient, runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    key_id, secret = api_key(owner, ["customers:read"])
    with connected(client, secret) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        wait_for_listener(runtime, tenant.id)
        owner.data(REVOKE_API_KEY, {"input": {"id": key_id}})
        wait_for_listener(runtime, tenant.id, listeners=0)  # the subscription was ended
        owner.data('mutation { createCustomer(input: {name: "Unseen"}) { customer { id } } }')
        assert closed_with(ws) == 4403


def test_a_running_subscription_ends_when_the_callers_access_changes(
    client: TestClient, runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    admin = add_member(owner, tenant, "admin")
    with connected(client, admin.token) as ws:
        ws.send_json({"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        wait_for_listener(runtime, tenant.id)
        owner.data(UPDATE_ROLE, {"input": {"id": member_id(admin), "role": "SALES"}})
        wait_for_listener(runtime, tenant.id, listeners=0)
        message = ws.receive_json()
        assert message["id"] == "events" and message["type"] == "error"
        assert error_codes({"errors": message["payload"]}) == ["FORBIDDEN"]
        # The connection stays open: subscribing again runs with the new rights.
        assert run(ws, "me", "{ me { role } }")["data"]["me"]["role"] == "SALES"


def test_an_expiring_token_ends_the_connection_at_exp(
    client: TestClient, runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient
) -> None:
    claims = read_token(runtime.settings, str(owner.token))
    short = runtime.settings.model_copy(update={"token_ttl_seconds": 2})  # `exp` is whole seconds: 1-2 s ahead
    token = issue_token(short, claims.user_id, claims.tenant_id, claims.membership_id, claims.generation)
    expires_at = read_token(runtime.settings, token).expires_at
    with connected(client, token) as ws:
        assert created(ws, "before")
        time.sleep(max(0.0, expires_at - time.time()) + 0.2)
        ws.send_json({"type": "ping"})  # answered with pong while the connection lives
        assert closed_with(ws) == 4403
