"""Root mutation fields of the plugin: one `input`, a payload with `userErrors` (the core's conventions).

Each runs its service through the kit: `write_mutation` for one service call in its own transaction,
`run_mutation` when ids named inside the input must become `userErrors` (`referenced_id`). Services
take the actor (`acting` resolves it from the principal inside the transaction).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import (
    Payload,
    RequestContext,
    decode_id,
    provided,
    referenced_id,
    run_mutation,
    write_mutation,
)
from saas_manufacturing.graphql import types
from saas_manufacturing.service import inventory, orders, shipments, warehouses
from saas_manufacturing.service.common import acting

# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(name="MfgCreateWarehouseInput")
class CreateWarehouseInput:
    code: str
    name: str
    address: str | None = strawberry.UNSET
    is_default: bool | None = strawberry.field(default=strawberry.UNSET, description="The first warehouse is.")


@strawberry.input(name="MfgUpdateWarehouseInput")
class UpdateWarehouseInput:
    id: strawberry.ID
    version: int
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET


@strawberry.input(name="MfgRecordStockMovementInput")
class RecordStockMovementInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    kind: types.ManualMovementKind
    quantity: int = strawberry.field(description="Positive; for ADJUSTMENT the signed change (e.g. -3 after a count).")
    reference: str | None = strawberry.field(default=None, description="e.g. a delivery note or count sheet number.")
    note: str | None = None


@strawberry.input(name="MfgSetLowStockThresholdInput")
class SetLowStockThresholdInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    threshold: int | None = strawberry.field(description="null: use the tenant's lowStockThreshold setting.")


@strawberry.input(name="MfgOrderLineInput")
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input(name="MfgPlaceOrderInput")
class PlaceOrderInput:
    lines: list[OrderLineInput]
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where to reserve; the tenant's default warehouse when left out."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for staff; a portal token orders for its own customer."
    )
    note: str | None = None


@strawberry.input(name="MfgCancelOrderInput")
class CancelOrderInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.input(name="MfgCreateShipmentInput")
class CreateShipmentInput:
    order_id: strawberry.ID
    carrier: str = strawberry.field(default="manual", description="A carrier code from `carriers`.")
    tracking_number: str | None = None
    dispatch: bool = strawberry.field(default=False, description="Dispatch at once (issues the reserved stock).")


@strawberry.input(name="MfgDispatchShipmentInput")
class DispatchShipmentInput:
    id: strawberry.ID
    description: str | None = None
    location: str | None = None


@strawberry.input(name="MfgUpdateShipmentStatusInput")
class UpdateShipmentStatusInput:
    id: strawberry.ID
    status: types.ShipmentStatus
    description: str | None = None
    location: str | None = None


# -- payloads -----------------------------------------------------------------------------------


@strawberry.type(name="MfgCreateWarehousePayload")
class CreateWarehousePayload(Payload):
    warehouse: types.Warehouse | None = None


@strawberry.type(name="MfgUpdateWarehousePayload")
class UpdateWarehousePayload(Payload):
    warehouse: types.Warehouse | None = None


@strawberry.type(name="MfgRecordStockMovementPayload")
class RecordStockMovementPayload(Payload):
    movement: types.StockMovement | None = None
    stock_level: types.StockLevel | None = None


@strawberry.type(name="MfgSetLowStockThresholdPayload")
class SetLowStockThresholdPayload(Payload):
    stock_level: types.StockLevel | None = None


@strawberry.type(name="MfgPlaceOrderPayload")
class PlaceOrderPayload(Payload):
    order: types.Order | None = None


@strawberry.type(name="MfgCancelOrderPayload")
class CancelOrderPayload(Payload):
    order: types.Order | None = None


@strawberry.type(name="MfgShipmentPayload")
class ShipmentPayload(Payload):
    shipment: types.Shipment | None = None


# -- mutations ----------------------------------------------------------------------------------


def _warehouse(row: Any) -> dict[str, Any]:
    return {"warehouse": types.Warehouse.from_model(row)}


def _order(row: Any) -> dict[str, Any]:
    return {"order": types.Order.from_model(row)}


def _shipment(row: Any) -> dict[str, Any]:
    return {"shipment": types.Shipment.from_model(row)}


async def _write(info: Info[RequestContext, None], work: Any, *args: Any) -> Any:
    """`work(session, actor, *args)` in its own transaction, inside a `run_mutation` body."""
    context = info.context
    return await context.write(acting(work), context.require_principal(), *args)


@strawberry.type
class ManufacturingMutations:
    @strawberry.mutation(description="A warehouse (`mfg:inventory:write`); its code is unique in the tenant.")
    async def create_warehouse(
        self, info: Info[RequestContext, None], input: CreateWarehouseInput
    ) -> CreateWarehousePayload:
        work = acting(warehouses.create_warehouse)
        return await write_mutation(info.context, CreateWarehousePayload, _warehouse, work, provided(input))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Changes the given fields; CONFLICT when `version` is stale.")
    async def update_warehouse(
        self, info: Info[RequestContext, None], input: UpdateWarehouseInput
    ) -> UpdateWarehousePayload:
        raw_id = decode_id(input.id, "MfgWarehouse")
        data = provided(input, skip=("id", "version"))
        work = acting(warehouses.update_warehouse)
        return await write_mutation(info.context, UpdateWarehousePayload, _warehouse, work, raw_id, input.version, data)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A receipt, issue or adjustment in the ledger (`mfg:inventory:write`); an issue or a "
        "negative adjustment beyond the available stock is INSUFFICIENT_STOCK."
    )
    async def record_stock_movement(
        self, info: Info[RequestContext, None], input: RecordStockMovementInput
    ) -> RecordStockMovementPayload:
        async def run() -> dict[str, Any]:
            product = referenced_id(input.product_id, "Product", "productId")
            warehouse = referenced_id(input.warehouse_id, "MfgWarehouse", "warehouseId")
            data = {
                "kind": input.kind,
                "quantity": input.quantity,
                "reference": input.reference,
                "note": input.note,
            }
            movement, level = await _write(info, inventory.record_movement, product, warehouse, data)
            return {
                "movement": types.StockMovement.from_model(movement),
                "stock_level": types.StockLevel.from_level(level),
            }

        return await run_mutation(run, RecordStockMovementPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="A product's low-stock threshold in one warehouse (`mfg:inventory:write`).")
    async def set_low_stock_threshold(
        self, info: Info[RequestContext, None], input: SetLowStockThresholdInput
    ) -> SetLowStockThresholdPayload:
        async def run() -> dict[str, Any]:
            product = referenced_id(input.product_id, "Product", "productId")
            warehouse = referenced_id(input.warehouse_id, "MfgWarehouse", "warehouseId")
            level = await _write(info, inventory.set_low_stock_threshold, product, warehouse, input.threshold)
            return {"stock_level": types.StockLevel.from_level(level)}

        return await run_mutation(run, SetLowStockThresholdPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Reserves every line's stock atomically, or nothing (INSUFFICIENT_STOCK): concurrent orders "
        "never oversell. Staff (`mfg:orders:write`) name the customer; a portal token orders for its own."
    )
    async def place_order(self, info: Info[RequestContext, None], input: PlaceOrderInput) -> PlaceOrderPayload:
        async def run() -> dict[str, Any]:
            lines = [
                orders.LineInput(referenced_id(line.product_id, "Product", "lines", index, "productId"), line.quantity)
                for index, line in enumerate(input.lines)
            ]
            customer = referenced_id(input.customer_id, "Customer", "customerId")
            warehouse = referenced_id(input.warehouse_id, "MfgWarehouse", "warehouseId")
            return _order(await _write(info, orders.place_order, customer, warehouse, lines, input.note))

        return await run_mutation(run, PlaceOrderPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Before dispatch only: releases the reserved stock (ORDER_NOT_CANCELLABLE after).")
    async def cancel_order(self, info: Info[RequestContext, None], input: CancelOrderInput) -> CancelOrderPayload:
        raw_id = decode_id(input.id, "MfgOrder")
        work = acting(orders.cancel_order)
        return await write_mutation(info.context, CancelOrderPayload, _order, work, raw_id, input.version)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A shipment of a placed order from its warehouse (`mfg:shipments:write`), booked with the carrier."
    )
    async def create_shipment(self, info: Info[RequestContext, None], input: CreateShipmentInput) -> ShipmentPayload:
        async def run() -> dict[str, Any]:
            order = referenced_id(input.order_id, "MfgOrder", "orderId")
            data = {"carrier": input.carrier, "tracking_number": input.tracking_number}
            return _shipment(await _write(info, shipments.create_shipment, order, data, input.dispatch))

        return await run_mutation(run, ShipmentPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="The reserved stock leaves the warehouse (on hand and reserved drop).")
    async def dispatch_shipment(
        self, info: Info[RequestContext, None], input: DispatchShipmentInput
    ) -> ShipmentPayload:
        raw_id = decode_id(input.id, "MfgShipment")
        data = {"description": input.description, "location": input.location}
        work = acting(shipments.update_status)
        return await write_mutation(  # type: ignore[no-any-return]
            info.context, ShipmentPayload, _shipment, work, raw_id, "dispatched", data, ("input", "id")
        )

    @strawberry.mutation(
        description="Moves a shipment on (in transit, delivered; a pending one may be cancelled): "
        "INVALID_STATUS_TRANSITION otherwise."
    )
    async def update_shipment_status(
        self, info: Info[RequestContext, None], input: UpdateShipmentStatusInput
    ) -> ShipmentPayload:
        raw_id = decode_id(input.id, "MfgShipment")
        data = {"description": input.description, "location": input.location}
        work = acting(shipments.update_status)
        return await write_mutation(info.context, ShipmentPayload, _shipment, work, raw_id, input.status, data)  # type: ignore[no-any-return]
