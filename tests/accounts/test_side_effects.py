"""The accounts services do their own side effects: a change made from plain code (the CLI, a
job, a plugin; no GraphQL) writes the same audit entry and domain event as the mutation, and
ends the cached credentials it should, as soon as it commits.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from saas.accounts import api_keys
from saas.accounts.service import remove_member, update_member_role
from saas.audit.models import AuditEntry
from saas.auth.permissions import CUSTOMERS_READ, Role
from saas.auth.principal import Principal
from saas.errors import InputInvalid, UnauthenticatedError
from saas.events.models import OutboxEvent
from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import CredentialClock, GraphQLClient, TenantHandle, add_member

REMOVE = """mutation($input: RemoveMemberInput!) {
  removeMember(input: $input) { member { id active } userErrors { code } }
}"""
CHANGE_ROLE = """mutation($input: UpdateMemberRoleInput!) {
  updateMemberRole(input: $input) { member { id role } userErrors { code } }
}"""
REVOKE_KEY = """mutation($input: RevokeApiKeyInput!) {
  revokeApiKey(input: $input) { apiKey { id revokedAt } userErrors { code } }
}"""


@pytest.fixture(autouse=True)
def _still_cache_window(credential_clock: CredentialClock) -> CredentialClock:
    """The credential cache's clock stands still in these tests: an entry leaves the cache only when
    a change forgets it, never because a slow step (a full-cost password hash on a busy machine)
    outlasted the 5-second window."""
    return credential_clock


def _checked(runtime: Runtime, client: GraphQLClient) -> tuple[str, Principal]:
    """The client's credential header, checked (so now in the credential cache), and its principal."""
    header = f"Bearer {client.token}"
    principal = runtime.authenticate(header)
    assert principal is not None and runtime.cached_principal(header) == principal
    return header, principal


def _audit_and_event(runtime: Runtime, tenant_id: uuid.UUID, action: str, entity_id: uuid.UUID) -> dict[str, Any]:
    """The audit entry and the outbox event of one change, without what differs between two changes
    (ids, times, the request id)."""
    with tenant_session(runtime.engine, tenant_id) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
        ).one()
        events = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.type == action))]
    [payload] = [p for p in events if str(entity_id) in str(p) or to_global_id("Member", entity_id) in str(p)]
    changed = {k for k in entry.after or {} if (entry.before or {}).get(k) != (entry.after or {}).get(k)}
    return {
        "entity_type": entry.entity_type,
        "actor_label": entry.actor_label,
        "before_keys": sorted(entry.before or {}),
        "after_keys": sorted(entry.after or {}),
        "changed": sorted(changed),
        "payload_keys": {key: sorted(value) for key, value in payload.items()},
    }


