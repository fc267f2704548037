"""Tickets: creating (classified, numbered, given due times and dispatched), assigning, moving, commenting.

Numbers are per tenant and never repeat: each creation increments the tenant's
`ticket_counters` row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), which holds that row's
lock until the transaction ends, so two creations at once get consecutive numbers.

The first response (`firstRespondedAt`, for the SLA and the reports) is the first public comment
by staff or the first status move by staff past ASSIGNED (to IN_PROGRESS, WAITING, RESOLVED or
CLOSED), whichever comes first; an assignment or an internal comment is not a response. A move
to RESOLVED sets `resolvedAt` (CLOSED sets it too when the ticket was never resolved); reopening
(back to IN_PROGRESS) clears `resolvedAt` and `closedAt`.

A portal token creates tickets for its own customer only (channel `portal`), reads its
customer's tickets and their public comments, and comments publicly; it cannot assign, move or
reclassify.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.accounts.models import Membership
from saas.auth.permissions import TICKETS_MANAGE, TICKETS_READ, TICKETS_WRITE, require
from saas.auth.principal import Principal
from saas.customers import service as customers
from saas.customers.models import Contact
from saas.db.conditions import SqlCondition
from saas.errors import ConflictError, ForbiddenError, NotFoundError, UserErrorCode
from saas.events.payloads import api_object, node_ref
from saas.notifications.service import notify, notify_roles
from saas.portal.rules import is_portal, live_access
from saas.tickets import dispatch
from saas.tickets.changes import (
    TICKET_ASSIGNED,
    TICKET_COMMENTED,
    TICKET_CREATED,
    TICKET_RECLASSIFIED,
    TICKET_STATUS_CHANGED,
    invalid,
    member_label,
    now,
    ticket_changed,
)
from saas.tickets.classification import Incoming, classify
from saas.tickets.models import Ticket, TicketComment, TicketCounter, TicketStatus
from saas.tickets.rules import (
    ASSIGNABLE,
    TICKET_MANAGER_ROLES,
    as_priority,
    comment_visibility,
    may_move,
    portal_customer,
    ticket_number,
    ticket_visibility,
)
from saas.tickets.service.setup import active_rules, ensure_ticket_types, existing_type, type_skills
from saas.tickets.sla import due_times
from saas.validation import Checker

MAX_BODY = 10_000
PORTAL_CHANNEL = "portal"
# Moves by staff that answer the customer (the first one sets `first_responded_at`).
RESPONDING = frozenset({TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


def _staff_only(principal: Principal) -> None:
    if portal_customer(principal) is not None:
        raise ForbiddenError("Not available to portal users")


def _check_portal(session: Session, principal: Principal) -> None:
    """A portal token must still name a live access (the credential check asks too, cached for 5 s)."""
    if is_portal(principal) and live_access(session, principal) is None:
        raise ForbiddenError("Portal access was revoked or has expired")


def get_ticket(session: Session, principal: Principal, ticket_id: uuid.UUID, *, lock: bool = False) -> Ticket:
    """The ticket if it exists in the principal's tenant and is visible to them, else NOT_FOUND."""
    require(principal.permissions, TICKETS_READ)
    condition = SqlCondition()
    ticket_visibility(principal, "tickets", condition)
    query = select(Ticket).where(Ticket.id == ticket_id, text(condition.sql)).params(**condition.params)
    if lock:
        query = query.with_for_update(of=Ticket).execution_options(populate_existing=True)
    ticket = session.scalars(query).first()
    if ticket is None:
        raise NotFoundError("Ticket not found", id=str(ticket_id))
    return ticket


def _ticket_for_change(session: Session, principal: Principal, ticket_id: uuid.UUID) -> Ticket:
    """The visible ticket, locked; an unknown or invisible id is a user error on `id`."""
    try:
        return get_ticket(session, principal, ticket_id, lock=True)
    except NotFoundError:
        raise invalid(["id"], UserErrorCode.NOT_FOUND, "No such ticket") from None


def _next_number(session: Session, tenant_id: uuid.UUID) -> int:
    statement = (
        insert(TicketCounter)
        .values(tenant_id=tenant_id, last_number=1)
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"last_number": TicketCounter.last_number + 1})
        .returning(TicketCounter.last_number)
    )
    return int(session.execute(statement).scalar_one())


