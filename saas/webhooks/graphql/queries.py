"""Webhook reads: the tenant's webhooks, and the delivery log, newest events first (keyset-paged, compiled into
one SQL statement with the attempts)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import WEBHOOKS_MANAGE, require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.errors import NotFoundError
from saas.schema.compiled import Within, compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id
from saas.webhooks import models, service
from saas.webhooks.graphql.sql import DELIVERY_SORT, WEBHOOK_DELIVERY
from saas.webhooks.graphql.types import Webhook, WebhookDelivery, WebhookDeliveryConnection

CURSOR_TYPES = DELIVERY_SORT.casts


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
        raw_webhook = decode_id(webhook_id, "Webhook") if webhook_id is not None else None
        require(principal.permissions, WEBHOOKS_MANAGE)

        async def resolved() -> WebhookDeliveryConnection:
            """The resolver path, for a selection with a field that has no SQL mapping."""
            limit, position = page_arguments(first, after, CURSOR_TYPES, context.runtime.settings.max_page_size)
            return await context.read(_deliveries, principal, raw_webhook, limit, position)  # type: ignore[no-any-return]

        condition = SqlCondition()
        within: Within | None = None
        if raw_webhook is not None:
            condition.add("r.webhook_id = CAST(:delivery_webhook AS uuid)", delivery_webhook=raw_webhook)
            webhook = SqlCondition()
            # Deleted or not, as `service.delivery_page` finds it.
            webhook.add("w.id = CAST(:within_webhook AS uuid)", within_webhook=raw_webhook)
            within = Within("webhooks", webhook, lambda: NotFoundError("Webhook not found", id=str(raw_webhook)))
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            WEBHOOK_DELIVERY,
            models.WebhookDelivery,
            WebhookDelivery.from_model,
            condition,
            DELIVERY_SORT,
            first,
            after,
            within=within,
            page_fallback=resolved,
        )
