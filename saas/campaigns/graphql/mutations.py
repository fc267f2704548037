"""Campaign mutations: thin wrappers over saas/campaigns/service.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.campaigns import service
from saas.campaigns.graphql.types import Campaign, CampaignResponse
from saas.schema.common import Payload, provided, referenced_fields, referenced_id, run_mutation, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class CreateCampaignInput:
    name: str
    channel: str = strawberry.field(description="A lead channel's name; made when the tenant has none of that name.")
    budget: Decimal = strawberry.field(description='More than zero, at most two decimals, e.g. "5000.00".')
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")
    starts_on: date
    ends_on: date = strawberry.field(description="Its last day; not before startsOn.")
    audience: JSON = strawberry.field(
        description='A customers filter, as the `customers` list takes it, e.g. {"lifecycleStage": "CUSTOMER"}; '
        "{} for every customer."
    )


@strawberry.input
class CampaignIdInput:
    id: strawberry.ID


@strawberry.input
class RecordCampaignResponseInput:
    campaign_id: strawberry.ID
    customer_id: strawberry.ID | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="Matched to a contact; unknown and positive: a new pool lead."
    )
    kind: str = strawberry.field(description="OPENED, CLICKED, REPLIED, REGISTERED or UNSUBSCRIBED.")
    note: str | None = strawberry.UNSET


@strawberry.type
class CreateCampaignPayload(Payload):
    campaign: Campaign | None = None


@strawberry.type
class LaunchCampaignPayload(Payload):
    campaign: Campaign | None = None
    inbound_token: str | None = strawberry.field(
        default=None,
        description="The secret of POST /campaigns/inbound/<token>: shown this once (stored hashed).",
    )


@strawberry.type
class RecordCampaignResponsePayload(Payload):
    response: CampaignResponse | None = None


def _launch(done: service.Launch) -> dict[str, Any]:
    return {"campaign": Campaign.from_model(done.campaign), "inbound_token": done.inbound_token}


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(description="A DRAFT campaign; its audience is counted now.")
    async def create_campaign(
        self, info: Info[RequestContext, None], input: CreateCampaignInput
    ) -> CreateCampaignPayload:
        return await write_mutation(  # type: ignore[no-any-return]
            info.context,
            CreateCampaignPayload,
            lambda row: {"campaign": Campaign.from_model(row)},
            service.create_campaign,
            provided(input),
        )

    @strawberry.mutation(
        description="DRAFT → LAUNCHED: the audience's customers become its members; ALREADY_LAUNCHED the second time."
    )
    async def launch_campaign(self, info: Info[RequestContext, None], input: CampaignIdInput) -> LaunchCampaignPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Campaign", "id")
            done = await info.context.write(service.launch_campaign, info.context.require_principal(), raw_id)
            return _launch(done)

        return await run_mutation(run, LaunchCampaignPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="A new secret for the campaign's inbound endpoint (the old one stops working).")
    async def issue_campaign_inbound_token(
        self, info: Info[RequestContext, None], input: CampaignIdInput
    ) -> LaunchCampaignPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "Campaign", "id")
            done = await info.context.write(service.issue_inbound_token, info.context.require_principal(), raw_id)
            return _launch(done)

        return await run_mutation(run, LaunchCampaignPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A response to a launched campaign (NOT_LAUNCHED for a draft); a positive one (REPLIED, "
        "REGISTERED) from an e-mail no contact has makes a lead in the pool."
    )
    async def record_campaign_response(
        self, info: Info[RequestContext, None], input: RecordCampaignResponseInput
    ) -> RecordCampaignResponsePayload:
        async def run() -> dict[str, Any]:
            campaign_id = referenced_id(input.campaign_id, "Campaign", "campaignId")
            data = referenced_fields(
                provided(input, skip=("campaign_id",)), customer_id="Customer", contact_id="Contact"
            )
            principal = info.context.require_principal()
            row = await info.context.write(service.record_response, principal, campaign_id, data)
            return {"response": CampaignResponse.from_model(row)}

        return await run_mutation(run, RecordCampaignResponsePayload)  # type: ignore[no-any-return]