def test_removing_a_member_from_plain_code_ends_their_cached_token_and_is_audited_like_the_mutation(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    _, owner_principal = _checked(runtime, owner)
    by_mutation, by_code = add_member(owner, tenant, "sales"), add_member(owner, tenant, "sales")
    mutation_header, mutation_member = _checked(runtime, by_mutation)
    assert mutation_member.membership_id is not None
    removed = owner.data(REMOVE, {"input": {"id": to_global_id("Member", mutation_member.membership_id)}})
    assert removed["removeMember"]["member"]["active"] is False
    assert runtime.cached_principal(mutation_header) is None

    code_header, code_member = _checked(runtime, by_code)  # checked again after the mutation's forgetting
    assert code_member.membership_id is not None
    with tenant_session(runtime.engine, tenant.id) as session:
        remove_member(session, owner_principal, code_member.membership_id)
        assert runtime.cached_principal(code_header) is not None  # not before the commit

    assert runtime.cached_principal(code_header) is None  # forgotten once committed, no window to wait
    with pytest.raises(UnauthenticatedError):
        runtime.authenticate(code_header)
    done_by_code = _audit_and_event(runtime, tenant.id, "member.removed", code_member.membership_id)
    done_by_mutation = _audit_and_event(runtime, tenant.id, "member.removed", mutation_member.membership_id)
    assert done_by_code == done_by_mutation
    assert done_by_code["entity_type"] == "Member" and "is_active" in done_by_code["changed"]


def test_changing_a_role_from_plain_code_ends_the_cached_permissions_and_is_audited_like_the_mutation(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    _, owner_principal = _checked(runtime, owner)
    by_mutation, by_code = add_member(owner, tenant, "sales"), add_member(owner, tenant, "sales")
    mutation_header, mutation_member = _checked(runtime, by_mutation)
    assert mutation_member.membership_id is not None
    changed = owner.data(
        CHANGE_ROLE, {"input": {"id": to_global_id("Member", mutation_member.membership_id), "role": "VIEWER"}}
    )
    assert changed["updateMemberRole"]["member"]["role"] == "VIEWER"
    assert runtime.cached_principal(mutation_header) is None

    code_header, code_member = _checked(runtime, by_code)
    assert code_member.role == Role.SALES and code_member.membership_id is not None
    with tenant_session(runtime.engine, tenant.id) as session:
        update_member_role(session, owner_principal, code_member.membership_id, Role.VIEWER.value)

    assert runtime.cached_principal(code_header) is None
    again = runtime.authenticate(code_header)
    assert again is not None and again.role == Role.VIEWER
    done_by_code = _audit_and_event(runtime, tenant.id, "member.role_changed", code_member.membership_id)
    done_by_mutation = _audit_and_event(runtime, tenant.id, "member.role_changed", mutation_member.membership_id)
    assert done_by_code == done_by_mutation and done_by_code["changed"] == ["role"]


def test_revoking_an_api_key_from_plain_code_refuses_it_at_once(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    _, owner_principal = _checked(runtime, owner)
    keys = []
    for name in ("by mutation", "by code"):
        with tenant_session(runtime.engine, tenant.id) as session:
            record, secret = api_keys.create_api_key(
                session, owner_principal, {"name": name, "scopes": [CUSTOMERS_READ]}
            )
        keys.append((record.id, f"Bearer {secret}"))
    (mutation_key, mutation_header), (code_key, code_header) = keys

    assert runtime.authenticate(mutation_header) is not None
    revoked = owner.data(REVOKE_KEY, {"input": {"id": to_global_id("ApiKey", mutation_key)}})
    assert revoked["revokeApiKey"]["apiKey"]["revokedAt"]
    assert runtime.authenticate(code_header) is not None and runtime.cached_principal(code_header) is not None
    with tenant_session(runtime.engine, tenant.id) as session:
        api_keys.revoke_api_key(session, owner_principal, code_key)

    for header in (mutation_header, code_header):
        assert runtime.cached_principal(header) is None
        with pytest.raises(UnauthenticatedError):
            runtime.authenticate(header)
    with tenant_session(runtime.engine, tenant.id) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "api_key.revoked")).all()
        events = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "api_key.revoked")).all()
    assert sorted(e.entity_id for e in entries) == sorted([str(mutation_key), str(code_key)])
    assert len(events) == 2 and {e.actor_label for e in entries} == {owner_principal.label}


def test_a_change_rolled_back_leaves_the_cached_credentials_alone(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle
) -> None:
    """Removing the last owner fails: nothing is written, nothing is forgotten."""
    owner_header, owner_principal = _checked(runtime, owner)
    assert owner_principal.membership_id is not None
    with pytest.raises(InputInvalid), tenant_session(runtime.engine, tenant.id) as session:
        remove_member(session, owner_principal, owner_principal.membership_id)
    assert runtime.cached_principal(owner_header) == owner_principal
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "member.removed")).all() == []


def test_a_change_in_another_tenant_leaves_this_tenants_cached_credentials_alone(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, other_tenant: TenantHandle
) -> None:
    owner_header, owner_principal = _checked(runtime, owner)
    _, other_principal = _checked(runtime, other_owner)
    member = add_member(other_owner, other_tenant, "sales")
    _, member_principal = _checked(runtime, member)
    assert member_principal.membership_id is not None
    with tenant_session(runtime.engine, other_tenant.id) as session:
        remove_member(session, other_principal, member_principal.membership_id)
    assert runtime.cached_principal(owner_header) == owner_principal
