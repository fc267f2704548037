"""The plugin's GraphQL contribution: types, root fields, subscriptions and `node(id)` reads.

`node(id)` reads each type with the same visibility as its own query (the service decides).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from saas.plugin_api import GraphQLContribution, NotFoundError, RequestContext
from saas_manufacturing.graphql import types
from saas_manufacturing.graphql.mutations import ManufacturingMutations
from saas_manufacturing.graphql.queries import ManufacturingQueries
from saas_manufacturing.graphql.subscriptions import ManufacturingSubscriptions
from saas_manufacturing.service import inventory, visibility, warehouses
from saas_manufacturing.service.common import acting


def _loader(
    work: Callable[..., Any], to_type: Callable[[Any], Any]
) -> Callable[[RequestContext, UUID], Awaitable[Any]]:
    async def load(context: RequestContext, raw_id: UUID) -> Any:
        try:
            row = await context.read(acting(work), context.require_principal(), raw_id)
        except NotFoundError:
            return None
        return to_type(row)

    return load


NODES = {
    "MfgWarehouse": _loader(warehouses.find_warehouse, types.Warehouse.from_model),
    "MfgOrder": _loader(visibility.get_order, types.Order.from_model),
    "MfgShipment": _loader(visibility.get_shipment, types.Shipment.from_model),
    "MfgStockMovement": _loader(inventory.get_movement, types.StockMovement.from_model),
}

contribution = GraphQLContribution(
    types=types.TYPES,
    queries=(ManufacturingQueries,),
    mutations=(ManufacturingMutations,),
    subscriptions=(ManufacturingSubscriptions,),
    nodes=NODES,
)
