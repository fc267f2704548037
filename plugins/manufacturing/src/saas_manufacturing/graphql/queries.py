"""Root query fields of the plugin: thin wrappers over the services (each list is a Relay connection).

`warehouses`, `stockLevels`, `stockMovements`, `orders` and `shipments` are compiled reads (one
statement per page, `sql.py`), with the rows and order of `list_warehouses`, `list_levels`,
`list_movements`, `list_orders` and `list_shipments`; a portal token's access is checked in the
same statement (`portal_within`), as `actor_for` checks it in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from saas.plugin_api import (
    CountedConnection,
    ForbiddenError,
    Principal,
    RequestContext,
    SqlCondition,
    Within,
    compiled_page,
    connection,
    customer_visibility,
    decode_id,
    page_arguments,
    portal_access_condition,
    require,
)
from saas_manufacturing import NAME, models
from saas_manufacturing.graphql import sql, types
from saas_manufacturing.rules import INVENTORY_READ, ORDERS_READ
from saas_manufacturing.service import inventory, orders, shipments, visibility, warehouses
from saas_manufacturing.service.common import PORTAL_GONE, acting, is_portal

BY_CODE = ("text", "uuid")
BY_LEVEL = ("uuid", "uuid")
BY_ID = ("uuid",)
NEWEST_FIRST = ("timestamptz", "uuid")

T = TypeVar("T")


async def read(info: Info[RequestContext, None], work: Callable[..., T], *args: Any) -> T:
    """The service `work(session, actor, *args)` on the request's read session."""
    return await info.context.read(acting(work), info.context.require_principal(), *args)


def page_args(
    info: Info[RequestContext, None], first: int | None, after: str | None, key: tuple[str, ...]
) -> tuple[int, list[Any] | None]:
    """`first` and `after` checked against the host's page limit: the page size and the cursor's sort key."""
    return page_arguments(first, after, key, info.context.runtime.settings.max_page_size)


def warehouse_condition(principal: Principal, active: bool | None) -> SqlCondition:
    """`list_warehouses`' rows as a compiled read's condition (alias `r`)."""
    require(principal.permissions, INVENTORY_READ)
    condition = SqlCondition()
    condition.given("r.active", "filter_active", active)
    return condition


def _staff_condition(principal: Principal) -> SqlCondition:
    """Orders' and shipments' rows for staff (alias `r`): those of the customers they see
    (`visibility.reader_filter`)."""
    require(principal.permissions, ORDERS_READ)
    condition = SqlCondition()
    visible = SqlCondition()
    customer_visibility(principal, "c", visible)
    if visible.parts:
        condition.add(
            f"EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id AND {visible.sql})", **visible.params
        )
    return condition


def level_condition(principal: Principal, flt: inventory.LevelFilter) -> SqlCondition:
    """`list_levels`' rows as a compiled read's condition (alias `r`)."""
    require(principal.permissions, INVENTORY_READ)
    condition = SqlCondition()
    if flt.product_ids is not None:
        condition.add("r.product_id = ANY(:filter_product_ids)", filter_product_ids=list(flt.product_ids))
    if flt.warehouse_ids is not None:
        condition.add("r.warehouse_id = ANY(:filter_warehouse_ids)", filter_warehouse_ids=list(flt.warehouse_ids))
    if flt.below_threshold is not None:
        below = f"(r.on_hand - r.reserved) < {sql.LEVEL_THRESHOLD}"
        condition.add(below if flt.below_threshold else f"NOT {below}", plugin_name=NAME)
    return condition


def movement_condition(principal: Principal, flt: inventory.MovementFilter) -> SqlCondition:
    """`list_movements`' rows as a compiled read's condition (alias `r`)."""
    require(principal.permissions, INVENTORY_READ)
    condition = SqlCondition()
    condition.given("r.product_id", "filter_product_id", flt.product_id)
    condition.given("r.warehouse_id", "filter_warehouse_id", flt.warehouse_id)
    condition.given("r.order_id", "filter_order_id", flt.order_id)
    if flt.kinds is not None:
        condition.add("r.kind = ANY(:filter_kinds)", filter_kinds=[str(k) for k in flt.kinds])
    return condition


def portal_within(principal: Principal) -> Within:
    """A portal token's live access (`actor_for`), checked in the compiled read's statement: FORBIDDEN
    when it was revoked or has expired."""
    access = portal_access_condition(principal, "w") or SqlCondition(["FALSE"])
    return Within("portal_accesses", access, lambda: ForbiddenError(PORTAL_GONE))


