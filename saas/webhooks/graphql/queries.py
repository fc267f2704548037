"""Webhook reads: the tenant's webhooks, and the delivery log, newest events first (keyset-paged)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.principal import Principal
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id
from saas.webhooks import service
from saas.webhooks.graphql.types import Webhook, WebhookDelivery, WebhookDeliveryConnection

CURSOR_TYPES = ("timestamptz", "uuid", "uuid")


def _webhooks(session: Session, principal: Principal) -> list[Webhook]:
    return [Webhook.from_model(row) for row in service.list_webhooks(session, principal)]


def _deliveries(
    session: Session,
    principal: Principal,
    webhook_id: uuid.UUID | None,
    limit: int,
    after: list[Any] | None,
) -> WebhookDeliveryConnection:
    page = service.delivery_page(session, principal, webhook_id, limit, after)
    return connection(
        page,
        WebhookDelivery.from_model,
        lambda row: [row.occurred_at, row.event_id, row.id],
        has_previous_page=after is not None,
    )


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The tenant's webhooks (owners and admins: webhooks:manage).")
    async def webhooks(self, info: Info[RequestContext, None]) -> list[Webhook]:
        return await info.context.read(_webhooks, info.context.require_principal())

    @strawberry.field(description="Deliveries, newest events first, with their attempts; of one webhook or of all.")
    async def webhook_deliveries(
        self,
        info: Info[RequestContext, None],
        webhook_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        context = info.context
        principal = context.require_principal()
        limit, position = page_arguments(first, after, CURSOR_TYPES, context.runtime.settings.max_page_size)
        raw_webhook = decode_id(webhook_id, "Webhook") if webhook_id is not None else None
        return await context.read(_deliveries, principal, raw_webhook, limit, position)
