"""Notifications' GraphQL, contributed the way a plugin's is: roots and `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.notifications import service
from saas.notifications.graphql.mutations import NotificationMutations
from saas.notifications.graphql.queries import NotificationQueries, recipient
from saas.notifications.graphql.subscriptions import NotificationSubscriptions
from saas.notifications.graphql.types import Notification
from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.context import RequestContext


async def _load_notification(context: RequestContext, raw_id: uuid.UUID) -> Notification:
    """Only the caller's own notification; anyone else's (a colleague's, another tenant's) is NOT_FOUND."""
    member_id = recipient(context.require_principal())
    return Notification.from_model(await context.read(service.get_notification, member_id, raw_id))


contribution = GraphQLContribution(
    queries=(NotificationQueries,),
    mutations=(NotificationMutations,),
    subscriptions=(NotificationSubscriptions,),
    nodes={"Notification": _load_notification},
)