def _reader_condition(principal: Principal) -> SqlCondition:
    """Orders' and shipments' rows the caller reads (alias `r`), as `visibility.reader_filter`:
    a portal token its customer's, staff those of the customers they see."""
    if not is_portal(principal):
        return _staff_condition(principal)
    condition = SqlCondition()
    access = portal_within(principal).condition.params
    if "portal_customer_id" in access:
        condition.add("r.customer_id = :portal_customer_id", portal_customer_id=access["portal_customer_id"])
    else:  # no access of the token can stand: `portal_within` refuses it
        condition.add("FALSE")
    return condition


def order_condition(principal: Principal, flt: orders.OrderFilter) -> SqlCondition:
    """`list_orders`' rows as a compiled read's condition (alias `r`)."""
    condition = _reader_condition(principal)
    condition.given("r.customer_id", "filter_customer_id", flt.customer_id)
    if flt.statuses is not None:
        condition.add("r.status = ANY(:filter_statuses)", filter_statuses=[str(s) for s in flt.statuses])
    return condition


def shipment_condition(principal: Principal, flt: shipments.ShipmentFilter) -> SqlCondition:
    """`list_shipments`' rows as a compiled read's condition (alias `r`)."""
    condition = _reader_condition(principal)
    condition.given("r.order_id", "filter_order_id", flt.order_id)
    if flt.statuses is not None:
        condition.add("r.status = ANY(:filter_statuses)", filter_statuses=[str(s) for s in flt.statuses])
    return condition


@strawberry.input(name="MfgWarehouseFilterInput")
class WarehouseFilterInput:
    active: bool | None = None


@strawberry.input(name="MfgStockLevelFilterInput", description="All given conditions must hold.")
class StockLevelFilterInput:
    product_ids: list[strawberry.ID] | None = None
    warehouse_ids: list[strawberry.ID] | None = None
    below_threshold: bool | None = strawberry.field(
        default=None, description="true: available below the (own or tenant) threshold; false: not below."
    )

    def to_filter(self) -> inventory.LevelFilter:
        return inventory.LevelFilter(
            product_ids=tuple(decode_id(i, "Product") for i in self.product_ids)
            if self.product_ids is not None
            else None,
            warehouse_ids=(
                tuple(decode_id(i, "MfgWarehouse") for i in self.warehouse_ids)
                if self.warehouse_ids is not None
                else None
            ),
            below_threshold=self.below_threshold,
        )


@strawberry.input(name="MfgStockMovementFilterInput")
class StockMovementFilterInput:
    product_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None
    order_id: strawberry.ID | None = None
    kinds: list[types.MovementKind] | None = None

    def to_filter(self) -> inventory.MovementFilter:
        return inventory.MovementFilter(
            product_id=decode_id(self.product_id, "Product") if self.product_id else None,
            warehouse_id=decode_id(self.warehouse_id, "MfgWarehouse") if self.warehouse_id else None,
            order_id=decode_id(self.order_id, "MfgOrder") if self.order_id else None,
            kinds=tuple(self.kinds) if self.kinds is not None else None,
        )


@strawberry.input(name="MfgOrderFilterInput")
class OrderFilterInput:
    customer_id: strawberry.ID | None = None
    statuses: list[types.OrderStatus] | None = None

    def to_filter(self) -> orders.OrderFilter:
        return orders.OrderFilter(
            customer_id=decode_id(self.customer_id, "Customer") if self.customer_id else None,
            statuses=tuple(self.statuses) if self.statuses is not None else None,
        )


@strawberry.input(name="MfgShipmentFilterInput")
class ShipmentFilterInput:
    order_id: strawberry.ID | None = None
    statuses: list[types.ShipmentStatus] | None = None

    def to_filter(self) -> shipments.ShipmentFilter:
        return shipments.ShipmentFilter(
            order_id=decode_id(self.order_id, "MfgOrder") if self.order_id else None,
            statuses=tuple(self.statuses) if self.statuses is not None else None,
        )


