"""Giving and revoking portal access: thin wrappers over saas/portal/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.tokens import issue_scoped_token
from saas.portal import service
from saas.portal.graphql.types import PortalAccess
from saas.schema.common import Payload, referenced_id, run_mutation
from saas.schema.context import RequestContext


@strawberry.input
class CreatePortalAccessInput:
    contact_id: strawberry.ID
    days: int | None = strawberry.field(
        default=None, description="How long the token is valid: 1 to 365, 30 when left out."
    )


@strawberry.input
class RevokePortalAccessInput:
    id: strawberry.ID


@strawberry.type
class CreatePortalAccessPayload(Payload):
    portal_access: PortalAccess | None = None
    token: str | None = strawberry.field(
        default=None, description="Shown once: the contact's `Authorization: Bearer` token for the portal."
    )


@strawberry.type
class RevokePortalAccessPayload(Payload):
    portal_access: PortalAccess | None = None


@strawberry.type
class PortalMutations:
    @strawberry.mutation(
        description="Gives a contact a portal token limited to the contact's own customer (`portal:manage`)."
    )
    async def create_portal_access(
        self, info: Info[RequestContext, None], input: CreatePortalAccessInput
    ) -> CreatePortalAccessPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            contact_id = referenced_id(input.contact_id, "Contact", "contactId")
            access = await context.write(
                service.create_portal_access, context.require_principal(), contact_id, input.days
            )
            token = issue_scoped_token(context.runtime.settings, **service.token_claims(access))
            return {"portal_access": PortalAccess.from_model(access), "token": token}

        return await run_mutation(run, CreatePortalAccessPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Revokes a portal access: its token is refused everywhere from then on.")
    async def revoke_portal_access(
        self, info: Info[RequestContext, None], input: RevokePortalAccessInput
    ) -> RevokePortalAccessPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "PortalAccess", "id")
            access = await context.write(service.revoke_portal_access, context.require_principal(), raw_id)
            return {"portal_access": PortalAccess.from_model(access)}

        return await run_mutation(run, RevokePortalAccessPayload)  # type: ignore[no-any-return]
