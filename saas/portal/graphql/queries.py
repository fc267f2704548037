"""The portal's reads: the accesses given to contacts."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.portal import service
from saas.portal.graphql.types import PortalAccess, PortalAccessConnection
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id

CURSOR_TYPES = ("timestamptz", "uuid")


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
        limit, position = page_arguments(first, after, CURSOR_TYPES, context.runtime.settings.max_page_size)
        customer = decode_id(customer_id, "Customer") if customer_id else None
        page = await context.read(service.list_portal_accesses, principal, customer, limit, position)
        return connection(  # type: ignore[no-any-return]
            page, PortalAccess.from_model, lambda r: [r.created_at, r.id], has_previous_page=after is not None
        )