@strawberry.type
class ManufacturingQueries:
    @strawberry.field(description="Warehouses by code (`mfg:inventory:read`).")
    async def warehouses(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: WarehouseFilterInput | None = None,
    ) -> CountedConnection[types.Warehouse]:
        active = filter.active if filter else None
        page_args(info, first, after, BY_CODE)  # BAD_USER_INPUT before anything is read
        condition = warehouse_condition(info.context.require_principal(), active)
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.WAREHOUSE,
            models.Warehouse,
            types.Warehouse.from_model,
            condition,
            sql.WAREHOUSE_SORT,
            first,
            after,
        )

    @strawberry.field(description="One warehouse; NOT_FOUND if it does not exist in the tenant.")
    async def warehouse(self, info: Info[RequestContext, None], id: strawberry.ID) -> types.Warehouse:
        row = await read(info, warehouses.find_warehouse, decode_id(id, "MfgWarehouse"))
        return types.Warehouse.from_model(row)

    @strawberry.field(description="On hand, reserved and available per product and warehouse (`mfg:inventory:read`).")
    async def stock_levels(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: StockLevelFilterInput | None = None,
    ) -> CountedConnection[types.StockLevel]:
        flt = filter.to_filter() if filter else inventory.LevelFilter()
        arguments = page_args(info, first, after, BY_LEVEL)  # BAD_USER_INPUT before anything is read
        condition = level_condition(info.context.require_principal(), flt)

        async def resolved() -> Any:
            page = await read(info, inventory.list_levels, flt, *arguments)
            return connection(
                page,
                types.StockLevel.from_level,
                lambda row: [row.product_id, row.warehouse_id],
                has_previous_page=after is not None,
            )

        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.STOCK_LEVEL,
            models.StockLevel,
            types.StockLevel.from_level,
            condition,
            sql.STOCK_LEVEL_SORT,
            first,
            after,
            page_fallback=resolved,
        )

    @strawberry.field(description="The stock ledger, newest first (`mfg:inventory:read`).")
    async def stock_movements(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: StockMovementFilterInput | None = None,
    ) -> CountedConnection[types.StockMovement]:
        flt = filter.to_filter() if filter else inventory.MovementFilter()
        page_args(info, first, after, BY_ID)  # BAD_USER_INPUT before anything is read
        condition = movement_condition(info.context.require_principal(), flt)
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.STOCK_MOVEMENT,
            models.StockMovement,
            types.StockMovement.from_model,
            condition,
            sql.STOCK_MOVEMENT_SORT,
            first,
            after,
        )

    @strawberry.field(description="Orders, newest first: staff see visible customers', portal tokens their own.")
    async def orders(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: OrderFilterInput | None = None,
    ) -> CountedConnection[types.Order]:
        flt = filter.to_filter() if filter else orders.OrderFilter()
        page_args(info, first, after, NEWEST_FIRST)  # BAD_USER_INPUT before anything is read
        principal = info.context.require_principal()
        condition = order_condition(principal, flt)
        within = portal_within(principal) if is_portal(principal) else None
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.ORDER, models.Order, types.Order.from_model, condition, sql.ORDER_SORT, first, after, within
        )

    @strawberry.field(description="One order; NOT_FOUND if it does not exist or is not visible.")
    async def order(self, info: Info[RequestContext, None], id: strawberry.ID) -> types.Order:
        row = await read(info, visibility.get_order, decode_id(id, "MfgOrder"))
        return types.Order.from_model(row)

    @strawberry.field(description="Shipments, newest first, with the same visibility as orders.")
    async def shipments(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ShipmentFilterInput | None = None,
    ) -> CountedConnection[types.Shipment]:
        flt = filter.to_filter() if filter else shipments.ShipmentFilter()
        page_args(info, first, after, NEWEST_FIRST)  # BAD_USER_INPUT before anything is read
        principal = info.context.require_principal()
        condition = shipment_condition(principal, flt)
        within = portal_within(principal) if is_portal(principal) else None
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.SHIPMENT,
            models.Shipment,
            types.Shipment.from_model,
            condition,
            sql.SHIPMENT_SORT,
            first,
            after,
            within,
        )

    @strawberry.field(description="One shipment; NOT_FOUND if it does not exist or is not visible.")
    async def shipment(self, info: Info[RequestContext, None], id: strawberry.ID) -> types.Shipment:
        row = await read(info, visibility.get_shipment, decode_id(id, "MfgShipment"))
        return types.Shipment.from_model(row)

    @strawberry.field(description="The carriers shipments can be booked with (built-in `manual` and installed ones).")
    async def carriers(self, info: Info[RequestContext, None]) -> list[types.Carrier]:
        found = await read(info, shipments.list_carriers)
        return [types.Carrier(code=c.code, name=c.name) for c in found]
