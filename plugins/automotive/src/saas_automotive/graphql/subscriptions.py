"""Live stream: freight shipments as they change, from the tenant's own channel, after commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from saas.plugin_api import NotFoundError, RequestContext, decode_id, listen
from saas_automotive.graphql import types
from saas_automotive.rules import FREIGHT_READ
from saas_automotive.service import freight
from saas_automotive.service.common import FREIGHT_TOPIC, acting


@strawberry.type
class AutomotiveSubscriptions:
    @strawberry.subscription(
        description="Each change of a freight shipment (created, tracking event, delay), as the shipment after it "
        "(`auto:freight:read`); only these shipments when given. Listens on the caller's tenant only."
    )
    async def freight_updated(
        self, info: Info[RequestContext, None], shipment_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[types.FreightShipment, None]:
        context = info.context
        principal = context.require_principal()
        actor = await context.write(acting(lambda session, actor: actor), principal)
        actor.staff(FREIGHT_READ)
        wanted = {str(decode_id(i, "AutoFreightShipment")) for i in shipment_ids} if shipment_ids is not None else None
        async for message in listen(context.runtime.redis_url, actor.tenant_id, FREIGHT_TOPIC):
            if wanted is not None and message["shipment_id"] not in wanted:
                continue
            try:
                row = await context.write(acting(freight.get_shipment), principal, uuid.UUID(message["shipment_id"]))
            except NotFoundError:
                continue
            yield types.FreightShipment.from_model(row)
