"""GraphQL types of the manufacturing plugin (all named `Mfg…`), built from rows by `from_model`."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import Node, RequestContext, to_global_id
from saas.plugin_api import ProductType as Product
from saas_manufacturing import models
from saas_manufacturing.graphql import loaders
from saas_manufacturing.models import ManualMovementKind, MovementKind, OrderStatus, ShipmentStatus
from saas_manufacturing.service.inventory import Level


def gid(type_name: str, raw_id: uuid.UUID | str | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, raw_id)) if raw_id is not None else None


def ref(type_name: str, raw_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, raw_id))


# The plugin's domain enums are its GraphQL enums, exposed once, here, under `Mfg…` names.
strawberry.enum(MovementKind, name="MfgMovementKind")
strawberry.enum(ManualMovementKind, name="MfgManualMovementKind", description="What a person may record by hand.")
strawberry.enum(OrderStatus, name="MfgOrderStatus")
strawberry.enum(ShipmentStatus, name="MfgShipmentStatus")


async def _product(info: Info[RequestContext, None], product_id: uuid.UUID) -> Product:
    row = await loaders.products(info.context).load(product_id)
    return Product.from_model(row)


@strawberry.type(name="MfgWarehouse", description="A place that holds stock.")
class Warehouse(Node):
    code: str = strawberry.field(description="Unique within the tenant, e.g. MAIN.")
    name: str
    address: str | None
    active: bool
    is_default: bool = strawberry.field(description="Orders that name no warehouse reserve here.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Warehouse) -> Warehouse:
        return cls(
            id=ref("MfgWarehouse", row.id),
            code=row.code,
            name=row.name,
            address=row.address,
            active=row.active,
            is_default=row.is_default,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


async def _warehouse(info: Info[RequestContext, None], warehouse_id: uuid.UUID) -> Warehouse:
    return Warehouse.from_model(await loaders.warehouses(info.context).load(warehouse_id))


@strawberry.type(name="MfgStockLevel", description="Stock of one product in one warehouse, kept by the ledger.")
class StockLevel:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    on_hand: int = strawberry.field(description="Physically in the warehouse.")
    reserved: int = strawberry.field(description="Promised to placed orders, not yet dispatched.")
    available: int = strawberry.field(description="onHand - reserved: what new orders can take.")
    low_stock_threshold: int | None = strawberry.field(
        description="This level's own threshold; null: the tenant's lowStockThreshold setting applies."
    )
    raw_product_id: strawberry.Private[uuid.UUID]
    raw_warehouse_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info[RequestContext, None]) -> Product:
        return await _product(info, self.raw_product_id)

    @strawberry.field
    async def warehouse(self, info: Info[RequestContext, None]) -> Warehouse:
        return await _warehouse(info, self.raw_warehouse_id)

    @classmethod
    def from_level(cls, level: Level | models.StockLevel) -> StockLevel:
        return cls(
            product_id=ref("Product", level.product_id),
            warehouse_id=ref("MfgWarehouse", level.warehouse_id),
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.on_hand - level.reserved,
            low_stock_threshold=level.low_stock_threshold,
            raw_product_id=level.product_id,
            raw_warehouse_id=level.warehouse_id,
        )


@strawberry.type(name="MfgStockMovement", description="One row of the append-only stock ledger.")
class StockMovement(Node):
    kind: MovementKind
    quantity: int = strawberry.field(description="Positive; adjustments are signed.")
    on_hand_after: int
    reserved_after: int
    reference: str | None
    note: str | None
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    order_id: strawberry.ID | None
    shipment_id: strawberry.ID | None
    actor: str = strawberry.field(description="Who recorded it (member e-mail, API key or portal contact).")
    created_at: datetime
    raw_product_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info[RequestContext, None]) -> Product:
        return await _product(info, self.raw_product_id)

    @classmethod
    def from_model(cls, row: models.StockMovement) -> StockMovement:
        return cls(
            id=ref("MfgStockMovement", row.id),
            kind=MovementKind(row.kind),
            quantity=row.quantity,
            on_hand_after=row.on_hand_after,
            reserved_after=row.reserved_after,
            reference=row.reference,
            note=row.note,
            product_id=ref("Product", row.product_id),
            warehouse_id=ref("MfgWarehouse", row.warehouse_id),
            order_id=gid("MfgOrder", row.order_id),
            shipment_id=gid("MfgShipment", row.shipment_id),
            actor=row.actor,
            created_at=row.created_at,
            raw_product_id=row.product_id,
        )


@strawberry.type(name="MfgOrderLine")
class OrderLine:
    product_id: strawberry.ID
    quantity: int
    unit_price: Decimal = strawberry.field(description="The product's price when the order was placed.")
    line_total: Decimal
    raw_product_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info[RequestContext, None]) -> Product:
        return await _product(info, self.raw_product_id)

    @classmethod
    def from_model(cls, row: models.OrderLine) -> OrderLine:
        return cls(
            product_id=ref("Product", row.product_id),
            quantity=row.quantity,
            unit_price=row.unit_price,
            line_total=row.line_total,
            raw_product_id=row.product_id,
        )


@strawberry.type(name="MfgOrder", description="A customer's order; placing it reserved its stock.")
class Order(Node):
    customer_id: strawberry.ID
    warehouse_id: strawberry.ID
    status: OrderStatus
    currency: str
    total: Decimal
    note: str | None
    placed_by: str
    placed_through_portal: bool
    version: int
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    raw_id: strawberry.Private[uuid.UUID]
    raw_warehouse_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="In the order they were given (repeated products added up).")
    async def lines(self, info: Info[RequestContext, None]) -> list[OrderLine]:
        rows = await loaders.lines(info.context).load(self.raw_id)
        return [OrderLine.from_model(row) for row in rows]

    @strawberry.field
    async def warehouse(self, info: Info[RequestContext, None]) -> Warehouse:
        return await _warehouse(info, self.raw_warehouse_id)

    @classmethod
    def from_model(cls, row: models.Order) -> Order:
        return cls(
            id=ref("MfgOrder", row.id),
            customer_id=ref("Customer", row.customer_id),
            warehouse_id=ref("MfgWarehouse", row.warehouse_id),
            status=OrderStatus(row.status),
            currency=row.currency,
            total=row.total,
            note=row.note,
            placed_by=row.placed_by,
            placed_through_portal=row.portal_access_id is not None,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            cancelled_at=row.cancelled_at,
            raw_id=row.id,
            raw_warehouse_id=row.warehouse_id,
        )


@strawberry.type(name="MfgShipmentEvent", description="A status the shipment reached, with where and when.")
class ShipmentEvent:
    status: ShipmentStatus
    description: str | None
    location: str | None
    actor: str
    occurred_at: datetime

    @classmethod
    def from_model(cls, row: models.ShipmentEvent) -> ShipmentEvent:
        return cls(
            status=ShipmentStatus(row.status),
            description=row.description,
            location=row.location,
            actor=row.actor,
            occurred_at=row.occurred_at,
        )


@strawberry.type(name="MfgShipment", description="An order on its way from a warehouse to the customer.")
class Shipment(Node):
    order_id: strawberry.ID
    warehouse_id: strawberry.ID
    customer_id: strawberry.ID
    carrier: str = strawberry.field(description="The carrier's code (see `carriers`).")
    tracking_number: str | None
    tracking_url: str | None
    status: ShipmentStatus
    version: int
    created_at: datetime
    updated_at: datetime
    dispatched_at: datetime | None
    delivered_at: datetime | None
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Oldest first.")
    async def events(self, info: Info[RequestContext, None]) -> list[ShipmentEvent]:
        rows = await loaders.events(info.context).load(self.raw_id)
        return [ShipmentEvent.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, row: models.Shipment) -> Shipment:
        return cls(
            id=ref("MfgShipment", row.id),
            order_id=ref("MfgOrder", row.order_id),
            warehouse_id=ref("MfgWarehouse", row.warehouse_id),
            customer_id=ref("Customer", row.customer_id),
            carrier=row.carrier,
            tracking_number=row.tracking_number,
            tracking_url=row.tracking_url,
            status=ShipmentStatus(row.status),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            dispatched_at=row.dispatched_at,
            delivered_at=row.delivered_at,
            raw_id=row.id,
        )


@strawberry.type(name="MfgCarrier", description="A carrier shipments can be booked with.")
class Carrier:
    code: str
    name: str


@strawberry.type(name="MfgInventoryChange", description="One ledger row as it was written, with the level after it.")
class InventoryChange:
    movement_id: strawberry.ID
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    kind: MovementKind
    quantity: int
    on_hand: int
    reserved: int
    available: int
    order_id: strawberry.ID | None
    occurred_at: datetime

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> InventoryChange:
        return cls(
            movement_id=ref("MfgStockMovement", message["movement_id"]),
            product_id=ref("Product", message["product_id"]),
            warehouse_id=ref("MfgWarehouse", message["warehouse_id"]),
            kind=MovementKind(message["kind"]),
            quantity=message["quantity"],
            on_hand=message["on_hand"],
            reserved=message["reserved"],
            available=message["on_hand"] - message["reserved"],
            order_id=gid("MfgOrder", message.get("order_id")),
            occurred_at=datetime.fromisoformat(message["occurred_at"]),
        )


@strawberry.type(name="MfgShipmentUpdate", description="A shipment reached a status.")
class ShipmentUpdate:
    shipment_id: strawberry.ID
    order_id: strawberry.ID
    status: ShipmentStatus
    carrier: str
    tracking_number: str | None
    description: str | None
    location: str | None
    occurred_at: datetime

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> ShipmentUpdate:
        return cls(
            shipment_id=ref("MfgShipment", message["shipment_id"]),
            order_id=ref("MfgOrder", message["order_id"]),
            status=ShipmentStatus(message["status"]),
            carrier=message["carrier"],
            tracking_number=message.get("tracking_number"),
            description=message.get("description"),
            location=message.get("location"),
            occurred_at=datetime.fromisoformat(message["occurred_at"]),
        )


TYPES: tuple[type, ...] = (Warehouse, StockLevel, StockMovement, Order, Shipment, Carrier)
