"""Scoped tokens: permissions of their own, and a customer scope the visibility rule honours."""

from __future__ import annotations

import jwt
import pytest

from saas.auth.tokens import SCOPED_PREFIX, issue_scoped_token
from saas.errors import UnauthenticatedError
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from tests.conftest import GraphQLClient, TenantHandle


def _customer(owner: GraphQLClient, name: str) -> str:
    return owner.data(f'mutation {{ createCustomer(input: {{name: "{name}"}}) {{ customer {{ id }} }} }}')[
        "createCustomer"
    ]["customer"]["id"]


def _scoped(runtime: Runtime, tenant: TenantHandle, customer_id: str, permissions: set[str]) -> str:
    scope = {"customer_id": str(decode_id(customer_id, "Customer"))}
    return issue_scoped_token(runtime.settings, tenant.id, "contact:1", frozenset(permissions), scope, 3600)


def test_a_customer_scoped_principal_sees_that_customer_only(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    mine, other = _customer(owner, "Mine"), _customer(owner, "Not mine")
    client = owner.as_token(_scoped(runtime, tenant, mine, {"customers:read"}))
    listed = client.data("{ customers { totalCount edges { node { id } } } }")["customers"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == mine
    assert client.error_codes("query($id: ID!) { customer(id: $id) { id } }", {"id": other}) == ["NOT_FOUND"]
    assert client.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": other}) == ["NOT_FOUND"]


def test_scoped_tokens_grant_only_their_permissions(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    mine = _customer(owner, "Mine")
    client = owner.as_token(_scoped(runtime, tenant, mine, {"mfg:portal"}))
    assert client.error_codes("{ customers { totalCount } }") == ["FORBIDDEN"]
    assert client.error_codes('mutation { createCustomer(input: {name: "x"}) { customer { id } } }') == ["FORBIDDEN"]
    assert client.error_codes("{ members { id } }") == ["FORBIDDEN"]


def test_a_scoped_token_names_its_tenant_and_cannot_be_retargeted(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = _customer(owner, "Mine")
    _customer(other_owner, "Theirs")
    token = _scoped(runtime, tenant, mine, {"customers:read"})
    claims = jwt.decode(token.removeprefix(SCOPED_PREFIX), options={"verify_signature": False})
    claims["tid"] = str(other_tenant.id)
    forged = SCOPED_PREFIX + jwt.encode(claims, "not-the-secret-" + "x" * 40, algorithm="HS256")
    member_token_as_scoped = SCOPED_PREFIX + str(owner.token)
    for bad in (forged, member_token_as_scoped):
        with pytest.raises(UnauthenticatedError):
            runtime.authenticate(f"Bearer {bad}")
