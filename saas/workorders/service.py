"""The only place that changes work orders: permissions, input checks, the no-overlap rule,
notifications, the audit log and events.

A technician's non-cancelled work orders never overlap. The wall is the exclusion constraint of
migration 0014 (btree_gist over tenant, technician and the time range), not a check before the
insert: two concurrent bookings of one slot both pass any check, and the constraint makes the
second fail, which becomes the user error OVERLAP (nothing written). Bookings of one technician
are serialised on a transaction-scoped advisory lock first: two inserts in flight at once would
each wait for the other's row under the constraint, and PostgreSQL would end one of them with a
deadlock instead of the overlap.
The technician is notified of each work order given to them and of each cancellation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import WORK_ORDERS_READ, WORK_ORDERS_WRITE, require
from saas.auth.principal import Principal
from saas.customers.models import Customer
from saas.deals.service.common import find_visible
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.money import parse_amount
from saas.notifications.service import notify
from saas.validation import Checker
from saas.workorders.graphql.types import WorkOrder as WorkOrderType
from saas.workorders.models import NO_OVERLAP_CONSTRAINT, WorkOrder, WorkOrderKind, WorkOrderStatus
from saas.workorders.rules import assignable_customer, work_order_conditions

# One visit lasts at most a week; hours worked are recorded up to 999.99.
MAX_DURATION = timedelta(days=7)
MAX_HOURS = Decimal("999.99")
MAX_REPORT = 20_000


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(field: str, code: str, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], code, message)])


def _payload(order: WorkOrder) -> dict[str, Any]:
    """The work order as the API returns it, with its customer and technician as references."""
    return api_object(
        WorkOrderType.from_model(order),
        customer=node_ref("Customer", order.customer_id),
        technician=node_ref("Member", order.technician_id),
    )


def _record(
    session: Session, principal: Principal, action: str, order: WorkOrder, before: dict[str, Any] | None
) -> None:
    record_change(session, principal, action, "WorkOrder", order.id, before, snapshot(order))
    emit_event(session, action, {"workOrder": _payload(order)})


def get_work_order(session: Session, principal: Principal, work_order_id: uuid.UUID) -> WorkOrder:
    require(principal.permissions, WORK_ORDERS_READ)
    found = find_visible(session, principal, WorkOrder, work_order_id, work_order_conditions)
    if found is None:
        raise NotFoundError("WorkOrder not found", id=str(work_order_id))
    return found  # type: ignore[no-any-return]


def _check_time(data: dict[str, Any]) -> tuple[datetime, datetime]:
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    for field, value in (("startsAt", starts_at), ("endsAt", ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _invalid(field, UserErrorCode.INVALID, f"{field} must be a date-time with a time zone")
    assert isinstance(starts_at, datetime) and isinstance(ends_at, datetime)
    if ends_at <= starts_at:
        raise _invalid("endsAt", UserErrorCode.INVALID, "endsAt must be after startsAt")
    if ends_at - starts_at > MAX_DURATION:
        raise _invalid("endsAt", UserErrorCode.INVALID, "A work order lasts at most 7 days")
    return starts_at, ends_at


def _technician(session: Session, technician_id: uuid.UUID | None) -> Membership:
    """An active member of the tenant (the session's tenant filter keeps other tenants' out)."""
    member = None
    if technician_id is not None:
        member = session.scalars(
            select(Membership).where(Membership.id == technician_id, Membership.is_active.is_(True))
        ).first()
    if member is None:
        raise _invalid("technicianId", UserErrorCode.NOT_FOUND, "No such active member")
    return member


def _lock_bookings(session: Session, principal: Principal, technician_id: uuid.UUID) -> None:
    """Wait for the technician's other bookings in flight to end (the module's docstring: why)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"work-order-bookings:{principal.tenant_id}:{technician_id}"},
    )


def _flush_booking(session: Session) -> None:
    """Flush in a savepoint: the no-overlap constraint (also against a concurrent booking, committed
    by the time `_lock_bookings` returned) is OVERLAP."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT in str(exc.orig):
            raise _invalid(
                "startsAt", UserErrorCode.OVERLAP, "The technician already has a work order at that time"
            ) from None
        raise


def _ticket_of(
    session: Session, principal: Principal, ticket_id: uuid.UUID | None, customer_id: uuid.UUID
) -> uuid.UUID | None:
    """The ticket a work order serves: visible to the caller (`NOT_FOUND`) and of the work order's
    customer (`OTHER_CUSTOMER`), read under the tickets' own visibility rule."""
    if ticket_id is None:
        return None
    from saas.tickets import service as tickets

    try:
        ticket = tickets.get_ticket(session, principal, ticket_id)
    except NotFoundError:
        raise _invalid("ticketId", UserErrorCode.NOT_FOUND, "No such ticket") from None
    if ticket.customer_id != customer_id:
        raise _invalid("ticketId", UserErrorCode.OTHER_CUSTOMER, "The ticket is another customer's")
    return ticket.id


