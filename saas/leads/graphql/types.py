"""GraphQL types of channels, leads and the sales settings (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.accounts.graphql.types import Member
from saas.custom_fields.graphql.types import CustomFieldFilterInput
from saas.custom_fields.rules import custom_field_filter
from saas.leads import models
from saas.leads.models import LeadStatus
from saas.leads.rules import LeadFilter, SalesSettingsValues
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.sensitive.rules import shown_custom_fields

# The domain's enum is the GraphQL enum: exposed once, here, under its own name.
strawberry.enum(LeadStatus, name="LeadStatus", description="POOL: open and unowned; CLAIMED: open and owned.")


@strawberry.type(description="Where leads come from, and what it cost (for the channel ROI report).")
class Channel(Node):
    name: str
    cost: Decimal = strawberry.field(description='A decimal string with two decimals, e.g. "1200.00".')
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Channel) -> Channel:
        return cls(
            id=strawberry.ID(to_global_id("Channel", row.id)),
            name=row.name,
            cost=row.cost,
            currency=row.currency,
            created_at=row.created_at,
        )


@strawberry.type(description="A prospective customer; without an owner it is in the lead pool.")
class Lead(Node):
    name: str
    company: str | None
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +442079460958")
    status: LeadStatus
    custom_fields: JSON
    claimed_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None = strawberry.field(description="Why it was last returned to the pool.")
    disqualified_at: datetime | None
    disqualify_reason: str | None
    converted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    owner_id: strawberry.Private[uuid.UUID | None]
    channel_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def owner(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.owner_id)

    @strawberry.field
    async def channel(self, info: Info[RequestContext, None]) -> Channel | None:
        from saas.leads.graphql.loaders import channel_loader

        return None if self.channel_id is None else await channel_loader(info.context).load(self.channel_id)

    @classmethod
    def from_model(cls, row: models.Lead) -> Lead:
        return cls(
            id=strawberry.ID(to_global_id("Lead", row.id)),
            name=row.name,
            company=row.company,
            email=row.email,
            phone=row.phone,
            status=LeadStatus(row.status),
            custom_fields=cast(JSON, shown_custom_fields(row.custom_fields)),
            claimed_at=row.claimed_at,
            returned_at=row.returned_at,
            return_reason=row.return_reason,
            disqualified_at=row.disqualified_at,
            disqualify_reason=row.disqualify_reason,
            converted_at=row.converted_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            owner_id=row.owner_id,
            channel_id=row.channel_id,
        )


LeadConnection = CountedConnection[Lead]


@strawberry.input(description="All given conditions must hold.")
class LeadFilterInput:
    pool: bool | None = strawberry.field(default=None, description="True: only the lead pool (open, unowned).")
    status: LeadStatus | None = None
    search: str | None = strawberry.field(default=None, description="Part of the name, company or e-mail, any case.")
    owner_id: strawberry.ID | None = None
    channel_id: strawberry.ID | None = None
    custom_field: CustomFieldFilterInput | None = strawberry.field(
        default=None, description="Leads whose custom field `key` has the value `equals`."
    )

    def to_rule(self) -> LeadFilter:
        return LeadFilter(
            pool=self.pool,
            status=self.status,
            search=self.search,
            owner_id=decode_id(self.owner_id, "Member") if self.owner_id else None,
            channel_id=decode_id(self.channel_id, "Channel") if self.channel_id else None,
            custom_field=(
                custom_field_filter(self.custom_field.key, self.custom_field.equals) if self.custom_field else None
            ),
        )


@strawberry.type(description="The tenant's sales rules.")
class SalesSettings:
    lead_claim_cap: int = strawberry.field(description="The most open leads one member may hold.")
    public_pool_days: int = strawberry.field(
        description="Days without a follow-up after which a customer goes back to the public pool."
    )

    @classmethod
    def from_values(cls, values: SalesSettingsValues) -> SalesSettings:
        return cls(lead_claim_cap=values.lead_claim_cap, public_pool_days=values.public_pool_days)
