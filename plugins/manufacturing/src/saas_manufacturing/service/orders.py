"""Orders: placed by staff for a customer or by a portal contact for its own, reserving stock atomically.

A whole order is one transaction. Each line reserves with one conditional UPDATE of its stock
level (see inventory._change), lines in product-id order so that two orders never lock the same
levels in opposite orders (no deadlocks); one short line rolls the whole order back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.plugin_api import (
    Checker,
    ConflictError,
    NotFoundError,
    Page,
    Product,
    UserErrorCode,
    get_customer,
    keyset_page,
    record_change,
    require,
    snapshot,
)
from saas_manufacturing import events
from saas_manufacturing.errors import MfgErrorCode, invalid
from saas_manufacturing.models import Order, OrderLine, Shipment, Warehouse
from saas_manufacturing.rules import ORDERS_WRITE
from saas_manufacturing.service import inventory, shipments, warehouses
from saas_manufacturing.service.common import Actor, now
from saas_manufacturing.service.visibility import get_order, order_lines, visible

MAX_LINES = 100
CENT = Decimal("0.01")
MAX_TOTAL = Decimal("999999999999.99")  # Numeric(14, 2)


@dataclass(frozen=True)
class LineInput:
    product_id: uuid.UUID
    quantity: int


def _order_customer(session: Session, actor: Actor, customer_id: uuid.UUID | None) -> uuid.UUID:
    if actor.portal is not None:
        if customer_id is not None and customer_id != actor.portal.customer_id:
            raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer")
        return actor.portal.customer_id
    require(actor.principal.permissions, ORDERS_WRITE)
    if customer_id is None:
        raise invalid(["input", "customerId"], UserErrorCode.REQUIRED, "customerId is required")
    try:
        return get_customer(session, actor.principal, customer_id).id
    except NotFoundError:
        raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None


def _order_warehouse(session: Session, warehouse_id: uuid.UUID | None) -> Warehouse:
    if warehouse_id is None:
        warehouse = warehouses.default_warehouse(session)
        if warehouse is None:
            raise invalid(["input", "warehouseId"], UserErrorCode.REQUIRED, "The tenant has no default warehouse")
    else:
        try:
            warehouse = warehouses.get_warehouse(session, warehouse_id)
        except NotFoundError:
            raise invalid(["input", "warehouseId"], UserErrorCode.NOT_FOUND, "No such warehouse") from None
    if not warehouse.active:
        raise invalid(["input", "warehouseId"], MfgErrorCode.WAREHOUSE_INACTIVE, "The warehouse is inactive")
    return warehouse


def _merged_lines(lines: list[LineInput]) -> dict[uuid.UUID, tuple[int, int]]:
    """Quantity per product (repeated products add up) with the index of its first line."""
    if not lines:
        raise invalid(["input", "lines"], UserErrorCode.REQUIRED, "An order needs at least one line")
    if len(lines) > MAX_LINES:
        raise invalid(["input", "lines"], UserErrorCode.INVALID, f"At most {MAX_LINES} lines")
    merged: dict[uuid.UUID, tuple[int, int]] = {}
    for index, line in enumerate(lines):
        if not 0 < line.quantity <= inventory.MAX_QUANTITY:
            raise invalid(
                ["input", "lines", index, "quantity"], UserErrorCode.INVALID, "quantity must be a positive number"
            )
        quantity, first = merged.get(line.product_id, (0, index))
        merged[line.product_id] = (quantity + line.quantity, first)
    return merged


def _products(session: Session, merged: dict[uuid.UUID, tuple[int, int]]) -> dict[uuid.UUID, Product]:
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(list(merged))))}
    for product_id, (_, index) in merged.items():
        product = products.get(product_id)
        if product is None:
            raise invalid(["input", "lines", index, "productId"], UserErrorCode.NOT_FOUND, "No such product")
        if not product.active:
            raise invalid(["input", "lines", index, "productId"], MfgErrorCode.PRODUCT_INACTIVE, "Product is inactive")
    currencies = {p.currency for p in products.values()}
    if len(currencies) > 1:
        raise invalid(
            ["input", "lines"], MfgErrorCode.CURRENCY_MISMATCH, f"Lines mix currencies: {', '.join(sorted(currencies))}"
        )
    return products


def place_order(
    session: Session,
    actor: Actor,
    customer_id: uuid.UUID | None,
    warehouse_id: uuid.UUID | None,
    lines: list[LineInput],
    note: str | None,
) -> Order:
    customer = _order_customer(session, actor, customer_id)
    check = Checker({"note": note} if note is not None else {})
    check.text("note", max_length=2_000)
    clean = check.done()
    warehouse = _order_warehouse(session, warehouse_id)
    merged = _merged_lines(lines)
    products = _products(session, merged)
    totals = {pid: (products[pid].unit_price * quantity).quantize(CENT) for pid, (quantity, _) in merged.items()}
    total = sum(totals.values(), Decimal("0.00"))
    if total > MAX_TOTAL:
        raise invalid(["input", "lines"], UserErrorCode.INVALID, f"The order total must be at most {MAX_TOTAL}")
    order = Order(
        id=uuid.uuid4(),
        customer_id=customer,
        warehouse_id=warehouse.id,
        portal_access_id=actor.portal.id if actor.portal else None,
        status="placed",
        currency=next(iter(products.values())).currency,
        total=total,
        placed_by=actor.label,
        note=clean.get("note"),
    )
    session.add(order)
    session.flush()
    for product_id in sorted(merged):  # one lock order for every transaction: no deadlocks
        quantity, index = merged[product_id]
        inventory.reserve(
            session, actor, product_id, warehouse.id, quantity, order.id, ["input", "lines", index, "quantity"]
        )
    lines_added = [
        OrderLine(
            id=uuid.uuid4(),
            order_id=order.id,
            position=position,
            product_id=product_id,
            quantity=quantity,
            unit_price=products[product_id].unit_price,
            line_total=totals[product_id],
        )
        for position, (product_id, (quantity, _)) in enumerate(sorted(merged.items(), key=lambda item: item[1][1]))
    ]
    session.add_all(lines_added)
    session.flush()
    session.refresh(order)
    record_change(session, actor.principal, events.ORDER_PLACED, "MfgOrder", order.id, None, snapshot(order))
    events.order_changed(session, events.ORDER_PLACED, order, lines_added)
    return order


def cancel_order(session: Session, actor: Actor, order_id: uuid.UUID, version: int | None) -> Order:
    """Before dispatch only: gives the reserved stock back and cancels a pending shipment."""
    if actor.portal is None:
        require(actor.principal.permissions, ORDERS_WRITE)
    order = get_order(session, actor, order_id, lock=True)
    if version is not None and order.version != version:
        raise ConflictError(current_version=order.version)
    if order.status != "placed":
        raise invalid(["input", "id"], MfgErrorCode.ORDER_NOT_CANCELLABLE, f"The order is {order.status}")
    before = snapshot(order)
    for shipment in session.scalars(
        select(Shipment).where(Shipment.order_id == order.id, Shipment.status == "pending").with_for_update()
    ):
        shipments.cancel_pending(session, actor, shipment, "Order cancelled")
    lines = order_lines(session, [order.id])[order.id]
    for line in sorted(lines, key=lambda line: line.product_id):
        inventory.release(session, actor, line.product_id, order.warehouse_id, line.quantity, order.id)
    order.status, order.cancelled_at, order.updated_at = "cancelled", now(), now()
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc
    record_change(session, actor.principal, events.ORDER_CANCELLED, "MfgOrder", order.id, before, snapshot(order))
    events.order_changed(session, events.ORDER_CANCELLED, order, lines)
    return order


@dataclass(frozen=True)
class OrderFilter:
    customer_id: uuid.UUID | None = None
    statuses: tuple[str, ...] | None = None


def list_orders(session: Session, actor: Actor, flt: OrderFilter, limit: int, after: list[Any] | None) -> Page:
    """Newest first; portal contacts see their customer's orders only."""
    query = visible(select(Order), actor, "mfg_orders.customer_id")
    if flt.customer_id is not None:
        query = query.where(Order.customer_id == flt.customer_id)
    if flt.statuses is not None:
        query = query.where(Order.status.in_(flt.statuses))
    return keyset_page(session, query, (Order.created_at, Order.id), limit, after, descending=True)
