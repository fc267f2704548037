"""The only place that changes returns: permissions, quantities, the lifecycle, the audit log and events.

Rules (docs/api.md, "Returns"):
- a return names lines of one order the caller sees, each at most what was ordered minus what
  other returns of that line (any status but REJECTED) already ask for. Creating a return locks
  the order's lines (`FOR UPDATE`, in id order) before it counts, so concurrent returns of one
  order run one after the other and never ask for more than was ordered together;
- REQUESTED → APPROVED → RECEIVED → REFUNDED, REQUESTED or APPROVED → REJECTED; anything else is
  INVALID_TRANSITION. Each change locks the return first, so two concurrent changes of one return
  cannot both pass the check;
- a refund is more than zero and at most the returned lines' value, in the order's currency;
- `return.received` carries the lines (products and quantities): the manufacturing plugin puts
  the stock back from it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import RETURNS_READ, RETURNS_WRITE, require
from saas.auth.principal import Principal
from saas.deals.models import Order, OrderLine
from saas.deals.rules import customer_record_conditions
from saas.deals.service.common import find_visible
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.money import parse_amount
from saas.returns.graphql.types import ReturnLine as ReturnLineType
from saas.returns.graphql.types import ReturnRequest as ReturnRequestType
from saas.returns.models import TRANSITIONS, ReturnLine, ReturnRequest, ReturnStatus
from saas.returns.rules import return_conditions
from saas.validation import Checker

MAX_LINES = 100
MAX_REASON = 2_000


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(path: list[str | int], code: str, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *(str(p) for p in path)], code, message)])


def _lines(session: Session, request: ReturnRequest) -> list[ReturnLine]:
    return list(
        session.scalars(select(ReturnLine).where(ReturnLine.return_id == request.id).order_by(ReturnLine.position))
    )


def _record(
    session: Session, principal: Principal, action: str, request: ReturnRequest, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event: the return as the API returns it, with its order,
    customer and lines (each line's order line and product) as references."""
    record_change(session, principal, action, "ReturnRequest", request.id, before, snapshot(request))
    lines = [
        api_object(
            ReturnLineType.from_model(line),
            order_line=node_ref("OrderLine", line.order_line_id),
            product=node_ref("Product", line.product_id),
        )
        for line in _lines(session, request)
    ]
    payload = api_object(
        ReturnRequestType.from_model(request),
        order=node_ref("Order", request.order_id),
        customer=node_ref("Customer", request.customer_id),
        lines=lines,
    )
    emit_event(session, action, {"returnRequest": payload})


def get_return(session: Session, principal: Principal, return_id: uuid.UUID) -> ReturnRequest:
    require(principal.permissions, RETURNS_READ)
    found = find_visible(session, principal, ReturnRequest, return_id, return_conditions)
    if found is None:
        raise NotFoundError("ReturnRequest not found", id=str(return_id))
    return found  # type: ignore[no-any-return]


def _check_lines(items: Any) -> list[tuple[uuid.UUID, int]]:
    if not items:
        raise _invalid(["lines"], UserErrorCode.REQUIRED, "A return needs at least one line")
    if len(items) > MAX_LINES:
        raise _invalid(["lines"], UserErrorCode.INVALID, f"At most {MAX_LINES} lines")
    errors: list[FieldError] = []
    clean: list[tuple[uuid.UUID, int]] = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(items):
        path = ["input", "lines", str(index)]
        line_id, quantity = item.get("order_line_id"), item.get("quantity")
        if line_id is None:
            errors.append(FieldError([*path, "orderLineId"], UserErrorCode.REQUIRED, "orderLineId is required"))
        elif line_id in seen:
            errors.append(FieldError([*path, "orderLineId"], UserErrorCode.INVALID, "Each order line once"))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            errors.append(FieldError([*path, "quantity"], UserErrorCode.INVALID, "quantity must be a positive integer"))
        if line_id is not None and isinstance(quantity, int) and quantity > 0:
            seen.add(line_id)
            clean.append((line_id, quantity))
    if errors:
        raise InputInvalid(errors)
    return clean


