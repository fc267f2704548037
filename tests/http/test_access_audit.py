"""Access in the audit log: logins, failed logins, API-key use, exports, sensitive reads and
permission changes, each with the client's address and user agent; `auditLog` filters by kind."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from saas.audit.access import record_export, record_sensitive_read
from saas.audit.client import bind_client, unbind_client
from saas.audit.log import NamedActor
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.http.transport_helpers import LOGIN, login_variables
from tests.schema.helpers import (
    AUDIT_LOG,
    CREATE_API_KEY,
    CREATE_CUSTOMER,
    DEFINE_CUSTOM_FIELD,
    UPDATE_MEMBER_ROLE,
    global_id,
)

AGENT = "audit-test/1.0 (+https://example.com)"


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    headers = {"User-Agent": AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()
    return body


def sign_in(client: TestClient, tenant: Any) -> str:
    token = gql(client, LOGIN, login_variables(tenant))["data"]["login"]["token"]
    assert token
    return str(token)


def audit(client: TestClient, token: str, **variables: Any) -> list[dict[str, Any]]:
    body = gql(client, AUDIT_LOG, {"first": 100, **variables}, token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["auditLog"]["edges"]]


def assert_from_the_client(entry: dict[str, Any]) -> None:
    assert entry["clientAddress"] == "testclient"  # the ASGI scope's client (TestClient's)
    assert entry["userAgent"] == AGENT


def test_logins_and_failed_logins_are_access_entries(client: TestClient, tenant: Any) -> None:
    wrong = {"input": {**login_variables(tenant)["input"], "password": "wrong password!"}}
    assert gql(client, LOGIN, wrong)["data"]["login"]["token"] is None
    token = sign_in(client, tenant)
    log = audit(client, token, kinds=["ACCESS"])
    assert [(e["kind"], e["action"]) for e in log] == [("ACCESS", "login"), ("ACCESS", "login.failed")]
    assert log[0]["actor"] == tenant.owner_email
    assert log[1]["actor"] == tenant.owner_email and log[1]["entityId"] == global_id("Tenant", tenant.id)
    for entry in log:
        assert_from_the_client(entry)
    assert audit(client, token, kinds=["CHANGE"], actionPrefix="login") == []


def test_api_key_use_is_recorded_at_most_once_a_minute(client: TestClient, tenant: Any, runtime: Runtime) -> None:
    token = sign_in(client, tenant)
    created = gql(client, CREATE_API_KEY, {"input": {"name": "robot", "scopes": ["customers:read"]}}, token)
    key = created["data"]["createApiKey"]
    for _ in range(3):
        runtime.credentials.entries.clear()  # every use reads the key again, as other processes would
        assert "errors" not in gql(client, "{ customers(first: 1) { edges { cursor } } }", token=key["secret"])
    used = audit(client, token, actionPrefix="api_key.used", kinds=["ACCESS"])
    assert len(used) == 1
    assert used[0]["entityId"] == key["apiKey"]["id"] and used[0]["actor"] == "api-key:robot"
    assert_from_the_client(used[0])
    created_entry = audit(client, token, actionPrefix="api_key.created")
    assert created_entry[0]["kind"] == "CHANGE"
    assert_from_the_client(created_entry[0])


def test_permission_changes_name_the_client(client: TestClient, tenant: Any) -> None:
    """Invitations, role changes and API keys are changes (kind CHANGE) that name the client too."""
    token = sign_in(client, tenant)
    invite = gql(
        client,
        "mutation($input: AddMemberInput!) { addMember(input: $input) { invitationToken userErrors { code } } }",
        {"input": {"email": f"sales@{tenant.slug}.example.com", "role": "SALES"}},
        token,
    )["data"]["addMember"]
    accept = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { id } } }"
    accepted = gql(client, accept, {"input": {"token": invite["invitationToken"], "password": "a long password 1"}})
    member_id = accepted["data"]["acceptInvitation"]["member"]["id"]
    changed = gql(client, UPDATE_MEMBER_ROLE, {"input": {"id": member_id, "role": "VIEWER"}}, token)
    assert "errors" not in changed, changed
    for action in ("invitation.created", "member.role_changed"):
        (entry,) = audit(client, token, actionPrefix=action)
        assert entry["kind"] == "CHANGE"
        assert_from_the_client(entry)


def test_exports_and_sensitive_reads(client: TestClient, tenant: Any, runtime: Runtime) -> None:
    token = sign_in(client, tenant)
    bound = bind_client("203.0.113.7", AGENT)
    try:
        with tenant_session(runtime.engine, tenant.id) as session:
            actor = NamedActor(tenant.owner_email)
            record_export(session, actor, "tenant", {"rows": 12})
            record_sensitive_read(session, actor, "Customer", "5f0c3d1e-0000-4000-8000-000000000001", "nationalId")
    finally:
        unbind_client(bound)
    log = audit(client, token, kinds=["ACCESS"], actionPrefix="sensitive.")
    assert [e["action"] for e in log] == ["sensitive.read"]
    assert log[0]["after"] == {"field": "nationalId"}
    assert (log[0]["clientAddress"], log[0]["userAgent"]) == ("203.0.113.7", AGENT)
    exported = audit(client, token, kinds=["ACCESS"], actionPrefix="export")
    assert [(e["action"], e["after"]) for e in exported] == [("export", {"rows": 12})]


def test_a_tenant_export_and_a_decrypted_read_over_http_name_the_client(client: TestClient, tenant: Any) -> None:
    """The real paths (exportTenantData, a read of a sensitive value) record their access entries
    with the request's address and user agent."""
    token = sign_in(client, tenant)
    field = {"entity": "CUSTOMER", "key": "nationalId", "label": "National id", "type": "SENSITIVE"}
    assert gql(client, DEFINE_CUSTOM_FIELD, {"input": field}, token)["data"]["defineCustomField"]["userErrors"] == []
    created = gql(
        client, CREATE_CUSTOMER, {"input": {"name": "Acme", "customFields": {"nationalId": "AB1234567890"}}}, token
    )
    customer_id = created["data"]["createCustomer"]["customer"]["id"]
    read = gql(client, "query($id: ID!) { customer(id: $id) { customFields } }", {"id": customer_id}, token)
    assert read["data"]["customer"]["customFields"] == {"nationalId": "AB1234567890"}
    exported = gql(client, "mutation { exportTenantData { export { id } userErrors { code } } }", token=token)
    assert exported["data"]["exportTenantData"]["userErrors"] == []

    (sensitive,) = audit(client, token, kinds=["ACCESS"], actionPrefix="sensitive.read")
    assert sensitive["entityId"] == customer_id and sensitive["actor"] == tenant.owner_email
    assert_from_the_client(sensitive)
    (export,) = audit(client, token, kinds=["ACCESS"], actionPrefix="export")
    assert export["after"] == {
        "exportId": str(decode_id(exported["data"]["exportTenantData"]["export"]["id"], "TenantExport"))
    }
    assert_from_the_client(export)


