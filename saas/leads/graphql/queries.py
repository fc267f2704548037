"""Lead, channel and sales settings reads: lists and single objects compiled into one SQL statement each."""

from __future__ import annotations

import uuid

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from saas.auth.permissions import LEADS_READ, require
from saas.customers.rules import SqlCondition
from saas.leads import models, service
from saas.leads.graphql.loaders import channel_loader, lead_loader
from saas.leads.graphql.sql import CHANNEL, LEAD, LEAD_SORT
from saas.leads.graphql.types import Channel, Lead, LeadConnection, LeadFilterInput, SalesSettings
from saas.leads.rules import lead_conditions, lead_visibility
from saas.schema.compiled import compiled_list, compiled_page
from saas.schema.context import RequestContext
from saas.schema.nodes import permission_condition, single_object
from saas.schema.relay import decode_id


def lead_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    """Visibility of one lead (`node(id)`, `lead(id)`), once the caller may read leads (the compiler
    adds the tenant)."""
    principal = context.require_principal()
    require(principal.permissions, LEADS_READ)
    condition = SqlCondition()
    lead_visibility(principal, alias, condition)
    return condition


def channel_condition(context: RequestContext) -> SqlCondition:
    """Every channel of the caller's tenant, once the caller may read leads."""
    return permission_condition(context, LEADS_READ)


async def load_lead(context: RequestContext, raw_id: uuid.UUID) -> Lead | None:
    return await lead_loader(context).load(raw_id)


async def load_channel(context: RequestContext, raw_id: uuid.UUID) -> Channel | None:
    return await channel_loader(context).load(raw_id)


@strawberry.type
class LeadQueries:
    @strawberry.field(description="The tenant's lead channels, by name.")
    async def channels(self, info: Info[RequestContext, None]) -> list[Channel]:
        context = info.context
        condition = channel_condition(context)

        async def resolved() -> list[Channel]:
            rows = await context.read(
                lambda session: list(
                    session.scalars(select(models.Channel).order_by(models.Channel.name, models.Channel.id))
                )
            )
            return [Channel.from_model(row) for row in rows]

        return await compiled_list(info, CHANNEL, condition, "lower(r.name), r.id", resolved)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Leads visible to the caller, newest first, as a Relay connection (keyset-paged; `first` at most 100)."
    )
    async def leads(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: LeadFilterInput | None = None,
    ) -> LeadConnection:
        principal = info.context.require_principal()
        require(principal.permissions, LEADS_READ)
        condition = lead_conditions(principal, "r", filter.to_rule() if filter else None)
        return await compiled_page(  # type: ignore[no-any-return]
            info, LEAD, models.Lead, Lead.from_model, condition, LEAD_SORT, first, after
        )

    @strawberry.field(description="One lead; NOT_FOUND if it does not exist or is not visible.")
    async def lead(self, info: Info[RequestContext, None], id: strawberry.ID) -> Lead:
        raw_id = decode_id(id, "Lead")
        return await single_object(info, LEAD, raw_id, lead_condition(info.context), load_lead)  # type: ignore[no-any-return]

    @strawberry.field(description="The tenant's sales rules (defaults until an admin changes them).")
    async def sales_settings(self, info: Info[RequestContext, None]) -> SalesSettings:
        context = info.context
        values = await context.read(service.get_sales_settings, context.require_principal())
        return SalesSettings.from_values(values)
