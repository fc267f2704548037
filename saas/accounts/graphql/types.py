"""GraphQL types of the caller, tenants, members, invitations, API keys and audit entries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_loader
from saas.accounts.models import ApiKey as ApiKeyRow
from saas.accounts.models import Invitation as InvitationRow
from saas.accounts.models import InvitationState, Membership
from saas.accounts.models import Tenant as TenantRow
from saas.audit.models import AuditEntry as AuditRow
from saas.audit.models import AuditKind
from saas.auth.permissions import Role
from saas.schema.common import Node
from saas.schema.connections import Connection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

# The role enum is the GraphQL enum: exposed once, here, under its own name.
strawberry.enum(Role, name="Role")


@strawberry.type
class Tenant:
    id: strawberry.ID
    slug: str
    name: str

    @classmethod
    def from_model(cls, row: TenantRow) -> Tenant:
        return cls(id=strawberry.ID(to_global_id("Tenant", row.id)), slug=row.slug, name=row.name)


@strawberry.type(description="A user's membership of the tenant, with its role.")
class Member(Node):
    email: str
    name: str
    role: Role
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: Membership) -> Member:
        return cls(
            id=strawberry.ID(to_global_id("Member", row.id)),
            email=row.user.email,
            name=row.user.name,
            role=Role(row.role),
            active=row.is_active,
            created_at=row.created_at,
        )


@strawberry.type(description="The authenticated caller in the tenant their credential names.")
class Me:
    member: Member | None = strawberry.field(description="Null for API keys.")
    email: str | None
    role: Role | None
    permissions: list[str]
    tenant: Tenant


@strawberry.type
class ApiKey(Node):
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", row.id)),
            name=row.name,
            scopes=list(row.scopes),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


strawberry.enum(
    AuditKind,
    name="AuditKind",
    description="ACCESS: logins, failed logins, API-key use, exports, sensitive reads. CHANGE: every change.",
)


@strawberry.type(
    description="One change or access: who, what, when, from which client; a change with the state before and after."
)
class AuditEntry:
    id: strawberry.ID
    kind: AuditKind
    action: str
    entity_type: str
    entity_id: strawberry.ID
    actor: str
    before: JSON | None
    after: JSON | None
    request_id: str | None
    client_address: str | None = strawberry.field(
        description="The client's address (behind a trusted proxy, from X-Forwarded-For)."
    )
    user_agent: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=strawberry.ID(to_global_id("AuditEntry", row.id)),
            kind=AuditKind(row.kind),
            client_address=row.client_address,
            user_agent=row.user_agent,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(to_global_id(row.entity_type, row.entity_id)),
            actor=row.actor_label,
            before=cast(JSON | None, row.before),
            after=cast(JSON | None, row.after),
            request_id=row.request_id,
            created_at=row.created_at,
        )


AuditEntryConnection = Connection[AuditEntry]


strawberry.enum(InvitationState, name="InvitationState", description="Where an invitation stands.")


@strawberry.type(description="An invitation to join the tenant, addressed to an e-mail (see acceptInvitation).")
class Invitation(Node):
    email: str
    name: str | None = strawberry.field(description="The name a new account gets unless the invitee gives one.")
    role: Role
    state: InvitationState
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    invited_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who invited; null when an operator did.")
    async def invited_by(self, info: Info[RequestContext, None]) -> Member | None:
        if self.invited_by_id is None:
            return None
        member: Member | None = await member_loader(info.context).load(self.invited_by_id)
        return member

    @classmethod
    def from_model(cls, row: InvitationRow) -> Invitation:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", row.id)),
            email=row.email,
            name=row.name,
            role=Role(row.role),
            state=row.state(datetime.now(UTC)),
            created_at=row.created_at,
            expires_at=row.expires_at,
            accepted_at=row.accepted_at,
            revoked_at=row.revoked_at,
            invited_by_id=row.invited_by_membership_id,
        )
