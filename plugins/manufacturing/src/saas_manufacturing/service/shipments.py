"""Direct shipments of an order from its warehouse to the customer: carrier, tracking, status events.

pending → dispatched (the reserved stock is issued) → in_transit … → delivered; a pending
shipment may be cancelled (the order keeps its reservation). Every status change is an event
row and a live `shipmentUpdated` message after commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.plugin_api import (
    Checker,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    Page,
    UserErrorCode,
    get_customer,
    keyset_page,
    publish_after_commit,
    require,
)
from saas_manufacturing import carriers, events
from saas_manufacturing.errors import MfgErrorCode, invalid
from saas_manufacturing.models import Shipment, ShipmentEvent, Warehouse
from saas_manufacturing.rules import SHIPMENTS_WRITE
from saas_manufacturing.service import inventory
from saas_manufacturing.service.common import SHIPMENTS_TOPIC, Actor, now
from saas_manufacturing.service.visibility import get_order, get_shipment, order_lines, visible

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"dispatched", "cancelled"}),
    "dispatched": frozenset({"in_transit", "delivered"}),
    "in_transit": frozenset({"in_transit", "delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}


def _staff(actor: Actor) -> None:
    if actor.portal is not None:
        raise ForbiddenError("Not available to portal users")
    require(actor.principal.permissions, SHIPMENTS_WRITE)


def _record_event(
    session: Session, actor: Actor, shipment: Shipment, description: str | None, location: str | None = None
) -> ShipmentEvent:
    event = ShipmentEvent(
        id=uuid.uuid4(),
        shipment_id=shipment.id,
        status=shipment.status,
        description=description,
        location=location,
        actor=actor.label,
    )
    session.add(event)
    session.flush()
    try:
        owner = get_customer(session, actor.principal, shipment.customer_id).owner_id
    except NotFoundError:  # e.g. the customer was deleted meanwhile: staff who see all still hear
        owner = None
    message = {
        "shipment_id": str(shipment.id),
        "order_id": str(shipment.order_id),
        "customer_id": str(shipment.customer_id),
        "customer_owner_id": str(owner) if owner else None,
        "status": shipment.status,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "description": description,
        "location": location,
        "occurred_at": event.occurred_at.isoformat(),
    }
    publish_after_commit(session, SHIPMENTS_TOPIC, message)
    events.shipment_changed(session, shipment, event)
    return event


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


def _book(carrier: carriers.Carrier, request: carriers.ShipmentRequest) -> carriers.Booking:
    try:
        return carrier.book(request)
    except carriers.CarrierError as exc:
        raise invalid(["input", "carrier"], MfgErrorCode.CARRIER_FAILED, f"{carrier.name}: {exc}") from None


def create_shipment(
    session: Session, actor: Actor, order_id: uuid.UUID, data: dict[str, Any], dispatch: bool = False
) -> Shipment:
    """A shipment of the whole order from the order's warehouse; `dispatch` sends it at once."""
    _staff(actor)
    check = Checker(data)
    check.text("carrier", required=True, max_length=50)
    check.text("tracking_number", max_length=100)
    clean = check.done()
    carrier = carriers.registry().get(clean["carrier"])
    if carrier is None:
        raise invalid(["input", "carrier"], MfgErrorCode.UNKNOWN_CARRIER, f"Unknown carrier {clean['carrier']!r}")
    try:
        order = get_order(session, actor, order_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "orderId"], UserErrorCode.NOT_FOUND, "No such order") from None
    if order.status != "placed":
        raise invalid(["input", "orderId"], MfgErrorCode.ORDER_NOT_SHIPPABLE, f"The order is {order.status}")
    live = select(Shipment.id).where(Shipment.order_id == order.id, Shipment.status != "cancelled")
    if session.scalar(live) is not None:
        raise invalid(["input", "orderId"], MfgErrorCode.ORDER_NOT_SHIPPABLE, "The order already has a shipment")
    warehouse = session.get(Warehouse, (actor.tenant_id, order.warehouse_id))
    assert warehouse is not None  # a composite foreign key guarantees it
    shipment = Shipment(
        id=uuid.uuid4(),
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        customer_id=order.customer_id,
        carrier=carrier.code,
        status="pending",
    )
    booking = _book(
        carrier,
        carriers.ShipmentRequest(
            tenant_id=actor.tenant_id,
            shipment_id=shipment.id,
            order_id=order.id,
            warehouse_code=warehouse.code,
            warehouse_address=warehouse.address,
            customer_id=order.customer_id,
            tracking_number=clean.get("tracking_number"),
        ),
    )
    shipment.tracking_number = booking.tracking_number or clean.get("tracking_number")
    shipment.tracking_url = booking.tracking_url
    session.add(shipment)
    session.flush()
    _record_event(session, actor, shipment, f"Created with carrier {carrier.name}")
    if dispatch:
        _dispatch(session, actor, shipment, None, None)
    session.refresh(shipment)
    return shipment


