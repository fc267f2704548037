"""GraphQL types of webhooks, deliveries and attempts (the secret is never a field)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.schema.common import Node
from saas.schema.connections import Connection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id
from saas.webhooks import models
from saas.webhooks.models import WebhookDeliveryStatus


@strawberry.type(description="An endpoint that receives the tenant's events, signed with its secret.")
class Webhook(Node):
    url: str
    events: list[str] = strawberry.field(description="Event types, `customer.*` style prefixes, or `*`.")
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Webhook) -> Webhook:
        return cls(
            id=strawberry.ID(to_global_id("Webhook", row.id)),
            url=row.url,
            events=list(row.events),
            created_at=row.created_at,
        )


strawberry.enum(WebhookDeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(description="One POST of a delivery and what the receiver answered.")
class WebhookAttempt:
    attempt: int
    status_code: int | None = strawberry.field(description="Null when there was no answer (timeout, refused).")
    error: str | None
    duration_ms: int | None = strawberry.field(
        description="Null while the request is under way, or when it was cut short (then `error` says `interrupted`)."
    )
    at: datetime = strawberry.field(description="When the attempt started.")

    @classmethod
    def from_model(cls, row: models.WebhookAttempt) -> WebhookAttempt:
        return cls(
            attempt=row.attempt,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            at=row.created_at,
        )


@strawberry.type(description="One event sent to one webhook, retried with backoff until answered 2xx.")
class WebhookDelivery(Node):
    webhook_id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="The event's id (a UUID), the same in the POSTed body.")
    event_type: str
    payload: JSON
    status: WebhookDeliveryStatus
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Every attempt, first to last.")
    async def attempts(self, info: Info[RequestContext, None]) -> list[WebhookAttempt]:
        from saas.webhooks.graphql.loaders import attempts_loader

        return await attempts_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", row.id)),
            webhook_id=strawberry.ID(to_global_id("Webhook", row.webhook_id)),
            event_id=strawberry.ID(str(row.event_id)),
            event_type=row.event_type,
            payload=cast(JSON, row.payload),
            status=WebhookDeliveryStatus(row.status),
            attempt_count=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            raw_id=row.id,
        )


WebhookDeliveryConnection = Connection[WebhookDelivery]
