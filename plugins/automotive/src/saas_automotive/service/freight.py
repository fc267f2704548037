"""Freight shipments with legs and tracking events: each event moves the status and the ETA on.

`delayMinutes` is the ETA - the planned arrival. The first event that brings it to the tenant's
`freightDelayThresholdMinutes` or beyond notifies the shipment's owner and emits
`auto.freight.delayed`, once: the shipment row is locked and `delayed_at` set in the same
transaction, so neither a later event nor a concurrent one notifies again. Every change is
published after commit on the tenant's `auto.freight` channel (`freightUpdated`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.plugin_api import Checker, NotFoundError, Page, UserErrorCode, keyset_page, notify, publish_after_commit
from saas_automotive import events
from saas_automotive.errors import AutoErrorCode, invalid
from saas_automotive.models import FreightLeg, FreightShipment, TrackingEvent
from saas_automotive.rules import FREIGHT_READ, FREIGHT_WRITE
from saas_automotive.service.call_offs import get_call_off
from saas_automotive.service.common import FREIGHT_TOPIC, Actor, not_found, now

MAX_LEGS = 20
MAX_COST = Decimal("999999999999.99")
# A delivered shipment takes no further status; every other status may follow any other.
FINAL = frozenset({"delivered"})


def delay_minutes(row: FreightShipment) -> int:
    return int((row.eta - row.planned_arrival_at).total_seconds() // 60)


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _money(check: Checker, data: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    cost, currency = data.get("cost"), data.get("currency")
    if cost is None:
        if currency is not None:
            check.fail("cost", UserErrorCode.REQUIRED, "cost is required with a currency")
        return None, None
    try:
        amount = Decimal(str(cost))
    except InvalidOperation:
        check.fail("cost", UserErrorCode.INVALID, "cost must be a decimal amount")
        return None, None
    if not amount.is_finite() or amount < 0 or amount > MAX_COST or amount != amount.quantize(Decimal("0.01")):
        check.fail("cost", UserErrorCode.OUT_OF_RANGE, "cost must be 0 to 999999999999.99 with at most 2 decimals")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        check.fail("currency", UserErrorCode.INVALID, "currency must be an ISO 4217 code, e.g. EUR")
    return amount, currency


def create_shipment(
    session: Session, actor: Actor, call_off_id: uuid.UUID | None, data: dict[str, Any], legs: list[tuple[Any, Any]]
) -> FreightShipment:
    actor.staff(FREIGHT_WRITE)
    check = Checker(data)
    check.text("carrier", required=True, max_length=100)
    check.text("tracking_number", required=True, max_length=100)
    departure, arrival = _aware(data.get("planned_departure_at")), _aware(data.get("planned_arrival_at"))
    if not isinstance(departure, datetime):
        check.fail("planned_departure_at", UserErrorCode.REQUIRED, "plannedDepartureAt is required")
    if not isinstance(arrival, datetime):
        check.fail("planned_arrival_at", UserErrorCode.REQUIRED, "plannedArrivalAt is required")
    elif isinstance(departure, datetime) and arrival < departure:
        check.fail("planned_arrival_at", UserErrorCode.OUT_OF_RANGE, "plannedArrivalAt must not be before departure")
    cost, currency = _money(check, data)
    clean = check.done()
    if not legs:
        raise invalid(["input", "legs"], UserErrorCode.REQUIRED, "A shipment needs at least one leg")
    if len(legs) > MAX_LEGS:
        raise invalid(["input", "legs"], UserErrorCode.TOO_LONG, f"At most {MAX_LEGS} legs")
    for index, (origin, destination) in enumerate(legs):
        for name, value in (("origin", origin), ("destination", destination)):
            if not isinstance(value, str) or not value.strip():
                raise invalid(["input", "legs", index, name], UserErrorCode.REQUIRED, f"{name} is required")
            if len(value.strip()) > 200:
                raise invalid(
                    ["input", "legs", index, name], UserErrorCode.TOO_LONG, f"{name} is at most 200 characters"
                )
    if call_off_id is not None:
        try:
            get_call_off(session, actor, call_off_id)
        except NotFoundError:
            raise invalid(["input", "callOffId"], UserErrorCode.NOT_FOUND, "No such call-off") from None
    shipment = FreightShipment(
        id=uuid.uuid4(),
        call_off_id=call_off_id,
        carrier=clean["carrier"],
        tracking_number=clean["tracking_number"],
        status="planned",
        planned_departure_at=departure,
        planned_arrival_at=arrival,
        eta=arrival,
        cost=cost,
        currency=currency,
        owner_id=actor.principal.membership_id,
    )
    session.add(shipment)
    session.flush()
    for position, (origin, destination) in enumerate(legs):
        session.add(
            FreightLeg(
                id=uuid.uuid4(),
                shipment_id=shipment.id,
                position=position,
                origin=origin.strip(),
                destination=destination.strip(),
            )
        )
    session.flush()
    session.refresh(shipment)
    events.freight_created(session, shipment)
    _publish(session, shipment)
    return shipment


def get_shipment(session: Session, actor: Actor, shipment_id: uuid.UUID, *, lock: bool = False) -> FreightShipment:
    actor.staff(FREIGHT_READ)
    query = select(FreightShipment).where(FreightShipment.id == shipment_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).first()
    if row is None:
        raise not_found("Freight shipment", shipment_id)
    return row


def add_tracking_event(session: Session, actor: Actor, shipment_id: uuid.UUID, data: dict[str, Any]) -> FreightShipment:
    """A tracking event: the shipment takes its status and ETA; crossing the delay threshold
    notifies the owner and emits `auto.freight.delayed`, once (see the module docstring)."""
    actor.staff(FREIGHT_WRITE)
    check = Checker(data)
    check.text("location", required=True, max_length=200)
    check.text("note", max_length=2_000)
    at, eta = _aware(data.get("at")), _aware(data.get("eta"))
    if not isinstance(at, datetime):
        check.fail("at", UserErrorCode.REQUIRED, "at is required")
    clean = check.done()
    try:
        shipment = get_shipment(session, actor, shipment_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "shipmentId"], UserErrorCode.NOT_FOUND, "No such shipment") from None
    status = data["status"]
    if shipment.status in FINAL:
        raise invalid(
            ["input", "status"], AutoErrorCode.INVALID_STATUS_TRANSITION, "A delivered shipment takes no further events"
        )
    event = TrackingEvent(
        id=uuid.uuid4(),
        shipment_id=shipment.id,
        at=at,
        location=clean["location"],
        status=status,
        eta=eta,
        note=clean.get("note"),
    )
    session.add(event)
    shipment.status, shipment.updated_at = status, now()
    if eta is not None:
        shipment.eta = eta
    session.flush()
    session.refresh(shipment)
    events.freight_updated(session, shipment, event)
    threshold = actor.settings(session).freight_delay_threshold_minutes
    if shipment.delayed_at is None and delay_minutes(shipment) >= threshold:
        shipment.delayed_at = now()
        session.flush()
        if shipment.owner_id is not None:
            title = f"Freight {shipment.tracking_number} is {delay_minutes(shipment)} minutes late"
            notify(
                session, shipment.owner_id, events.FREIGHT_DELAYED, title, data={"shipment": events.freight(shipment)}
            )
        events.freight_delayed(session, shipment, threshold)
    _publish(session, shipment)
    return shipment


def _publish(session: Session, shipment: FreightShipment) -> None:
    publish_after_commit(session, FREIGHT_TOPIC, {"shipment_id": str(shipment.id)})


def legs_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[FreightLeg]]:
    found: dict[uuid.UUID, list[FreightLeg]] = {i: [] for i in ids}
    query = select(FreightLeg).where(FreightLeg.shipment_id.in_(ids)).order_by(FreightLeg.position)
    for row in session.scalars(query):
        found[row.shipment_id].append(row)
    return found


def events_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TrackingEvent]]:
    found: dict[uuid.UUID, list[TrackingEvent]] = {i: [] for i in ids}
    query = select(TrackingEvent).where(TrackingEvent.shipment_id.in_(ids)).order_by(TrackingEvent.seq)
    for row in session.scalars(query):
        found[row.shipment_id].append(row)
    return found


@dataclass(frozen=True)
class FreightFilter:
    status: str | None = None
    call_off_id: uuid.UUID | None = None


def list_shipments(session: Session, actor: Actor, flt: FreightFilter, limit: int, after: list[Any] | None) -> Page:
    actor.staff(FREIGHT_READ)
    query = select(FreightShipment)
    if flt.status is not None:
        query = query.where(FreightShipment.status == flt.status)
    if flt.call_off_id is not None:
        query = query.where(FreightShipment.call_off_id == flt.call_off_id)
    return keyset_page(session, query, (FreightShipment.created_at, FreightShipment.id), limit, after, descending=True)
