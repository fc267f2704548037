"""Campaign reads, compiled into one SQL statement each, and their members as a nested page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, LEADS_READ, require
from saas.campaigns import models
from saas.campaigns.graphql.sql import CAMPAIGN, CAMPAIGN_SORT, MEMBER_SORT
from saas.campaigns.graphql.types import Campaign, CampaignConnection, CampaignMember, CampaignMemberConnection
from saas.campaigns.rules import member_rows_sql
from saas.db.conditions import SqlCondition
from saas.db.paging import Page
from saas.schema.compiled import compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.nodes import permission_condition, single_object
from saas.schema.relay import decode_id
from saas.tenancy.session import TENANT_PARAM


def campaign_condition(context: RequestContext) -> SqlCondition:
    """Every campaign of the caller's tenant, once the caller may read leads."""
    return permission_condition(context, LEADS_READ)


async def load_campaign(context: RequestContext, raw_id: uuid.UUID) -> Campaign | None:
    require(context.require_principal().permissions, LEADS_READ)

    def read(session: Session) -> Campaign | None:
        row = session.scalar(select(models.Campaign).where(models.Campaign.id == raw_id))
        return Campaign.from_model(row) if row is not None else None

    return await context.read(read)


@strawberry.type
class CampaignQueries:
    @strawberry.field(description="The tenant's campaigns, newest first (keyset-paged; `first` at most 100).")
    async def campaigns(
        self, info: Info[RequestContext, None], first: int | None = 20, after: str | None = None
    ) -> CampaignConnection:
        condition = campaign_condition(info.context)
        return await compiled_page(  # type: ignore[no-any-return]
            info, CAMPAIGN, models.Campaign, Campaign.from_model, condition, CAMPAIGN_SORT, first, after
        )

    @strawberry.field(description="One campaign; NOT_FOUND if it does not exist.")
    async def campaign(self, info: Info[RequestContext, None], id: strawberry.ID) -> Campaign:
        raw_id = decode_id(id, "Campaign")
        return await single_object(info, CAMPAIGN, raw_id, campaign_condition(info.context), load_campaign)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _MemberRow:
    customer_id: uuid.UUID
    added_at: datetime
    customer_name: str


def _member_page(
    session: Session, principal: Any, campaign_id: uuid.UUID, limit: int, key: list[Any] | None
) -> Page[_MemberRow]:
    """The resolver path of `Campaign.members`: the rows and order of `CAMPAIGN_FIELDS["members"]`."""
    rows_sql, params = member_rows_sql(principal)
    params = {**params, TENANT_PARAM: principal.tenant_id, "campaign_id": campaign_id, "limit": limit + 1}
    where = "r.campaign_id = :campaign_id"
    if key is not None:
        where += f" AND {MEMBER_SORT.after_sql('r')}"
        params.update({f"after_{i}": value for i, value in enumerate(key)})
    sql = (
        f"SELECT r.customer_id, r.added_at, r.customer_name FROM {rows_sql.replace('{t}', 'r')} "
        f"WHERE {where} ORDER BY {MEMBER_SORT.order_sql('r')} LIMIT :limit"
    )
    rows = [_MemberRow(*row) for row in session.execute(text(sql), params)]
    return Page.of(rows, limit)


@strawberry.type
class CampaignMemberFields:
    """Fields campaigns add to `Campaign` that page (the campaign is `self`)."""

    @strawberry.field(description="The members frozen at launch that the caller sees, by name.")
    async def members(
        self, info: Info[RequestContext, None], first: int | None = 20, after: str | None = None
    ) -> CampaignMemberConnection:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, CUSTOMERS_READ)
        limit, key = page_arguments(first, after, MEMBER_SORT.casts, context.runtime.settings.max_page_size)
        campaign: Campaign = self  # type: ignore[assignment]
        page = await context.read(_member_page, principal, campaign.raw_id, limit, key)
        return connection(  # type: ignore[no-any-return]
            page,
            lambda row: CampaignMember(added_at=row.added_at, customer_id=row.customer_id),
            lambda row: [row.customer_name, row.customer_id],
            has_previous_page=after is not None,
        )
