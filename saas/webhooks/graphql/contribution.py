"""Webhooks' GraphQL, contributed the way a plugin's is: roots and `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.context import RequestContext
from saas.webhooks import service
from saas.webhooks.graphql.mutations import WebhookMutations
from saas.webhooks.graphql.queries import WebhookQueries
from saas.webhooks.graphql.types import Webhook, WebhookDelivery


async def _load_webhook(context: RequestContext, raw_id: uuid.UUID) -> Webhook:
    return Webhook.from_model(await context.read(service.get_webhook, context.require_principal(), raw_id))


async def _load_delivery(context: RequestContext, raw_id: uuid.UUID) -> WebhookDelivery:
    return WebhookDelivery.from_model(await context.read(service.get_delivery, context.require_principal(), raw_id))


contribution = GraphQLContribution(
    queries=(WebhookQueries,),
    mutations=(WebhookMutations,),
    nodes={"Webhook": _load_webhook, "WebhookDelivery": _load_delivery},
)
