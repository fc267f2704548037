"""Vehicle orders exploding into JIT call-offs, their status along the allowed transitions, the
confirmation window, and supplier performance.

A vehicle order names parts and quantities; each supplier of those parts gets one call-off, due
at the build slot - the supplier's JIT window - the longest lead time of its parts. The call-off
is sent to the supplier through the outbox: its `auto.call_off.created` event reaches this
plugin's `saas_handle_event`, which enqueues `automotive.send_call_off` after the dispatch
commits; the job sends it through the supplier's channel, retried with backoff, and marks it
SENT. The supplier must confirm within its JIT window (`confirm_by`), else the periodic
`automotive.check_call_off_windows` flags it overdue once: a notification and an event.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from saas.plugin_api import (
    BadUserInputError,
    JobContext,
    NotFoundError,
    Page,
    Role,
    UserErrorCode,
    get_customer,
    keyset_page,
    notify,
    notify_roles,
)
from saas_automotive import channels, events
from saas_automotive.errors import AutoErrorCode, invalid
from saas_automotive.models import CallOff, CallOffLine, CallOffStatus, Part, Supplier, VehicleOrder
from saas_automotive.rules import SUPPLY_READ, SUPPLY_WRITE
from saas_automotive.service.common import Actor, not_found, now

log = logging.getLogger(__name__)

MAX_ORDER_LINES = 200
MAX_QUANTITY = 100_000

TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"sent", "rejected"}),
    "sent": frozenset({"confirmed", "rejected"}),
    "confirmed": frozenset({"shipped", "rejected"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "rejected": frozenset(),
}
# What a supplier's key may do: answer a call-off it was sent, and ship what it confirmed.
SUPPLIER_MOVES = frozenset({("sent", "confirmed"), ("sent", "rejected"), ("confirmed", "shipped")})


@dataclass(frozen=True)
class PartLine:
    part_id: uuid.UUID
    quantity: Any


def _check_lines(lines: list[PartLine]) -> None:
    if not lines:
        raise invalid(["input", "parts"], UserErrorCode.REQUIRED, "An order needs at least one part")
    if len(lines) > MAX_ORDER_LINES:
        raise invalid(["input", "parts"], UserErrorCode.TOO_LONG, f"At most {MAX_ORDER_LINES} parts")
    for index, line in enumerate(lines):
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise invalid(
                ["input", "parts", index, "quantity"],
                UserErrorCode.OUT_OF_RANGE,
                f"quantity must be 1 to {MAX_QUANTITY}",
            )


def create_vehicle_order(
    session: Session, actor: Actor, customer_id: uuid.UUID, data: dict[str, Any], lines: list[PartLine]
) -> tuple[VehicleOrder, list[CallOff]]:
    """The order and one call-off per supplier of its parts (repeated parts added up), or nothing."""
    actor.staff(SUPPLY_WRITE)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid(["input", "model"], UserErrorCode.REQUIRED, "model is required")
    if len(model.strip()) > 100:
        raise invalid(["input", "model"], UserErrorCode.TOO_LONG, "model is at most 100 characters")
    build_slot_at = data.get("build_slot_at")
    if not isinstance(build_slot_at, datetime):
        raise invalid(["input", "buildSlotAt"], UserErrorCode.REQUIRED, "buildSlotAt is required")
    if build_slot_at.tzinfo is None:
        build_slot_at = build_slot_at.replace(tzinfo=UTC)
    if build_slot_at <= now():
        raise invalid(["input", "buildSlotAt"], UserErrorCode.OUT_OF_RANGE, "buildSlotAt must be in the future")
    _check_lines(lines)
    try:
        customer = get_customer(session, actor.principal, customer_id)
    except NotFoundError:
        raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None
    parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_({line.part_id for line in lines})))}
    quantities: dict[uuid.UUID, int] = defaultdict(int)
    for index, line in enumerate(lines):
        if line.part_id not in parts:
            raise invalid(["input", "parts", index, "partId"], UserErrorCode.NOT_FOUND, "No such part")
        quantities[line.part_id] += line.quantity
    by_supplier: dict[uuid.UUID, list[Part]] = defaultdict(list)
    for part_id in quantities:
        by_supplier[parts[part_id].supplier_id].append(parts[part_id])
    suppliers = {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(by_supplier)))}
    order = VehicleOrder(
        id=uuid.uuid4(),
        customer_id=customer.id,
        model=model.strip(),
        build_slot_at=build_slot_at,
        created_by_id=actor.principal.membership_id,
    )
    session.add(order)
    session.flush()
    created = now()
    call_offs = []
    for supplier_id in sorted(by_supplier, key=lambda s: suppliers[s].code):
        supplier = suppliers[supplier_id]
        lead = max(part.lead_time_hours for part in by_supplier[supplier_id])
        due_at = build_slot_at - timedelta(minutes=supplier.jit_window_minutes) - timedelta(hours=lead)
        call_off = CallOff(
            id=uuid.uuid4(),
            order_id=order.id,
            supplier_id=supplier_id,
            due_at=due_at,
            confirm_by=min(created + timedelta(minutes=supplier.jit_window_minutes), due_at),
            status="created",
        )
        session.add(call_off)
        call_offs.append(call_off)
    session.flush()
    for call_off in call_offs:
        for part in sorted(by_supplier[call_off.supplier_id], key=lambda p: p.part_number):
            session.add(
                CallOffLine(id=uuid.uuid4(), call_off_id=call_off.id, part_id=part.id, quantity=quantities[part.id])
            )
    session.flush()
    session.refresh(order)
    for call_off in call_offs:
        session.refresh(call_off)
    events.order_created(session, order, call_offs)
    return order, call_offs


def _visible_call_offs(actor: Actor) -> Any:
    query = select(CallOff)
    if actor.is_supplier:
        return query.where(CallOff.supplier_id == actor.supplier_id)
    actor.staff(SUPPLY_READ)
    return query


def get_call_off(session: Session, actor: Actor, call_off_id: uuid.UUID, *, lock: bool = False) -> CallOff:
    """The call-off if the actor may see it (a supplier key: its own only), else NOT_FOUND."""
    query = _visible_call_offs(actor).where(CallOff.id == call_off_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).first()
    if row is None:
        raise not_found("Call-off", call_off_id)
    return row


def get_order(session: Session, actor: Actor, order_id: uuid.UUID) -> VehicleOrder:
    actor.staff(SUPPLY_READ)
    row = session.scalars(select(VehicleOrder).where(VehicleOrder.id == order_id)).first()
    if row is None:
        raise not_found("Vehicle order", order_id)
    return row


def _set_status(session: Session, row: CallOff, status: str, moment: datetime) -> None:
    row.status, row.updated_at = status, moment
    if status == "sent":
        row.sent_at = moment
    elif status == "confirmed":
        row.confirmed_at = moment
    elif status == "delivered":
        row.delivered_at = moment


def update_status(session: Session, actor: Actor, call_off_id: uuid.UUID, status: str, note: Any) -> CallOff:
    """Move the call-off along TRANSITIONS (a supplier key: SUPPLIER_MOVES of its own call-offs only).

    The row is locked first, so of two concurrent moves the second sees the first's status."""
    if not actor.is_supplier:
        actor.staff(SUPPLY_WRITE)
    if note is not None and (not isinstance(note, str) or len(note) > 2_000):
        raise invalid(["input", "note"], UserErrorCode.TOO_LONG, "note is at most 2000 characters")
    try:
        row = get_call_off(session, actor, call_off_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "id"], UserErrorCode.NOT_FOUND, "No such call-off") from None
    previous = row.status
    allowed = status in TRANSITIONS[previous] and (not actor.is_supplier or (previous, status) in SUPPLIER_MOVES)
    if not allowed:
        raise invalid(
            ["input", "status"],
            AutoErrorCode.INVALID_STATUS_TRANSITION,
            f"A {CallOffStatus(previous).name} call-off cannot become {CallOffStatus(status).name}",
        )
    _set_status(session, row, status, now())
    if note is not None:
        row.note = note
    session.flush()
    session.refresh(row)
    events.call_off_status_changed(session, row, previous, actor.label)
    return row