def _already_requested(session: Session, line_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per order line, the quantity that returns not rejected ask for."""
    rows = session.execute(
        select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnLine.order_line_id.in_(line_ids), ReturnRequest.status != ReturnStatus.REJECTED.value)
        .group_by(ReturnLine.order_line_id)
    )
    return {line_id: int(total) for line_id, total in rows}


def create_return_request(session: Session, principal: Principal, data: dict[str, Any]) -> ReturnRequest:
    """A REQUESTED return of lines of one order, within what is still returnable (see the module)."""
    require(principal.permissions, RETURNS_WRITE)
    check = Checker(data)
    check.text("reason", required=True, max_length=MAX_REASON)
    reason = check.done()["reason"]
    lines = _check_lines(data.get("lines"))
    order = find_visible(session, principal, Order, data.get("order_id"), customer_record_conditions)
    if order is None:
        raise _invalid(["orderId"], UserErrorCode.NOT_FOUND, "No such order")
    # The wall against concurrent returns of this order: its lines, locked in a fixed order.
    ordered = {
        row.id: row
        for row in session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id).with_for_update()
        )
    }
    requested = _already_requested(session, list(ordered))
    errors: list[FieldError] = []
    rows: list[ReturnLine] = []
    value = Decimal("0.00")
    for index, (line_id, quantity) in enumerate(lines):
        path = ["input", "lines", str(index)]
        line = ordered.get(line_id)
        if line is None:
            errors.append(FieldError([*path, "orderLineId"], UserErrorCode.NOT_FOUND, "No such line on this order"))
            continue
        returnable = line.quantity - requested.get(line_id, 0)
        if quantity > returnable:
            errors.append(
                FieldError(
                    [*path, "quantity"],
                    UserErrorCode.QUANTITY_EXCEEDED,
                    f"At most {returnable} of this line can still be returned ({line.quantity} ordered)",
                )
            )
            continue
        amount = line.unit_price * quantity
        value += amount
        rows.append(
            ReturnLine(
                id=uuid.uuid4(),
                position=index + 1,
                order_line_id=line.id,
                product_id=line.product_id,
                quantity=quantity,
                amount=amount,
            )
        )
    if errors:
        raise InputInvalid(errors)
    now = _now()
    request = ReturnRequest(
        id=uuid.uuid4(),
        order_id=order.id,
        customer_id=order.customer_id,
        status=ReturnStatus.REQUESTED.value,
        reason=reason,
        currency=order.currency,
        value=value,
        requested_by_id=principal.membership_id,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    for row in rows:
        row.return_id = request.id
        session.add(row)
    session.flush()
    _record(session, principal, "return.requested", request, None)
    return request


def _move(
    session: Session, principal: Principal, return_id: uuid.UUID, to: ReturnStatus, **changes: Any
) -> ReturnRequest:
    """Lock the return, check the lifecycle allows `to`, apply `changes` and record `return.<to>`."""
    require(principal.permissions, RETURNS_WRITE)
    request = find_visible(session, principal, ReturnRequest, return_id, return_conditions, lock=True)
    if request is None:
        raise _invalid(["id"], UserErrorCode.NOT_FOUND, "No such return")
    current = ReturnStatus(request.status)
    if to not in TRANSITIONS[current]:
        raise _invalid(["id"], UserErrorCode.INVALID_TRANSITION, f"A {current.value} return cannot become {to.value}")
    before = snapshot(request)
    now = _now()
    request.status = to.value
    request.updated_at = now
    setattr(request, f"{to.value}_at", now)
    for field, value in changes.items():
        setattr(request, field, value)
    session.flush()
    _record(session, principal, f"return.{to.value}", request, before)
    return request  # type: ignore[no-any-return]


def approve_return(session: Session, principal: Principal, return_id: uuid.UUID) -> ReturnRequest:
    return _move(session, principal, return_id, ReturnStatus.APPROVED)


def reject_return(session: Session, principal: Principal, return_id: uuid.UUID, reason: str) -> ReturnRequest:
    """Refuse a requested or approved return, saying why; its quantities become returnable again."""
    check = Checker({"reason": reason})
    check.text("reason", required=True, max_length=MAX_REASON)
    clean = check.done()
    return _move(session, principal, return_id, ReturnStatus.REJECTED, rejection_reason=clean["reason"])


def receive_return(session: Session, principal: Principal, return_id: uuid.UUID) -> ReturnRequest:
    """The goods are back: `return.received` carries the lines for whoever restocks them."""
    return _move(session, principal, return_id, ReturnStatus.RECEIVED)


def refund_return(session: Session, principal: Principal, return_id: uuid.UUID, amount: Any) -> ReturnRequest:
    """Refund a received return: more than zero, at most its value (the order's currency)."""
    try:
        clean = parse_amount(amount, positive=True)
    except ValueError as exc:
        raise _invalid(["amount"], UserErrorCode.INVALID, f"amount {exc}") from None
    require(principal.permissions, RETURNS_WRITE)
    request = find_visible(session, principal, ReturnRequest, return_id, return_conditions)
    if request is not None and clean > request.value:
        raise _invalid(
            ["amount"],
            UserErrorCode.REFUND_EXCEEDED,
            f"A refund is at most the returned lines' value, {request.value} {request.currency}",
        )
    return _move(session, principal, return_id, ReturnStatus.REFUNDED, refunded_amount=clean)
