"""Loyalty's queries: a customer's point history and the tenant's tiers."""

from __future__ import annotations

import uuid

import strawberry
from saas.plugin_api import RequestContext, decode_id, page_size, require
from strawberry.types import Info

from saas_plugin_loyalty import service
from saas_plugin_loyalty.graphql.types import LoyaltyEntry, LoyaltyTier
from saas_plugin_loyalty.rules import LOYALTY_READ

MAX_ENTRIES = 100


async def load_entry(context: RequestContext, raw_id: uuid.UUID) -> LoyaltyEntry | None:
    """`node(id)` of a `LoyaltyEntry`: needs loyalty:read, like `loyaltyEntries`."""
    require(context.require_principal().permissions, LOYALTY_READ)
    row = await context.read(service.entry, raw_id)
    return LoyaltyEntry.from_model(row) if row is not None else None


@strawberry.type
class LoyaltyQueries:
    @strawberry.field(
        description="A customer's point history, newest first. Needs loyalty:read: it is asked for by id, "
        "so it is granted only to the roles that see every customer."
    )
    async def loyalty_entries(
        self, info: Info[RequestContext, None], customer_id: strawberry.ID, first: int | None = None
    ) -> list[LoyaltyEntry]:
        context = info.context
        require(context.require_principal().permissions, LOYALTY_READ)
        limit = page_size(first, MAX_ENTRIES)
        rows = await context.read(service.entries, decode_id(customer_id, "Customer"), limit)
        return [LoyaltyEntry.from_model(row) for row in rows]

    @strawberry.field(description="The tenant's loyalty tiers, lowest first.")
    async def loyalty_tiers(self, info: Info[RequestContext, None]) -> list[LoyaltyTier]:
        context = info.context
        context.require_principal()
        return [LoyaltyTier.from_model(row) for row in await context.read(service.tiers)]
