"""Live streams: stock changes and shipment status, from the tenant's own channels, after commit."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from saas.plugin_api import RequestContext, customer_visible_to, decode_id, listen, require
from saas_manufacturing.graphql import types
from saas_manufacturing.rules import INVENTORY_READ, ORDERS_READ
from saas_manufacturing.service.common import INVENTORY_TOPIC, SHIPMENTS_TOPIC, Actor, acting


async def subscriber(context: RequestContext) -> Actor:
    """The actor of a subscription, checked in a short transaction that returns its connection at once
    (a subscription lives long; it must not hold a connection or an open transaction meanwhile)."""
    return await context.write(acting(lambda session, actor: actor), context.require_principal())


@strawberry.type
class ManufacturingSubscriptions:
    @strawberry.subscription(
        description="Every stock change as it happens (`mfg:inventory:read`); only these products when given."
    )
    async def inventory_changed(
        self, info: Info[RequestContext, None], product_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[types.InventoryChange, None]:
        actor = await subscriber(info.context)
        require(actor.principal.permissions, INVENTORY_READ)
        wanted = {str(decode_id(i, "Product")) for i in product_ids} if product_ids is not None else None
        async for message in listen(info.context.runtime.redis_url, actor.tenant_id, INVENTORY_TOPIC):
            if wanted is None or message["product_id"] in wanted:
                yield types.InventoryChange.from_message(message)

    @strawberry.subscription(
        description="Status changes of shipments the caller may see (portal tokens: their customer's); "
        "only this shipment when given."
    )
    async def shipment_updated(
        self, info: Info[RequestContext, None], shipment_id: strawberry.ID | None = None
    ) -> AsyncGenerator[types.ShipmentUpdate, None]:
        actor = await subscriber(info.context)
        principal = actor.principal
        if actor.portal is None:
            require(principal.permissions, ORDERS_READ)
        wanted = str(decode_id(shipment_id, "MfgShipment")) if shipment_id is not None else None
        async for message in listen(info.context.runtime.redis_url, actor.tenant_id, SHIPMENTS_TOPIC):
            if wanted is not None and message["shipment_id"] != wanted:
                continue
            if actor.portal is not None:
                if message["customer_id"] != str(actor.portal.customer_id):
                    continue
            elif not customer_visible_to(principal, message.get("customer_owner_id")):
                continue
            yield types.ShipmentUpdate.from_message(message)
