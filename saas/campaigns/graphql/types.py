"""GraphQL types of campaigns and their responses (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.campaigns import models
from saas.campaigns.models import CampaignStatus
from saas.campaigns.service import campaign_status
from saas.customers.graphql.loaders import customer_of
from saas.customers.graphql.types import Customer
from saas.schema.common import Node
from saas.schema.connections import Connection, CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

strawberry.enum(
    CampaignStatus, name="CampaignStatus", description="DRAFT; LAUNCHED (members frozen); ENDED: after `endsOn`."
)


@strawberry.type(description="A marketing campaign: an audience of customers, a channel, a budget and what it won.")
class Campaign(Node):
    name: str
    budget: Decimal = strawberry.field(description='A decimal string, e.g. "5000.00", in `currency`.')
    currency: str = strawberry.field(description="ISO 4217; only opportunities in this currency count as won.")
    starts_on: date
    ends_on: date
    status: CampaignStatus
    audience: JSON = strawberry.field(description="The saved customers filter (the `customers` list's `filter`).")
    audience_size: int | None = strawberry.field(
        description="Customers the audience matched when saved; from launch, the members frozen then."
    )
    launched_at: datetime | None
    created_at: datetime
    version: int
    raw_id: strawberry.Private[uuid.UUID]
    channel_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The name of the lead channel its leads come through.")
    async def channel(self, info: Info[RequestContext, None]) -> str:
        from saas.leads.graphql.loaders import channel_loader

        found = await channel_loader(info.context).load(self.channel_id)
        return found.name if found is not None else ""

    @strawberry.field(description="Responses recorded (every kind).")
    async def responses(self, info: Info[RequestContext, None]) -> int:
        from saas.campaigns.graphql.loaders import figures_loader

        return (await figures_loader(info.context).load(self.raw_id)).responses

    @strawberry.field(description="Leads its positive responses from unknown e-mails made.")
    async def leads_created(self, info: Info[RequestContext, None]) -> int:
        from saas.campaigns.graphql.loaders import figures_loader

        return (await figures_loader(info.context).load(self.raw_id)).leads_created

    @strawberry.field(
        description="Won opportunities in its currency of its converted leads' customers and of its members "
        "(closed from startsOn on), each once."
    )
    async def won_amount(self, info: Info[RequestContext, None]) -> Decimal:
        from saas.campaigns.graphql.loaders import figures_loader

        return (await figures_loader(info.context).load(self.raw_id)).won_amount

    @strawberry.field(description='(wonAmount - budget) / budget, four decimals: "0.5000" is +50 %.')
    async def roi(self, info: Info[RequestContext, None]) -> Decimal:
        from saas.campaigns.graphql.loaders import figures_loader

        return (await figures_loader(info.context).load(self.raw_id)).roi

    @classmethod
    def from_model(cls, row: models.Campaign) -> Campaign:
        return cls(
            id=strawberry.ID(to_global_id("Campaign", row.id)),
            name=row.name,
            budget=row.budget,
            currency=row.currency,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            status=campaign_status(row),
            audience=cast(JSON, row.audience or {}),
            audience_size=row.audience_size,
            launched_at=row.launched_at,
            created_at=row.created_at,
            version=row.version,
            raw_id=row.id,
            channel_id=row.channel_id,
        )


CampaignConnection = CountedConnection[Campaign]


@strawberry.type(description="A customer of a campaign's audience, frozen at launch.")
class CampaignMember:
    added_at: datetime
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Null when the caller may not see the customer.")
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.customer_id)


CampaignMemberConnection = Connection[CampaignMember]


@strawberry.type(description="A response recorded for a campaign.")
class CampaignResponse:
    id: strawberry.ID
    kind: str = strawberry.field(description="OPENED, CLICKED, REPLIED, REGISTERED or UNSUBSCRIBED.")
    email: str | None
    note: str | None
    created_at: datetime
    customer_id: strawberry.ID | None = strawberry.field(description="The responding customer, when known.")
    contact_id: strawberry.ID | None
    lead_id: strawberry.ID | None = strawberry.field(description="The pool lead this response made, if any.")

    @classmethod
    def from_model(cls, row: models.CampaignResponse) -> CampaignResponse:
        def ref(type_name: str, value: uuid.UUID | None) -> strawberry.ID | None:
            return None if value is None else strawberry.ID(to_global_id(type_name, value))

        return cls(
            id=strawberry.ID(to_global_id("CampaignResponse", row.id)),
            kind=row.kind,
            email=row.email,
            note=row.note,
            created_at=row.created_at,
            customer_id=ref("Customer", row.customer_id),
            contact_id=ref("Contact", row.contact_id),
            lead_id=ref("Lead", row.lead_id),
        )
