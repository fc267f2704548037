"""Accounts reads: me, members, invitations, API keys and the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.accounts import invitations
from saas.accounts.graphql.sql import AUDIT_ENTRY, AUDIT_SORT
from saas.accounts.graphql.types import ApiKey, AuditEntry, AuditEntryConnection, Invitation, Me, Member, Tenant
from saas.accounts.models import ApiKey as ApiKeyRow
from saas.accounts.models import InvitationState, Membership
from saas.accounts.models import Tenant as TenantRow
from saas.audit.models import AuditEntry as AuditRow
from saas.audit.models import AuditKind
from saas.auth.permissions import API_KEYS_MANAGE, AUDIT_READ, MEMBERS_READ, require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.db.paging import keyset_page
from saas.errors import BadUserInputError
from saas.schema.compiled import compiled_page
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


ACTION_PREFIX_LENGTH = 50  # the longest action


@dataclass(frozen=True)
class AuditFilter:
    """`auditLog`'s filters, checked: kinds (none: every kind) and an action prefix."""

    entity: tuple[str, uuid.UUID] | None = None
    kinds: tuple[AuditKind, ...] = ()
    action_prefix: str | None = None

    @classmethod
    def checked(cls, entity_id: str | None, kinds: list[AuditKind] | None, action_prefix: str | None) -> AuditFilter:
        """BAD_USER_INPUT, before anything is read, for an empty `kinds` list or an empty or
        over-long `actionPrefix` (either could only be a mistake: it would match nothing or all)."""
        if kinds is not None and not kinds:
            raise BadUserInputError("kinds must name at least one kind (leave it out for every kind)", argument="kinds")
        if action_prefix is not None and not 0 < len(action_prefix.strip()) <= ACTION_PREFIX_LENGTH:
            raise BadUserInputError(
                f"actionPrefix must have 1 to {ACTION_PREFIX_LENGTH} characters", argument="actionPrefix"
            )
        return cls(
            entity=from_global_id(entity_id) if entity_id else None,
            kinds=tuple(kinds or ()),
            action_prefix=action_prefix.strip() if action_prefix is not None else None,
        )

    def condition(self, alias: str) -> SqlCondition:
        """The filters as SQL, as `_audit_page` applies them (the compiler adds the tenant)."""
        condition = SqlCondition()
        if self.entity is not None:
            entity_type, entity_id = self.entity
            condition.add(
                f"{alias}.entity_type = :audit_entity_type AND {alias}.entity_id = :audit_entity_id",
                audit_entity_type=entity_type,
                audit_entity_id=str(entity_id),
            )
        if self.kinds:
            condition.add(f"{alias}.kind = ANY(:audit_kinds)", audit_kinds=[kind.value for kind in self.kinds])
        if self.action_prefix is not None:
            condition.add(f"starts_with({alias}.action, :audit_action_prefix)", audit_action_prefix=self.action_prefix)
        return condition


def _audit_page(
    session: Session, principal: Principal, limit: int, after: list[Any] | None, filters: AuditFilter
) -> AuditEntryConnection:
    require(principal.permissions, AUDIT_READ)
    condition = filters.condition(AuditRow.__tablename__)  # the compiled read's filters
    query = select(AuditRow).where(text(condition.sql).bindparams(**condition.params))
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

    @strawberry.field(
        description="Changes and accesses, newest first; optionally of one entity (any Node id), of some "
        'kinds (ACCESS, CHANGE) and whose action starts with actionPrefix (e.g. "login", "member.").'
    )
    async def audit_log(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        entity_id: strawberry.ID | None = None,
        kinds: list[AuditKind] | None = None,
        action_prefix: str | None = None,
    ) -> AuditEntryConnection:
        context = info.context
        principal = context.require_principal()
        filters = AuditFilter.checked(entity_id, kinds, action_prefix)
        require(principal.permissions, AUDIT_READ)

        async def resolved() -> AuditEntryConnection:
            """The resolver path, for a selection with a field that has no SQL mapping."""
            limit, position = page_arguments(first, after, AUDIT_SORT.casts, context.runtime.settings.max_page_size)
            return await context.read(_audit_page, principal, limit, position, filters)  # type: ignore[no-any-return]

        return await compiled_page(  # type: ignore[no-any-return]
            info,
            AUDIT_ENTRY,
            AuditRow,
            AuditEntry.from_model,
            filters.condition("r"),
            AUDIT_SORT,
            first,
            after,
            page_fallback=resolved,
        )
