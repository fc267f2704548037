"""Reading orders and shipments as the actor may see them: the one place for the rule.

Portal contacts see their own customer's rows only; staff need `mfg:orders:read` and see the
rows of the customers the core lets them see (sales reps: their own and the unowned pool).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, TextClause, select, text
from sqlalchemy.orm import Session

from saas.plugin_api import Principal, SqlCondition, customer_visibility, require
from saas_manufacturing.models import Order, OrderLine, Shipment
from saas_manufacturing.rules import ORDERS_READ
from saas_manufacturing.service.common import Actor, not_found


def visible_customers(principal: Principal, customer_column: str) -> TextClause | None:
    """SQL limiting rows with a customer to those the principal may see (None: all of the tenant's)."""
    condition = SqlCondition()
    customer_visibility(principal, "c", condition)
    if not condition.parts:
        return None
    return text(f"EXISTS (SELECT 1 FROM customers c WHERE c.id = {customer_column} AND {condition.sql})").bindparams(
        **condition.params
    )


def reader_filter(actor: Actor, customer_column: str) -> TextClause | None:
    if actor.portal is not None:
        return text(f"{customer_column} = :portal_customer_id").bindparams(portal_customer_id=actor.portal.customer_id)
    require(actor.principal.permissions, ORDERS_READ)
    return visible_customers(actor.principal, customer_column)


def visible(query: Select, actor: Actor, customer_column: str) -> Select:  # type: ignore[type-arg]
    condition = reader_filter(actor, customer_column)
    return query if condition is None else query.where(condition)


def get_order(session: Session, actor: Actor, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    """The order if the actor may see it, else NOT_FOUND (another tenant's or customer's included)."""
    query = visible(select(Order).where(Order.id == order_id), actor, "mfg_orders.customer_id")
    if lock:
        query = query.with_for_update(of=Order)
    order = session.scalars(query.execution_options(populate_existing=True)).first()
    if order is None:
        raise not_found("Order", order_id)
    return order


def get_shipment(session: Session, actor: Actor, shipment_id: uuid.UUID, *, lock: bool = False) -> Shipment:
    query = visible(select(Shipment).where(Shipment.id == shipment_id), actor, "mfg_shipments.customer_id")
    if lock:
        query = query.with_for_update(of=Shipment)
    shipment = session.scalars(query.execution_options(populate_existing=True)).first()
    if shipment is None:
        raise not_found("Shipment", shipment_id)
    return shipment


def order_lines(session: Session, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[OrderLine]]:
    """The lines of several orders in one statement (for the lines loader)."""
    found: dict[uuid.UUID, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    query = select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.order_id, OrderLine.position)
    for line in session.scalars(query):
        found[line.order_id].append(line)
    return found
