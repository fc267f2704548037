"""`node(id:)` for the plugin's types: the same visibility as their own queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from saas.plugin_api import NotFoundError, RequestContext
from saas_manufacturing.graphql import types
from saas_manufacturing.graphql.runner import _bound
from saas_manufacturing.service import inventory, portal, visibility, warehouses


def _loader(
    work: Callable[..., Any], to_type: Callable[[Any], Any]
) -> Callable[[RequestContext, UUID], Awaitable[Any]]:
    async def load(context: RequestContext, raw_id: UUID) -> Any:
        try:
            row = await context.read(_bound(context, work, (raw_id,)))
        except NotFoundError:
            return None
        return to_type(row)

    return load


NODES = {
    "MfgWarehouse": _loader(warehouses.find_warehouse, types.Warehouse.from_model),
    "MfgOrder": _loader(visibility.get_order, types.Order.from_model),
    "MfgShipment": _loader(visibility.get_shipment, types.Shipment.from_model),
    "MfgStockMovement": _loader(inventory.get_movement, types.StockMovement.from_model),
    "MfgPortalAccess": _loader(portal.get_access, types.PortalAccess.from_model),
}
