"""Webhook mutations: thin wrappers over saas/webhooks/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.schema.common import Payload, provided, run_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id
from saas.webhooks import service
from saas.webhooks.graphql.types import Webhook


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(
        description="An absolute http(s) URL on the public internet (not a private, loopback or reserved address)."
    )
    events: list[str] = strawberry.field(
        description="Event types (`customer.created`), prefixes (`customer.*`) or `*`."
    )
    secret: str = strawberry.field(
        description="At least 16 characters; signs every delivery (X-Saas-Signature). Never shown again."
    )


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = strawberry.field(default=strawberry.UNSET, description="As at creation; left out: kept.")
    events: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the list; left out: kept."
    )
    secret: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new signing secret (at least 16 characters); left out: kept."
    )


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID


@strawberry.type
class CreateWebhookPayload(Payload):
    webhook: Webhook | None = None


@strawberry.type
class UpdateWebhookPayload(Payload):
    webhook: Webhook | None = None


@strawberry.type
class DeleteWebhookPayload(Payload):
    webhook: Webhook | None = None


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Owners and admins. Deliveries start with the next matching event.")
    async def create_webhook(self, info: Info[RequestContext, None], input: CreateWebhookInput) -> CreateWebhookPayload:
        context = info.context
        principal = context.require_principal()
        box = context.runtime.webhook_sender.box

        async def run() -> dict[str, Any]:
            allow_private = context.runtime.settings.allow_private_networks
            row = await context.write(service.create_webhook, principal, box, provided(input), allow_private)
            return {"webhook": Webhook.from_model(row)}

        return await run_mutation(run, CreateWebhookPayload)

    @strawberry.mutation(description="Owners and admins. Change the address, the event types or the secret.")
    async def update_webhook(self, info: Info[RequestContext, None], input: UpdateWebhookInput) -> UpdateWebhookPayload:
        context = info.context
        principal = context.require_principal()
        box = context.runtime.webhook_sender.box
        webhook_id = decode_id(input.id, "Webhook")

        async def run() -> dict[str, Any]:
            allow_private = context.runtime.settings.allow_private_networks
            changes = provided(input, skip=("id",))
            row = await context.write(service.update_webhook, principal, box, webhook_id, changes, allow_private)
            return {"webhook": Webhook.from_model(row)}

        return await run_mutation(run, UpdateWebhookPayload)

    @strawberry.mutation(description="No new deliveries; pending ones are given up; the delivery log stays.")
    async def delete_webhook(self, info: Info[RequestContext, None], input: DeleteWebhookInput) -> DeleteWebhookPayload:
        context = info.context
        principal = context.require_principal()
        webhook_id = decode_id(input.id, "Webhook")

        async def run() -> dict[str, Any]:
            row = await context.write(service.delete_webhook, principal, webhook_id)
            return {"webhook": Webhook.from_model(row)}

        return await run_mutation(run, DeleteWebhookPayload)
