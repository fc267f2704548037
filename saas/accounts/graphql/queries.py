"""Accounts reads: me, members, invitations, API keys and the audit log."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.accounts import invitations
from saas.accounts.graphql.types import ApiKey, AuditEntry, AuditEntryConnection, Invitation, Me, Member, Tenant
from saas.accounts.models import ApiKey as ApiKeyRow
from saas.accounts.models import InvitationState, Membership
from saas.accounts.models import Tenant as TenantRow
from saas.audit.models import AuditEntry as AuditRow
from saas.auth.permissions import API_KEYS_MANAGE, AUDIT_READ, MEMBERS_READ, require
from saas.auth.principal import Principal
from saas.db.paging import keyset_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import from_global_id


def _me(session: Session, principal: Principal) -> Me:
    tenant = session.get(TenantRow, principal.tenant_id)
    assert tenant is not None
    member = None
    if principal.membership_id is not None:
        row = session.get(Membership, (principal.tenant_id, principal.membership_id))
        member = Member.from_model(row) if row else None
    return Me(
        member=member,
        email=member.email if member else None,
        role=principal.role,
        permissions=sorted(principal.permissions),
        tenant=Tenant.from_model(tenant),
    )


def _members(session: Session, principal: Principal) -> list[Member]:
    require(principal.permissions, MEMBERS_READ)
    rows = session.scalars(
        select(Membership).where(Membership.is_active.is_(True)).order_by(Membership.created_at, Membership.id)
    )
    return [Member.from_model(row) for row in rows]


def _invitations(session: Session, principal: Principal, state: InvitationState | None) -> list[Invitation]:
    return [Invitation.from_model(row) for row in invitations.list_invitations(session, principal, state)]


def _api_keys(session: Session, principal: Principal) -> list[ApiKey]:
    require(principal.permissions, API_KEYS_MANAGE)
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))
    return [ApiKey.from_model(row) for row in rows]


def _audit_page(
    session: Session, principal: Principal, limit: int, after: list[Any] | None, entity: tuple[str, uuid.UUID] | None
) -> AuditEntryConnection:
    require(principal.permissions, AUDIT_READ)
    query = select(AuditRow)
    if entity is not None:
        query = query.where(AuditRow.entity_type == entity[0], AuditRow.entity_id == str(entity[1]))
    page = keyset_page(session, query, (AuditRow.id,), limit, after, descending=True, count=False)
    return connection(page, AuditEntry.from_model, lambda r: [r.id], has_previous_page=after is not None)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The caller; UNAUTHENTICATED without a credential.")
    async def me(self, info: Info[RequestContext, None]) -> Me:
        return await info.context.read(_me, info.context.require_principal())

    @strawberry.field(description="Active members of the tenant.")
    async def members(self, info: Info[RequestContext, None]) -> list[Member]:
        return await info.context.read(_members, info.context.require_principal())

    @strawberry.field(description="The tenant's invitations, newest first: the pending ones unless a state is given.")
    async def invitations(
        self, info: Info[RequestContext, None], state: InvitationState | None = InvitationState.PENDING
    ) -> list[Invitation]:
        principal = info.context.require_principal()
        return await info.context.read(_invitations, principal, state)

    @strawberry.field(description="The tenant's API keys (never their secrets).")
    async def api_keys(self, info: Info[RequestContext, None]) -> list[ApiKey]:
        return await info.context.read(_api_keys, info.context.require_principal())

    @strawberry.field(description="Changes, newest first; optionally of one entity (any Node id).")
    async def audit_log(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        entity_id: strawberry.ID | None = None,
    ) -> AuditEntryConnection:
        context = info.context
        limit, position = page_arguments(first, after, ("bigint",), context.runtime.settings.max_page_size)
        entity = from_global_id(entity_id) if entity_id else None
        return await context.read(_audit_page, context.require_principal(), limit, position, entity)