def create_work_order(session: Session, principal: Principal, data: dict[str, Any]) -> WorkOrder:
    """A SCHEDULED work order for a customer the caller sees, in a free slot of the technician's."""
    require(principal.permissions, WORK_ORDERS_WRITE)
    kind = data.get("kind")
    if kind not in {k.value for k in WorkOrderKind}:
        raise _invalid("kind", UserErrorCode.INVALID, f"kind must be one of {', '.join(k.name for k in WorkOrderKind)}")
    starts_at, ends_at = _check_time(data)
    customer = find_visible(session, principal, Customer, data.get("customer_id"), assignable_customer)
    if customer is None:
        raise _invalid("customerId", UserErrorCode.NOT_FOUND, "No such customer")
    ticket_id = _ticket_of(session, principal, data.get("ticket_id"), customer.id)
    technician = _technician(session, data.get("technician_id"))
    _lock_bookings(session, principal, technician.id)
    now = _now()
    order = WorkOrder(
        id=uuid.uuid4(),
        customer_id=customer.id,
        ticket_id=ticket_id,
        technician_id=technician.id,
        kind=str(kind),
        status=WorkOrderStatus.SCHEDULED.value,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_id=principal.membership_id,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    _flush_booking(session)
    _record(session, principal, "work_order.created", order, None)
    notify(
        session,
        technician.id,
        "work_order.assigned",
        f"New work order: {WorkOrderKind(order.kind).name.lower()} at {customer.name}",
        f"From {starts_at.isoformat()} to {ends_at.isoformat()}.",
        {"workOrder": _payload(order)},
    )
    return order


def _scheduled(session: Session, principal: Principal, work_order_id: uuid.UUID, to: WorkOrderStatus) -> WorkOrder:
    require(principal.permissions, WORK_ORDERS_WRITE)
    order = find_visible(session, principal, WorkOrder, work_order_id, work_order_conditions, lock=True)
    if order is None:
        raise _invalid("id", UserErrorCode.NOT_FOUND, "No such work order")
    if order.status != WorkOrderStatus.SCHEDULED.value:
        raise _invalid("id", UserErrorCode.INVALID_TRANSITION, f"A {order.status} work order cannot become {to.value}")
    return order  # type: ignore[no-any-return]


def complete_work_order(
    session: Session, principal: Principal, work_order_id: uuid.UUID, hours_worked: Any, report: str | None
) -> WorkOrder:
    """SCHEDULED → COMPLETED with the hours worked (above zero, at most 999.99) and an optional report."""
    try:
        hours = parse_amount(hours_worked, positive=True)
    except ValueError as exc:
        raise _invalid("hoursWorked", UserErrorCode.INVALID, f"hoursWorked {exc}") from None
    if hours > MAX_HOURS:
        raise _invalid("hoursWorked", UserErrorCode.INVALID, f"hoursWorked must be at most {MAX_HOURS}")
    check = Checker({"report": report} if report is not None else {})
    check.text("report", max_length=MAX_REPORT)
    clean = check.done()
    order = _scheduled(session, principal, work_order_id, WorkOrderStatus.COMPLETED)
    before = snapshot(order)
    now = _now()
    order.status = WorkOrderStatus.COMPLETED.value
    order.hours_worked = hours
    order.report = clean.get("report")
    order.completed_at = now
    order.updated_at = now
    session.flush()
    _record(session, principal, "work_order.completed", order, before)
    return order


def cancel_work_order(session: Session, principal: Principal, work_order_id: uuid.UUID) -> WorkOrder:
    """SCHEDULED → CANCELLED: the slot is free again; the technician is told."""
    order = _scheduled(session, principal, work_order_id, WorkOrderStatus.CANCELLED)
    before = snapshot(order)
    now = _now()
    order.status = WorkOrderStatus.CANCELLED.value
    order.cancelled_at = now
    order.updated_at = now
    session.flush()
    _record(session, principal, "work_order.cancelled", order, before)
    notify(
        session,
        order.technician_id,
        "work_order.cancelled",
        "Work order cancelled",
        f"The {WorkOrderKind(order.kind).name.lower()} from {order.starts_at.isoformat()} is cancelled.",
        {"workOrder": _payload(order)},
    )
    return order  # type: ignore[no-any-return]
