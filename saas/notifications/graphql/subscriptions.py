"""The caller's new notifications, live."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from saas.notifications import service
from saas.notifications.graphql.queries import recipient
from saas.notifications.graphql.types import Notification
from saas.realtime import listen
from saas.schema.context import RequestContext


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(description="The caller's new notifications, as they are created.")
    async def notifications(self, info: Info[RequestContext, None]) -> AsyncGenerator[Notification, None]:
        principal = info.context.require_principal()
        mine = str(recipient(principal))
        async for message in listen(info.context.runtime.redis_url, principal.tenant_id, service.TOPIC):
            if message.get("recipient_id") == mine and "kind" in message:
                yield Notification.from_message(message)