def call_off_lines(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CallOffLine]]:
    found: dict[uuid.UUID, list[CallOffLine]] = {i: [] for i in ids}
    for line in session.scalars(select(CallOffLine).where(CallOffLine.call_off_id.in_(ids)).order_by(CallOffLine.id)):
        found[line.call_off_id].append(line)
    return found


def order_call_offs(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CallOff]]:
    found: dict[uuid.UUID, list[CallOff]] = {i: [] for i in ids}
    for row in session.scalars(select(CallOff).where(CallOff.order_id.in_(ids)).order_by(CallOff.due_at, CallOff.id)):
        found[row.order_id].append(row)
    return found


@dataclass(frozen=True)
class CallOffFilter:
    supplier_id: uuid.UUID | None = None
    status: str | None = None


def list_call_offs(session: Session, actor: Actor, flt: CallOffFilter, limit: int, after: list[Any] | None) -> Page:
    query = _visible_call_offs(actor)
    if flt.supplier_id is not None:
        query = query.where(CallOff.supplier_id == flt.supplier_id)
    if flt.status is not None:
        query = query.where(CallOff.status == flt.status)
    return keyset_page(session, query, (CallOff.created_at, CallOff.id), limit, after, descending=True)


# -- sending and the confirmation window (jobs) ------------------------------------------------


