"""Scoped tokens: permissions of their own, a customer scope the visibility rule honours, and checks
on every use (where every credential is checked): they end with what they stand for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from sqlalchemy import update

from saas.auth.tokens import SCOPED_PREFIX, issue_scoped_token
from saas.customers.models import Customer
from saas.errors import UnauthenticatedError
from saas.plugin_api.testing import disable_plugin, enable_plugin
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import CredentialClock, GraphQLClient, TenantHandle

# Core fields any scoped token with these permissions reaches.
READS = ["{ products { totalCount } }", "{ me { permissions } }", "{ customers { totalCount } }"]
READ_PERMISSIONS = {"customers:read", "products:read"}


def _customer(owner: GraphQLClient, name: str) -> str:
    return owner.data(f'mutation {{ createCustomer(input: {{name: "{name}"}}) {{ customer {{ id }} }} }}')[
        "createCustomer"
    ]["customer"]["id"]


def _contact(owner: GraphQLClient, customer_id: str) -> str:
    query = 'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Pat"}) { contact { id } } }'
    return owner.data(query, {"c": customer_id})["createContact"]["contact"]["id"]


def _scoped(
    runtime: Runtime,
    tenant: TenantHandle,
    customer_id: str,
    permissions: set[str],
    contact_id: str | None = None,
    **issued: Any,
) -> str:
    scope = {"customer_id": str(decode_id(customer_id, "Customer"))}
    if contact_id is not None:
        scope["contact_id"] = str(decode_id(contact_id, "Contact"))
    return issue_scoped_token(runtime.settings, tenant.id, "contact:1", frozenset(permissions), scope, 3600, **issued)


def _answers(client: GraphQLClient) -> bool:
    return all("errors" not in client.execute(query) for query in READS)


def _refused(client: GraphQLClient) -> bool:
    return all(client.error_codes(query) == ["UNAUTHENTICATED"] for query in READS)


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


def test_a_scoped_token_ends_when_its_customer_is_deleted(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    mine = _customer(owner, "Mine")
    client = owner.as_token(_scoped(runtime, tenant, mine, READ_PERMISSIONS))
    assert _answers(client)
    owner.data("mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": mine})
    assert _refused(client)


def test_a_scoped_token_ends_when_its_contact_is_deleted(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    mine = _customer(owner, "Mine")
    contact, other_contact = _contact(owner, mine), _contact(owner, mine)
    client = owner.as_token(_scoped(runtime, tenant, mine, READ_PERMISSIONS, contact))
    colleague = owner.as_token(_scoped(runtime, tenant, mine, READ_PERMISSIONS, other_contact))
    assert _answers(client)
    owner.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": contact})
    assert _refused(client)
    assert _answers(colleague)  # the customer's other contact keeps its token


def test_a_deletion_by_another_process_is_seen_within_the_cache_window(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, credential_clock: CredentialClock
) -> None:
    mine = _customer(owner, "Mine")
    client = owner.as_token(_scoped(runtime, tenant, mine, READ_PERMISSIONS))
    assert _answers(client)
    with tenant_session(runtime.engine, tenant.id) as session:  # no cache here is told
        customer_id = decode_id(mine, "Customer")
        session.execute(update(Customer).where(Customer.id == customer_id).values(deleted_at=datetime.now(UTC)))
    assert _answers(client)  # checked moments ago: answered from the cache
    credential_clock.pass_cache_window(runtime)
    assert _refused(client)


def test_a_scoped_token_naming_another_tenants_customer_is_refused(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle
) -> None:
    theirs = _customer(other_owner, "Theirs")
    client = owner.as_token(_scoped(runtime, tenant, theirs, READ_PERMISSIONS))
    assert _refused(client)
    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(f"Bearer {client.token}")


def test_a_token_issued_by_a_plugin_works_while_the_tenant_has_it_enabled(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    mine = _customer(owner, "Mine")
    client = owner.as_token(_scoped(runtime, tenant, mine, READ_PERMISSIONS, plugin="loyalty"))
    assert _refused(client)
    enable_plugin(owner, "loyalty")
    assert _answers(client)
    disable_plugin(owner, "loyalty")
    assert _refused(client)
