"""Lead, channel and sales settings mutations: thin wrappers over saas/leads/service.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.customers.graphql.types import Contact, Customer
from saas.deals.graphql.types import Opportunity
from saas.leads import service
from saas.leads.graphql.types import Channel, Lead, SalesSettings
from saas.schema.common import (
    Payload,
    provided,
    referenced_fields,
    referenced_id,
    referenced_ids,
    run_mutation,
    write_mutation,
)
from saas.schema.context import RequestContext


@strawberry.input
class UpdateSalesSettingsInput:
    lead_claim_cap: int | None = strawberry.field(default=strawberry.UNSET, description="1 to 10000.")
    public_pool_days: int | None = strawberry.field(default=strawberry.UNSET, description="1 to 3650.")


@strawberry.input
class CreateChannelInput:
    name: str
    cost: Decimal | None = strawberry.field(default=strawberry.UNSET, description="Zero when left out.")
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 4217; USD when left out.")


@strawberry.input
class CreateLeadInput:
    name: str
    company: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    channel_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A Member id; left out, the lead goes to the pool."
    )
    custom_fields: JSON | None = strawberry.UNSET
    allow_duplicate: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: create it even if a lead, customer or contact has the same e-mail, phone or company.",
    )


@strawberry.input
class ClaimLeadsInput:
    ids: list[strawberry.ID]


@strawberry.input
class ReturnLeadsInput:
    ids: list[strawberry.ID]
    reason: str


@strawberry.input
class DisqualifyLeadInput:
    id: strawberry.ID
    reason: str


@strawberry.input
class ConvertLeadOpportunityInput:
    name: str
    amount: Decimal
    currency: str


@strawberry.input
class ConvertLeadInput:
    id: strawberry.ID
    opportunity: ConvertLeadOpportunityInput | None = strawberry.field(
        default=None, description="Also make an opportunity for the new customer."
    )
    allow_duplicate: bool | None = strawberry.field(
        default=None, description="True: convert even if a customer or contact has the lead's company, e-mail or phone."
    )


@strawberry.type
class UpdateSalesSettingsPayload(Payload):
    sales_settings: SalesSettings | None = None


@strawberry.type
class CreateChannelPayload(Payload):
    channel: Channel | None = None


@strawberry.type
class CreateLeadPayload(Payload):
    lead: Lead | None = None


@strawberry.type
class ClaimLeadsPayload(Payload):
    leads: list[Lead] = strawberry.field(default_factory=list)


@strawberry.type
class ReturnLeadsPayload(Payload):
    leads: list[Lead] = strawberry.field(default_factory=list)


@strawberry.type
class DisqualifyLeadPayload(Payload):
    lead: Lead | None = None


@strawberry.type
class ConvertLeadPayload(Payload):
    lead: Lead | None = None
    customer: Customer | None = None
    contact: Contact | None = None
    opportunity: Opportunity | None = strawberry.field(default=None, description="Null unless one was asked for.")


def _lead(row: Any) -> dict[str, Any]:
    return {"lead": Lead.from_model(row)}


def _leads(rows: list[Any]) -> dict[str, Any]:
    return {"leads": [Lead.from_model(row) for row in rows]}


def _conversion(done: service.Conversion) -> dict[str, Any]:
    return {
        "lead": Lead.from_model(done.lead),
        "customer": Customer.from_model(done.customer),
        "contact": Contact.from_model(done.contact),
        "opportunity": None if done.opportunity is None else Opportunity.from_model(done.opportunity),
    }


@strawberry.type
class LeadMutations:
    @strawberry.mutation(description="Change the tenant's sales rules (owners and admins).")
    async def update_sales_settings(
        self, info: Info[RequestContext, None], input: UpdateSalesSettingsInput
    ) -> UpdateSalesSettingsPayload:
        return await write_mutation(
            info.context,
            UpdateSalesSettingsPayload,
            lambda values: {"sales_settings": SalesSettings.from_values(values)},
            service.update_sales_settings,
            provided(input),
        )

    @strawberry.mutation(description="A new lead channel; a name already used in the tenant is TAKEN.")
    async def create_channel(self, info: Info[RequestContext, None], input: CreateChannelInput) -> CreateChannelPayload:
        return await write_mutation(
            info.context,
            CreateChannelPayload,
            lambda row: {"channel": Channel.from_model(row)},
            service.create_channel,
            provided(input),
        )

    @strawberry.mutation(
        description="A new lead (in the pool unless `ownerId`); DUPLICATE when its e-mail, phone or company "
        "matches a lead, customer or contact, unless `allowDuplicate`."
    )
    async def create_lead(self, info: Info[RequestContext, None], input: CreateLeadInput) -> CreateLeadPayload:
        async def run() -> dict[str, Any]:
            data = referenced_fields(provided(input), channel_id="Channel", owner_id="Member")
            principal = info.context.require_principal()
            return _lead(await info.context.write(service.create_lead, principal, data))

        return await run_mutation(run, CreateLeadPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Take leads from the pool, all or none: NOT_IN_POOL when one is not there, "
        "CLAIM_CAP_EXCEEDED past the tenant's leadClaimCap."
    )
    async def claim_leads(self, info: Info[RequestContext, None], input: ClaimLeadsInput) -> ClaimLeadsPayload:
        async def run() -> dict[str, Any]:
            ids = referenced_ids(input.ids, "Lead", "ids")
            return _leads(await info.context.write(service.claim_leads, info.context.require_principal(), ids))

        return await run_mutation(run, ClaimLeadsPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Put claimed leads back into the pool with a reason, all or none.")
    async def return_leads(self, info: Info[RequestContext, None], input: ReturnLeadsInput) -> ReturnLeadsPayload:
        async def run() -> dict[str, Any]:
            ids = referenced_ids(input.ids, "Lead", "ids")
            principal = info.context.require_principal()
            return _leads(await info.context.write(service.return_leads, principal, ids, input.reason))

        return await run_mutation(run, ReturnLeadsPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="End an open lead without a customer, saying why.")
    async def disqualify_lead(
        self, info: Info[RequestContext, None], input: DisqualifyLeadInput
    ) -> DisqualifyLeadPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Lead", "id")
            principal = info.context.require_principal()
            return _lead(await info.context.write(service.disqualify_lead, principal, raw_id, input.reason))

        return await run_mutation(run, DisqualifyLeadPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="The lead becomes a customer with its primary contact (and an opportunity when asked), "
        "in one transaction; a converted lead is ALREADY_CONVERTED."
    )
    async def convert_lead(self, info: Info[RequestContext, None], input: ConvertLeadInput) -> ConvertLeadPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Lead", "id")
            opportunity = None
            if input.opportunity is not None:
                opportunity = {
                    "name": input.opportunity.name,
                    "amount": input.opportunity.amount,
                    "currency": input.opportunity.currency,
                }

            def work(session: Any, principal: Any) -> service.Conversion:
                return service.convert_lead(
                    session,
                    principal,
                    raw_id,
                    opportunity,
                    allow_duplicate=bool(input.allow_duplicate),
                )

            done = await info.context.write(work, info.context.require_principal())
            return _conversion(done)

        return await run_mutation(run, ConvertLeadPayload)  # type: ignore[no-any-return]