def _dispatch(
    session: Session, actor: Actor, shipment: Shipment, description: str | None, location: str | None
) -> None:
    """The order's reserved stock leaves the warehouse: on hand and reserved drop together."""
    order = get_order(session, actor, shipment.order_id, lock=True)
    lines = order_lines(session, [order.id])[order.id]
    for line in sorted(lines, key=lambda line: line.product_id):
        inventory.consume_reservation(
            session, actor, line.product_id, shipment.warehouse_id, line.quantity, order.id, shipment.id
        )
    order.status, order.updated_at = "shipped", now()
    shipment.status, shipment.dispatched_at, shipment.updated_at = "dispatched", now(), now()
    _flush(session)
    events.order_changed(session, events.ORDER_SHIPPED, order, lines)
    _record_event(session, actor, shipment, description or "Dispatched", location)


def update_status(
    session: Session,
    actor: Actor,
    shipment_id: uuid.UUID,
    status: str,
    data: dict[str, Any],
    status_field: tuple[str, ...] = ("input", "status"),
) -> Shipment:
    """Move the shipment on (a carrier's status back, or a person's): only along TRANSITIONS.

    A refused transition is a user error on `status_field`: the input's `status`, or for an
    input without one (dispatchShipment) the field that named the shipment."""
    _staff(actor)
    check = Checker(data)
    check.text("description", max_length=2_000)
    check.text("location", max_length=200)
    clean = check.done()
    shipment = get_shipment(session, actor, shipment_id, lock=True)
    if status not in TRANSITIONS[shipment.status]:
        raise invalid(
            list(status_field),
            MfgErrorCode.INVALID_STATUS_TRANSITION,
            f"A {shipment.status} shipment cannot become {status}",
        )
    if status == "dispatched":
        _dispatch(session, actor, shipment, clean.get("description"), clean.get("location"))
    elif status == "cancelled":
        cancel_pending(session, actor, shipment, clean.get("description") or "Cancelled")
    else:
        shipment.status, shipment.updated_at = status, now()
        if status == "delivered":
            shipment.delivered_at = now()
        _flush(session)
        _record_event(session, actor, shipment, clean.get("description"), clean.get("location"))
    session.refresh(shipment)
    return shipment


def cancel_pending(session: Session, actor: Actor, shipment: Shipment, description: str) -> None:
    """A shipment that never left: cancelled; the order's reservation stays (or is released by its caller)."""
    shipment.status, shipment.updated_at = "cancelled", now()
    _flush(session)
    _record_event(session, actor, shipment, description)


def shipment_events(session: Session, shipment_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ShipmentEvent]]:
    found: dict[uuid.UUID, list[ShipmentEvent]] = {shipment_id: [] for shipment_id in shipment_ids}
    query = select(ShipmentEvent).where(ShipmentEvent.shipment_id.in_(shipment_ids)).order_by(ShipmentEvent.seq)
    for event in session.scalars(query):
        found[event.shipment_id].append(event)
    return found


def list_carriers(session: Session, actor: Actor) -> list[carriers.Carrier]:
    _staff(actor)
    return sorted(carriers.registry().values(), key=lambda carrier: carrier.code)


@dataclass(frozen=True)
class ShipmentFilter:
    order_id: uuid.UUID | None = None
    statuses: tuple[str, ...] | None = None


def list_shipments(session: Session, actor: Actor, flt: ShipmentFilter, limit: int, after: list[Any] | None) -> Page:
    query = visible(select(Shipment), actor, "mfg_shipments.customer_id")
    if flt.order_id is not None:
        query = query.where(Shipment.order_id == flt.order_id)
    if flt.statuses is not None:
        query = query.where(Shipment.status.in_(flt.statuses))
    return keyset_page(session, query, (Shipment.created_at, Shipment.id), limit, after, descending=True)
