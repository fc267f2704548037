"""The portal's reads: the accesses given to contacts (compiled into one SQL statement)."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.auth.permissions import PORTAL_MANAGE, require
from saas.db.conditions import SqlCondition
from saas.portal import models, service
from saas.portal.graphql.sql import PORTAL_ACCESS, PORTAL_ACCESS_SORT
from saas.portal.graphql.types import PortalAccess, PortalAccessConnection
from saas.schema.compiled import compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id

CURSOR_TYPES = PORTAL_ACCESS_SORT.casts


async def load_portal_access(context: RequestContext, raw_id: uuid.UUID) -> PortalAccess:
    row = await context.read(service.get_portal_access, context.require_principal(), raw_id)
    return PortalAccess.from_model(row)


@strawberry.type
class PortalQueries:
    @strawberry.field(description="Portal accesses given to contacts, newest first (`portal:manage`).")
    async def portal_accesses(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        customer_id: strawberry.ID | None = None,
    ) -> PortalAccessConnection:
        context = info.context
        principal = context.require_principal()
        customer = decode_id(customer_id, "Customer") if customer_id else None
        require(principal.permissions, PORTAL_MANAGE)

        async def resolved() -> PortalAccessConnection:
            """The resolver path, for a selection with a field that has no SQL mapping."""
            limit, position = page_arguments(first, after, CURSOR_TYPES, context.runtime.settings.max_page_size)
            page = await context.read(service.list_portal_accesses, principal, customer, limit, position)
            return connection(  # type: ignore[no-any-return]
                page, PortalAccess.from_model, lambda r: [r.created_at, r.id], has_previous_page=after is not None
            )

        condition = SqlCondition()
        if customer is not None:
            condition.add("r.customer_id = CAST(:access_customer AS uuid)", access_customer=customer)
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            PORTAL_ACCESS,
            models.PortalAccess,
            PortalAccess.from_model,
            condition,
            PORTAL_ACCESS_SORT,
            first,
            after,
            page_fallback=resolved,
        )
