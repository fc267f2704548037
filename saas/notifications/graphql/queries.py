"""The caller's notifications, newest first: one compiled SQL statement (page, counts and all)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.principal import Principal
from saas.errors import ForbiddenError
from saas.notifications import models, service
from saas.notifications.graphql.sql import NOTIFICATION, NOTIFICATION_SORT
from saas.notifications.graphql.types import Notification, NotificationConnection
from saas.notifications.rules import notification_conditions, unread_conditions
from saas.schema.compiled import compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext

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

        async def resolved() -> NotificationConnection:
            """The resolver path, for a selection with a field that has no SQL mapping."""
            limit, position = page_arguments(first, after, NEWEST_FIRST, context.runtime.settings.max_page_size)
            return await context.read(_page, member_id, limit, position, unread_only)  # type: ignore[no-any-return]

        return await compiled_page(  # type: ignore[no-any-return]
            info,
            NOTIFICATION,
            models.Notification,
            Notification.from_model,
            notification_conditions(member_id, "r", unread_only),
            NOTIFICATION_SORT,
            first,
            after,
            page_fallback=resolved,
            counts={"unreadCount": unread_conditions(member_id, "r")},
        )