class CallOffNotDelivered(Exception):
    """The supplier's channel failed; the job is retried with backoff."""


def send_call_off(ctx: JobContext, call_off_id: uuid.UUID) -> bool:
    """Send a CREATED call-off through its supplier's channel and mark it SENT; True when sent now.

    Anything else (already sent or moved on, unknown) is left alone, so a redelivered or repeated
    job sends nothing twice once the first send committed. A failed send raises to be retried."""
    session = ctx.session
    row = session.scalars(select(CallOff).where(CallOff.id == call_off_id).with_for_update()).first()
    if row is None or row.status != "created":
        return False
    supplier = session.get(Supplier, (ctx.tenant_id, row.supplier_id))
    assert supplier is not None  # a composite foreign key guarantees it
    channel = channels.registry().get(supplier.channel)
    if channel is None:
        log.error("supplier channel %s is not installed", supplier.channel)
        raise CallOffNotDelivered(f"channel {supplier.channel} not installed")
    lines = call_off_lines(session, [row.id])[row.id]
    data = {"callOff": events.call_off(row), "lines": [_line(line) for line in lines]}
    message = channels.CallOffMessage(row.id, events.CALL_OFF_CREATED, row.created_at, data)
    failure = channel.send(ctx, supplier, message)
    if failure is not None:
        raise CallOffNotDelivered(f"call-off {row.id}: {failure}")
    _set_status(session, row, "sent", now())
    session.flush()
    events.call_off_status_changed(session, row, "created", f"channel:{channel.code}")
    return True


def _line(line: CallOffLine) -> dict[str, Any]:
    from saas.plugin_api import to_global_id

    return {"part": {"id": to_global_id("AutoPart", line.part_id)}, "quantity": line.quantity}


