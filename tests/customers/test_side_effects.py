"""Deleting a customer or a contact ends the scoped tokens naming it at once in this process, whoever
deletes: the customers service makes the credential cache forget the tenant once the delete commits
(`forget_credentials_after_commit`), so plain code (a job, the CLI, a plugin) does it as the
mutation does, and a delete that rolls back, or one in another tenant, forgets nothing.
"""

from __future__ import annotations

import uuid

import pytest

from saas.auth.principal import Principal
from saas.auth.tokens import issue_scoped_token
from saas.customers import service
from saas.errors import ConflictError, UnauthenticatedError
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import TenantHandle
from tests.customers.live import operator


def _customer_with_contact(runtime: Runtime, tenant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    with tenant_session(runtime.engine, tenant_id) as session:
        customer = service.create_customer(session, operator(tenant_id), {"name": "Scoped Ltd"})
        contact = service.create_contact(session, operator(tenant_id), customer.id, {"name": "Pat"})
        return customer.id, contact.id


def _checked_scoped(
    runtime: Runtime, tenant_id: uuid.UUID, customer_id: uuid.UUID, contact_id: uuid.UUID | None = None
) -> tuple[str, Principal]:
    """A scoped token naming the customer (and contact), checked: now in the credential cache."""
    scope = {"customer_id": str(customer_id)}
    if contact_id is not None:
        scope["contact_id"] = str(contact_id)
    token = issue_scoped_token(runtime.settings, tenant_id, "contact:1", frozenset({"customers:read"}), scope, 3600)
    header = f"Bearer {token}"
    principal = runtime.authenticate(header)
    assert principal is not None and runtime.cached_principal(header) == principal
    return header, principal


def test_deleting_a_customer_from_plain_code_ends_its_scoped_tokens_once_committed(
    runtime: Runtime, tenant: TenantHandle
) -> None:
    customer_id, _ = _customer_with_contact(runtime, tenant.id)
    header, _ = _checked_scoped(runtime, tenant.id, customer_id)
    with tenant_session(runtime.engine, tenant.id) as session:
        service.delete_customer(session, operator(tenant.id), customer_id, None)
        assert runtime.cached_principal(header) is not None  # not before the commit

    assert runtime.cached_principal(header) is None  # no cache window to wait for
    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(header)


def test_deleting_a_contact_from_plain_code_ends_its_scoped_tokens_once_committed(
    runtime: Runtime, tenant: TenantHandle
) -> None:
    customer_id, contact_id = _customer_with_contact(runtime, tenant.id)
    header, _ = _checked_scoped(runtime, tenant.id, customer_id, contact_id)
    with tenant_session(runtime.engine, tenant.id) as session:
        service.delete_contact(session, operator(tenant.id), contact_id, None)

    assert runtime.cached_principal(header) is None
    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(header)
    # The customer's other tokens are checked again, and still stand.
    customer_header, _ = _checked_scoped(runtime, tenant.id, customer_id)
    assert runtime.cached_principal(customer_header) is not None


def test_a_delete_that_rolls_back_forgets_nothing(runtime: Runtime, tenant: TenantHandle) -> None:
    customer_id, contact_id = _customer_with_contact(runtime, tenant.id)
    header, principal = _checked_scoped(runtime, tenant.id, customer_id, contact_id)
    with pytest.raises(ConflictError), tenant_session(runtime.engine, tenant.id) as session:
        service.delete_customer(session, operator(tenant.id), customer_id, 99)  # stale version
    with pytest.raises(ConflictError), tenant_session(runtime.engine, tenant.id) as session:
        service.delete_contact(session, operator(tenant.id), contact_id, 99)
    assert runtime.cached_principal(header) == principal
    with tenant_session(runtime.engine, tenant.id) as session:
        assert service.get_customer(session, operator(tenant.id), customer_id).deleted_at is None


def test_a_delete_in_another_tenant_leaves_this_tenants_cached_tokens_alone(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    customer_id, _ = _customer_with_contact(runtime, tenant.id)
    theirs, _ = _customer_with_contact(runtime, other_tenant.id)
    header, principal = _checked_scoped(runtime, tenant.id, customer_id)
    with tenant_session(runtime.engine, other_tenant.id) as session:
        service.delete_customer(session, operator(other_tenant.id), theirs, None)
    assert runtime.cached_principal(header) == principal
