"""Relay connections of the plugin's lists (edges with opaque keyset cursors, pageInfo, totalCount)."""

from __future__ import annotations

import strawberry

from saas.plugin_api import PageInfo
from saas_manufacturing.graphql.types import Order, PortalAccess, Shipment, StockLevel, StockMovement, Warehouse


@strawberry.type(name="MfgWarehouseEdge")
class WarehouseEdge:
    node: Warehouse
    cursor: str


@strawberry.type(name="MfgWarehouseConnection")
class WarehouseConnection:
    edges: list[WarehouseEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="MfgStockLevelEdge")
class StockLevelEdge:
    node: StockLevel
    cursor: str


@strawberry.type(name="MfgStockLevelConnection")
class StockLevelConnection:
    edges: list[StockLevelEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="MfgStockMovementEdge")
class StockMovementEdge:
    node: StockMovement
    cursor: str


@strawberry.type(name="MfgStockMovementConnection")
class StockMovementConnection:
    edges: list[StockMovementEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="MfgOrderEdge")
class OrderEdge:
    node: Order
    cursor: str


@strawberry.type(name="MfgOrderConnection")
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="MfgShipmentEdge")
class ShipmentEdge:
    node: Shipment
    cursor: str


@strawberry.type(name="MfgShipmentConnection")
class ShipmentConnection:
    edges: list[ShipmentEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="MfgPortalAccessEdge")
class PortalAccessEdge:
    node: PortalAccess
    cursor: str


@strawberry.type(name="MfgPortalAccessConnection")
class PortalAccessConnection:
    edges: list[PortalAccessEdge]
    page_info: PageInfo
    total_count: int
