"""The caller's notifications: the list, marking read, and the live subscription."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.principal import Principal
from saas.errors import ForbiddenError
from saas.notifications import service
from saas.realtime import listen
from saas.schema.common import Payload, run_mutation
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.notifications.graphql.types import Notification, NotificationConnection
from saas.schema.relay import decode_id

NEWEST_FIRST = ("timestamptz", "uuid")


def recipient(principal: Principal) -> uuid.UUID:
    """Notifications belong to members; an API key has none."""
    if principal.membership_id is None:
        raise ForbiddenError("Notifications belong to members; API keys have none")
    return principal.membership_id


def _page(
    session: Session, member_id: uuid.UUID, limit: int, after: list[Any] | None, unread_only: bool
) -> NotificationConnection:
    page, unread = service.notification_page(session, member_id, limit, after, unread_only)
    return connection(
        page,
        Notification.from_model,
        lambda row: [row.created_at, row.id],
        has_previous_page=after is not None,
        kind=NotificationConnection,
        unread_count=unread,
    )


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID]


@strawberry.type
class MarkNotificationsReadPayload(Payload):
    notifications: list[Notification] | None = None


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        unread_only: bool = False,
    ) -> NotificationConnection:
        context = info.context
        member_id = recipient(context.require_principal())
        limit, position = page_arguments(first, after, NEWEST_FIRST, context.runtime.settings.max_page_size)
        return await context.read(_page, member_id, limit, position, unread_only)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Only the caller's own notifications; any other id is NOT_FOUND.")
    async def mark_notifications_read(
        self, info: Info[RequestContext, None], input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        context = info.context
        member_id = recipient(context.require_principal())
        ids = [decode_id(i, "Notification") for i in input.ids]

        async def run() -> dict[str, Any]:
            rows = await context.write(service.mark_read, member_id, ids)
            return {"notifications": [Notification.from_model(row) for row in rows]}

        return await run_mutation(run, MarkNotificationsReadPayload)


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(description="The caller's new notifications, as they are created.")
    async def notifications(self, info: Info[RequestContext, None]) -> AsyncGenerator[Notification, None]:
        principal = info.context.require_principal()
        mine = str(recipient(principal))
        async for message in listen(info.context.runtime.redis_url, principal.tenant_id, service.TOPIC):
            if message.get("recipient_id") == mine and "kind" in message:
                yield Notification.from_message(message)