def _check_ticket(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.text("subject", required=True, max_length=200)
    check.text("body", required=True, max_length=MAX_BODY)
    check.text("channel", max_length=50)
    check.passthrough("customer_id")
    check.passthrough("contact_id")
    clean = check.done()
    if clean.get("channel"):
        clean["channel"] = clean["channel"].lower()
    return clean


def _customer_and_contact(
    session: Session, principal: Principal, clean: dict[str, Any]
) -> tuple[Any, uuid.UUID | None]:
    scoped = portal_customer(principal)
    customer_id = clean.get("customer_id")
    if customer_id is None or (scoped is not None and str(customer_id) != scoped):
        raise invalid(["customerId"], UserErrorCode.NOT_FOUND, "No such customer")
    try:
        customer = customers.get_customer(session, principal, customer_id)
    except NotFoundError:
        raise invalid(["customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None
    contact_id = clean.get("contact_id")
    if scoped is not None:
        contact_id = uuid.UUID(str(principal.scoped("contact_id"))) if principal.scoped("contact_id") else None
    elif contact_id is not None:
        contact = session.scalar(
            select(Contact.id).where(
                Contact.id == contact_id, Contact.customer_id == customer.id, Contact.deleted_at.is_(None)
            )
        )
        if contact is None:
            raise invalid(["contactId"], UserErrorCode.NOT_FOUND, "No such contact of this customer")
    return customer, contact_id


def create_ticket(session: Session, principal: Principal, data: dict[str, Any]) -> Ticket:
    """A new ticket: classified by the tenant's rules, numbered, given its SLA due times, and
    dispatched to an agent (or left NEW in its type's queue, the managers notified)."""
    require(principal.permissions, TICKETS_WRITE)
    _check_portal(session, principal)
    clean = _check_ticket(data)
    customer, contact_id = _customer_and_contact(session, principal, clean)
    channel = PORTAL_CHANNEL if is_portal(principal) else clean.get("channel")
    ensure_ticket_types(session, principal.tenant_id)
    incoming = Incoming(clean["subject"], clean["body"], customer.tier, channel)
    decided = classify(active_rules(session), incoming)
    created_at = now()
    first_due, resolution_due = due_times(session, decided.type, decided.priority.value, created_at)
    access_id = principal.scoped("portal_access") if is_portal(principal) else None
    ticket = Ticket(
        id=uuid.uuid4(),
        number=_next_number(session, principal.tenant_id),
        subject=clean["subject"],
        body=clean["body"],
        type=decided.type,
        priority=decided.priority.value,
        status=TicketStatus.NEW.value,
        channel=channel,
        customer_id=customer.id,
        contact_id=contact_id,
        classified_by_id=decided.rule.id if decided.rule is not None else None,
        portal_access_id=uuid.UUID(access_id) if access_id else None,
        created_by=member_label(principal),
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(ticket)
    session.flush()
    session.refresh(ticket)
    ticket_changed(session, principal, TICKET_CREATED, ticket, None)
    _dispatch(session, principal, ticket)
    return ticket


def _dispatch(session: Session, principal: Principal, ticket: Ticket) -> None:
    dispatch.lock_dispatch(session, principal.tenant_id)
    agent = dispatch.choose_agent(session, principal.tenant_id, type_skills(session, ticket.type))
    if agent is None:
        notify_roles(
            session,
            TICKET_MANAGER_ROLES,
            "ticket.unassigned",
            f"No agent for {ticket_number(ticket.number)} ({ticket.type}): {ticket.subject}",
            data={"ticket": node_ref("Ticket", ticket.id), "type": ticket.type},
        )
        return
    _assign(session, principal, ticket, agent)


def _assign(session: Session, principal: Principal, ticket: Ticket, member_id: uuid.UUID) -> None:
    """Give the ticket to `member_id` (the caller holds the dispatch lock): event, notification, live message."""
    before = {"assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None, "status": ticket.status}
    at = now()
    ticket.assignee_id = member_id
    ticket.assigned_at = at
    if ticket.status == TicketStatus.NEW.value:
        ticket.status = TicketStatus.ASSIGNED.value
    ticket.updated_at = at
    _flush(session)
    dispatch.note_assignment(session, principal.tenant_id, member_id, at)
    ticket_changed(session, principal, TICKET_ASSIGNED, ticket, before)
    notify(
        session,
        member_id,
        TICKET_ASSIGNED,
        f"Ticket {ticket_number(ticket.number)} assigned to you: {ticket.subject}",
        data={"ticket": node_ref("Ticket", ticket.id)},
    )


def assign_ticket(session: Session, principal: Principal, ticket_id: uuid.UUID, member_id: uuid.UUID) -> Ticket:
    """Give an open ticket to an active member: oneself with `tickets:write`, another with `tickets:manage`."""
    require(principal.permissions, TICKETS_WRITE)
    _staff_only(principal)
    if member_id != principal.membership_id:
        require(principal.permissions, TICKETS_MANAGE)
    dispatch.lock_dispatch(session, principal.tenant_id)
    ticket = _ticket_for_change(session, principal, ticket_id)
    member = session.get(Membership, (principal.tenant_id, member_id))
    if member is None or not member.is_active:
        raise invalid(["assigneeId"], UserErrorCode.NOT_FOUND, "No such member")
    if TicketStatus(ticket.status) not in ASSIGNABLE:
        raise invalid(
            ["id"], UserErrorCode.INVALID_TRANSITION, f"A {ticket.status} ticket cannot be assigned; reopen it first"
        )
    if ticket.assignee_id == member_id:
        return ticket
    _assign(session, principal, ticket, member_id)
    return ticket


def update_ticket_status(session: Session, principal: Principal, ticket_id: uuid.UUID, status: TicketStatus) -> Ticket:
    """Move a ticket along its allowed transitions (`INVALID_TRANSITION` otherwise)."""
    require(principal.permissions, TICKETS_WRITE)
    _staff_only(principal)
    ticket = _ticket_for_change(session, principal, ticket_id)
    current = TicketStatus(ticket.status)
    if not may_move(current, status):
        raise invalid(
            ["status"], UserErrorCode.INVALID_TRANSITION, f"A {current.name} ticket cannot move to {status.name}"
        )
    before = {"status": ticket.status}
    at = now()
    if status in RESPONDING and ticket.first_responded_at is None:
        ticket.first_responded_at = at
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = at
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = at
        ticket.resolved_at = ticket.resolved_at or at
    elif status == TicketStatus.IN_PROGRESS and current in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = status.value
    ticket.updated_at = at
    _flush(session)
    ticket_changed(session, principal, TICKET_STATUS_CHANGED, ticket, before, previous_status=current)
    return ticket


def reclassify_ticket(session: Session, principal: Principal, ticket_id: uuid.UUID, data: dict[str, Any]) -> Ticket:
    """Set a ticket's type and/or priority by hand; its due times are computed again from its creation."""
    require(principal.permissions, TICKETS_WRITE)
    _staff_only(principal)
    ticket = _ticket_for_change(session, principal, ticket_id)
    before = {"type": ticket.type, "priority": ticket.priority}
    if data.get("type") is not None:
        ticket.type = existing_type(session, "type", data["type"])
    if data.get("priority") is not None:
        ticket.priority = as_priority(data["priority"]).value
    if (ticket.type, ticket.priority) == (before["type"], before["priority"]):
        return ticket
    ticket.classified_by_id = None
    ticket.first_response_due_at, ticket.resolution_due_at = due_times(
        session, ticket.type, ticket.priority, ticket.created_at
    )
    ticket.updated_at = now()
    _flush(session)
    ticket_changed(session, principal, TICKET_RECLASSIFIED, ticket, before)
    return ticket


def comment_on_ticket(
    session: Session, principal: Principal, ticket_id: uuid.UUID, body: Any, public: bool | None
) -> TicketComment:
    """A comment, internal unless `public`; a portal contact's are always public. The first public
    staff comment is the ticket's first response."""
    require(principal.permissions, TICKETS_WRITE)
    _check_portal(session, principal)
    check = Checker({"body": body})
    check.text("body", required=True, max_length=MAX_BODY)
    text_body = check.done()["body"]
    ticket = _ticket_for_change(session, principal, ticket_id)
    portal = portal_customer(principal) is not None
    comment = TicketComment(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        body=text_body,
        public=True if portal else bool(public),
        author_id=None if portal else principal.membership_id,
        author_label=member_label(principal),
        from_customer=portal,
        created_at=now(),
    )
    session.add(comment)
    before = None
    if comment.public and not portal and ticket.first_responded_at is None:
        before = {"first_responded_at": None}
        ticket.first_responded_at = comment.created_at
    ticket.updated_at = comment.created_at
    _flush(session)
    from saas.tickets.graphql.types import TicketComment as CommentType

    ticket_changed(
        session,
        principal,
        TICKET_COMMENTED,
        ticket,
        before,
        internal=not comment.public,
        comment=api_object(CommentType.from_model(comment), author_name=comment.author_label),
    )
    return comment


def visible_comment_condition(principal: Principal, alias: str) -> SqlCondition:
    condition = SqlCondition()
    comment_visibility(principal, alias, condition)
    return condition