def test_kinds_together_and_apart(client: TestClient, tenant: Any) -> None:
    token = sign_in(client, tenant)
    gql(client, CREATE_API_KEY, {"input": {"name": "k", "scopes": ["customers:read"]}}, token)
    both = {e["kind"] for e in audit(client, token, kinds=["ACCESS", "CHANGE"])}
    assert both == {"ACCESS", "CHANGE"}
    assert {e["kind"] for e in audit(client, token, kinds=None)} == {"ACCESS", "CHANGE"}  # null: every kind


def test_access_entries_are_per_tenant(client: TestClient, tenant: Any, other_tenant: Any) -> None:
    token = sign_in(client, tenant)
    other = sign_in(client, other_tenant)
    mine = audit(client, token, kinds=["ACCESS"])
    theirs = audit(client, other, kinds=["ACCESS"])
    assert {e["id"] for e in mine}.isdisjoint({e["id"] for e in theirs})
    assert all(e["actor"] == other_tenant.owner_email for e in theirs)
    login_entry = mine[0]["entityId"]
    assert audit(client, other, kinds=["ACCESS"], entityId=login_entry) == []


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"kinds": []}, "BAD_USER_INPUT"),
        ({"actionPrefix": ""}, "BAD_USER_INPUT"),
        ({"actionPrefix": "   "}, "BAD_USER_INPUT"),
        ({"actionPrefix": "x" * 51}, "BAD_USER_INPUT"),
        ({"kinds": ["EVERYTHING"]}, "BAD_USER_INPUT"),
        ({"actionPrefix": 12}, "BAD_USER_INPUT"),
    ],
)
def test_bad_filters(client: TestClient, tenant: Any, variables: dict[str, Any], code: str) -> None:
    token = sign_in(client, tenant)
    body = gql(client, AUDIT_LOG, {"first": 5, **variables}, token)
    assert body.get("data") is None or body["data"].get("auditLog") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


def test_a_prefix_is_matched_literally(client: TestClient, tenant: Any) -> None:
    token = sign_in(client, tenant)
    assert audit(client, token, kinds=["ACCESS"], actionPrefix="%") == []
    assert audit(client, token, kinds=["ACCESS"], actionPrefix="_ogin") == []
