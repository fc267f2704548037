"""The public pool of customers: idle customers return to it, reps claim from it, owners hand customers over.

- `return_idle_customers` (a periodic job, see saas.followups.jobs) clears the owner of every
  customer without a follow-up for `public_pool_days`: no activity logged since then, and not
  claimed or handed over since then either (a fresh owner gets the full period).
- `claim_customers` gives pool customers to the caller: all or none, never more than the claim
  cap in hand, and each customer to one rep however many claim it at once.
- `transfer_customers` moves customers and their open tasks to another member.
Each change leaves a handover row (the timeline's entry that says why) and emits an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.accounts.ownership import may_own_for
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import CUSTOMERS_WRITE, require
from saas.auth.principal import Principal
from saas.customers.graphql.types import Customer as CustomerType
from saas.customers.models import Customer
from saas.customers.rules import SqlCondition, customer_visibility
from saas.customers.service import announce_update
from saas.errors import FieldError, ForbiddenError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.followups.models import CustomerHandover, HandoverKind, Task
from saas.followups.service import task_payload
from saas.leads.rules import lead_claim_cap, public_pool_days
from saas.notifications.service import notify
from saas.validation import Checker

MAX_IDS = 100
# Customers returned to the pool per run of the job; the next run takes the rest.
POOL_BATCH = 500


def _now() -> datetime:
    return datetime.now(UTC)


def customer_payload(row: Customer) -> dict[str, Any]:
    return api_object(CustomerType.from_model(row), owner=node_ref("Member", row.owner_id))


def _handover(
    session: Session,
    customer: Customer,
    kind: HandoverKind,
    from_member: uuid.UUID | None,
    to_member: uuid.UUID | None,
    actor: uuid.UUID | None,
    note: str | None,
) -> CustomerHandover:
    row = CustomerHandover(
        id=uuid.uuid4(),
        customer_id=customer.id,
        kind=kind.value,
        from_member_id=from_member,
        to_member_id=to_member,
        actor_id=actor,
        note=note,
        occurred_at=_now(),
    )
    session.add(row)
    return row


def _handover_payload(row: CustomerHandover) -> dict[str, Any]:
    return {
        "from": node_ref("Member", row.from_member_id),
        "to": node_ref("Member", row.to_member_id),
        "note": row.note,
        "handover": node_ref("CustomerHandover", row.id),
    }


def _ids(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    if not ids:
        raise InputInvalid(
            [FieldError(["input", "ids"], UserErrorCode.REQUIRED, "ids must name at least one customer")]
        )
    if len(ids) > MAX_IDS:
        raise InputInvalid(
            [FieldError(["input", "ids"], UserErrorCode.INVALID, f"at most {MAX_IDS} customers at once")]
        )
    return list(dict.fromkeys(ids))


def _locked_customers(
    session: Session, principal: Principal, ids: list[uuid.UUID], *, visible: bool = True
) -> list[Customer]:
    """The named customers (those the caller sees, with `visible`), locked in id order (so that
    concurrent claims and transfers of overlapping sets queue instead of deadlocking); any other
    id is NOT_FOUND. A claim locks without the visibility rule: a pool customer a colleague
    claimed a moment ago is then NOT_IN_POOL rather than missing."""
    condition = SqlCondition()
    if visible:
        customer_visibility(principal, "customers", condition)
    rows = session.scalars(
        select(Customer)
        .where(Customer.id.in_(ids), Customer.deleted_at.is_(None), text(condition.sql))
        .params(**condition.params)
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {row.id: row for row in rows}
    missing = [FieldError(["input", "ids", str(i)], UserErrorCode.NOT_FOUND, "No such customer")
               for i, raw in enumerate(ids) if raw not in found]  # fmt: skip
    if missing:
        raise InputInvalid(missing)
    return [found[raw] for raw in ids]


def claim_customers(session: Session, principal: Principal, ids: Sequence[uuid.UUID]) -> list[Customer]:
    """Give the pool customers `ids` to the caller, all or none.

    The caller's membership row is locked first, so two claims by one rep run one after the
    other and the cap (`lead_claim_cap`: customers held after the claim) counts what the other
    took; the customers are locked next, so of two reps claiming one customer the second sees
    it owned and gets NOT_IN_POOL.
    """
    require(principal.permissions, CUSTOMERS_WRITE)
    if principal.membership_id is None:
        raise ForbiddenError("Only members claim customers")
    me = principal.membership_id
    wanted = _ids(ids)
    # NO KEY UPDATE: claims by one rep queue, while foreign-key checks against the row (a
    # transfer to this rep, a task assigned to them) still pass, so no deadlock with them.
    session.execute(select(Membership.id).where(Membership.id == me).with_for_update(key_share=True))
    customers = _locked_customers(session, principal, wanted, visible=False)
    taken = [FieldError(["input", "ids", str(i)], UserErrorCode.NOT_IN_POOL, "The customer is not in the pool")
             for i, c in enumerate(customers) if c.owner_id is not None]  # fmt: skip
    if taken:
        raise InputInvalid(taken)
    cap = lead_claim_cap(session, principal.tenant_id)
    held = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.owner_id == me, Customer.deleted_at.is_(None))
    )
    if (held or 0) + len(customers) > cap:
        raise InputInvalid(
            [FieldError(["input", "ids"], UserErrorCode.CLAIM_CAP_EXCEEDED,
                        f"You hold {held} customers; claiming {len(customers)} would pass the cap of {cap}")]
        )  # fmt: skip
    for customer in customers:
        before = snapshot(customer)
        customer.owner_id = me
        customer.updated_at = _now()
        handover = _handover(session, customer, HandoverKind.CLAIM, None, me, me, None)
        session.flush()
        record_change(session, principal, "customer.claimed", "Customer", customer.id, before, snapshot(customer))
        announce_update(session, customer)
        emit_event(session, "customer.claimed", {"customer": customer_payload(customer), **_handover_payload(handover)})
    return customers


def transfer_customers(
    session: Session, principal: Principal, ids: Sequence[uuid.UUID], to_member_id: uuid.UUID, note: str | None
) -> tuple[list[Customer], list[Task]]:
    """Move customers and their open tasks to another member, recording each handover.

    Owners and admins transfer any customer (the pool's included); other members those they own
    and, for a team's manager, those of the team's members (`may_own_for`: the teams as they are now).
    """
    require(principal.permissions, CUSTOMERS_WRITE)
    check = Checker({"note": note})
    check.text("note", max_length=1000)
    clean_note = check.done().get("note")
    wanted = _ids(ids)
    target = session.get(Membership, (principal.tenant_id, to_member_id))
    if target is None or not target.is_active:
        raise InputInvalid([FieldError(["input", "toMemberId"], UserErrorCode.NOT_FOUND, "No such member")])
    customers = _locked_customers(session, principal, wanted)
    errors: list[FieldError] = []
    for index, customer in enumerate(customers):
        if not principal.sees_all_customers and (
            customer.owner_id is None or not may_own_for(session, principal, customer.owner_id)
        ):
            errors.append(FieldError(["input", "ids", str(index)], UserErrorCode.INVALID,
                                     "Only customers you or your team own can be transferred"))  # fmt: skip
        elif customer.owner_id == to_member_id:
            errors.append(FieldError(["input", "ids", str(index)], UserErrorCode.INVALID,
                                     "The customer already belongs to that member"))  # fmt: skip
    if errors:
        raise InputInvalid(errors)
    moved: list[Task] = []
    for customer in customers:
        before = snapshot(customer)
        previous = customer.owner_id
        customer.owner_id = to_member_id
        customer.updated_at = _now()
        handover = _handover(
            session, customer, HandoverKind.TRANSFER, previous, to_member_id, principal.membership_id, clean_note
        )
        tasks = session.scalars(
            select(Task)
            .where(Task.customer_id == customer.id, Task.completed_at.is_(None), Task.assignee_id != to_member_id)
            .order_by(Task.id)
            .with_for_update()
        ).all()
        for task in tasks:
            task.assignee_id = to_member_id
            task.updated_at = _now()
        session.flush()
        record_change(session, principal, "customer.transferred", "Customer", customer.id, before, snapshot(customer))
        announce_update(session, customer)
        for task in tasks:
            emit_event(session, "task.reassigned", task_payload(task))
        moved.extend(tasks)
        payload = {
            "customer": customer_payload(customer),
            **_handover_payload(handover),
            "tasks": [node_ref("Task", task.id) for task in tasks],
        }
        emit_event(session, "customer.transferred", payload)
        if to_member_id != principal.membership_id:
            notify(
                session, to_member_id, "customer.transferred", f"Customer handed over: {customer.name}", data=payload
            )
    return customers, moved


def idle_since(days: int, now: datetime | None = None) -> datetime:
    return (now or _now()) - timedelta(days=days)


def return_idle_customers(session: Session, tenant_id: uuid.UUID, now: datetime | None = None) -> list[Customer]:
    """Return to the pool every owned customer with no follow-up for the tenant's `public_pool_days`.

    Customers locked by a concurrent change are skipped (the next run sees them); a customer
    contacted meanwhile no longer matches when its row is locked, so it stays with its owner.
    """
    days = public_pool_days(session, tenant_id)
    cutoff = idle_since(days, now)
    # The clock starts at the last contact, or at creation or the last claim/transfer if later.
    started = (
        "GREATEST(c.created_at, COALESCE(c.last_contacted_at, c.created_at), COALESCE((SELECT max(h.occurred_at) "
        "FROM customer_handovers h WHERE h.customer_id = c.id AND h.kind IN ('claim', 'transfer')), c.created_at))"
    )
    ids = list(
        session.execute(
            text(
                f"SELECT c.id FROM customers c WHERE c.owner_id IS NOT NULL AND c.deleted_at IS NULL "
                f"AND {started} < :cutoff ORDER BY c.id LIMIT :batch FOR UPDATE OF c SKIP LOCKED"
            ),
            {"cutoff": cutoff, "batch": POOL_BATCH},
        ).scalars()
    )
    if not ids:
        return []
    customers = session.scalars(
        select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).execution_options(populate_existing=True)
    ).all()
    reason = f"No follow-up for {days} days"
    for customer in customers:
        previous = customer.owner_id
        customer.owner_id = None
        customer.updated_at = _now()
        announce_update(session, customer)
        handover = _handover(session, customer, HandoverKind.POOL_RETURN, previous, None, None, reason)
        session.flush()
        emit_event(
            session,
            "customer.returned_to_pool",
            {"customer": customer_payload(customer), **_handover_payload(handover), "reason": reason},
        )
        if previous is not None:
            notify(session, previous, "customer.returned_to_pool", f"Back in the pool: {customer.name}", reason,
                   data={"customer": node_ref("Customer", customer.id)})  # fmt: skip
    return list(customers)