def flag_overdue(session: Session, at: datetime) -> list[CallOff]:
    """Call-offs not confirmed by `confirm_by`, flagged once: one UPDATE … WHERE overdue_at IS NULL,
    so two runs (even concurrent ones) flag each call-off once. Each notifies the order's creator
    (or the tenant's owners, admins and managers) and emits `auto.call_off.overdue`."""
    flagged = list(
        session.scalars(
            update(CallOff)
            .where(CallOff.status.in_(("created", "sent")), CallOff.confirm_by < at, CallOff.overdue_at.is_(None))
            .values(overdue_at=at)
            .returning(CallOff),
            execution_options={"synchronize_session": False},
        )
    )
    for row in flagged:
        order = session.get(VehicleOrder, (row.tenant_id, row.order_id))
        supplier = session.get(Supplier, (row.tenant_id, row.supplier_id))
        title = f"Call-off to {supplier.code if supplier else 'a supplier'} not confirmed in time"
        data = {"callOff": events.call_off(row)}
        if order is not None and order.created_by_id is not None:
            notify(session, order.created_by_id, "auto.call_off.overdue", title, data=data)
        else:
            notify_roles(session, (Role.OWNER, Role.ADMIN, Role.MANAGER), "auto.call_off.overdue", title, data=data)
        events.call_off_overdue(session, row)
    return flagged


# -- supplier performance ----------------------------------------------------------------------

# Per supplier of the tenant, its call-offs due in [:start, :stop]: the figures of `supplier_performance`
# (also the rows of the compiled read, `graphql/sql.py` `SUPPLIER_PERFORMANCE`).
PERFORMANCE_ROWS = """
SELECT s.tenant_id,
       s.id AS supplier_id,
       s.code,
       count(c.id) AS call_offs,
       round(
           (count(*) FILTER (WHERE c.delivered_at IS NOT NULL AND c.delivered_at <= c.due_at))::numeric
           / NULLIF(count(*) FILTER (WHERE c.delivered_at IS NOT NULL), 0), 4
       ) AS on_time_rate,
       round(
           (avg(extract(epoch FROM c.delivered_at - COALESCE(c.sent_at, c.created_at)))
               FILTER (WHERE c.delivered_at IS NOT NULL) / 3600)::numeric, 2
       ) AS mean_lead_time_hours,
       count(*) FILTER (WHERE c.status = 'rejected') AS rejected
FROM auto_suppliers s
LEFT JOIN auto_call_offs c
       ON c.tenant_id = s.tenant_id AND c.supplier_id = s.id
      AND c.due_at >= CAST(:start AS date) AND c.due_at < CAST(:stop AS date) + 1
WHERE s.tenant_id = :tenant_id
GROUP BY s.tenant_id, s.id, s.code
"""
PERFORMANCE_SQL = f"""
SELECT p.supplier_id, p.call_offs, p.on_time_rate, p.mean_lead_time_hours, p.rejected
FROM ({PERFORMANCE_ROWS}) p
ORDER BY p.code, p.supplier_id
"""


@dataclass(frozen=True)
class Performance:
    supplier_id: uuid.UUID
    call_offs: int
    on_time_rate: Any
    mean_lead_time_hours: Any
    rejected: int


MAX_PERFORMANCE_DAYS = 3660


def check_performance_period(start: date, stop: date) -> None:
    """`from..to` of `supplierPerformance`: in order and at most ten years, else BAD_USER_INPUT."""
    if stop < start:
        raise BadUserInputError("to must not be before from", field="to")
    if (stop - start).days > MAX_PERFORMANCE_DAYS:
        raise BadUserInputError("At most ten years at once", field="to")


def supplier_performance(session: Session, actor: Actor, start: date, stop: date) -> list[Performance]:
    """Per supplier, the call-offs due in [start, stop]: how many, the share delivered by their due
    time (of those delivered), the mean hours from sending to delivery, how many were rejected —
    computed by PostgreSQL in one statement (Decimals, never floats)."""
    actor.staff(SUPPLY_READ)
    check_performance_period(start, stop)
    rows = session.execute(text(PERFORMANCE_SQL), {"start": start, "stop": stop, "tenant_id": actor.tenant_id})
    return [Performance(*row) for row in rows]
