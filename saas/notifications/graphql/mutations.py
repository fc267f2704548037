"""Marking the caller's notifications read."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.notifications import service
from saas.notifications.graphql.queries import recipient
from saas.notifications.graphql.types import Notification
from saas.schema.common import Payload, run_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID]


@strawberry.type
class MarkNotificationsReadPayload(Payload):
    notifications: list[Notification] | None = None


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
