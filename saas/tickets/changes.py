"""What the ticket services share: the clock, input errors, and a ticket change's side effects.

Each change of a ticket writes, in the caller's transaction, its audit entry and its domain
event (the ticket as the API returns it), and publishes once committed a live message on the
tenant's `tickets` topic for `ticketEvents`, carrying what visibility needs to decide who hears
of it (`saas/tickets/rules.py` `ticket_visible_to`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.principal import Principal
from saas.customers.models import Customer
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.realtime import publish_after_commit
from saas.tickets.models import Ticket

# The live topic of ticket changes (`ticketEvents`).
TOPIC = "tickets"

TICKET_CREATED = "ticket.created"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_STATUS_CHANGED = "ticket.status_changed"
TICKET_RECLASSIFIED = "ticket.reclassified"
TICKET_COMMENTED = "ticket.commented"
TICKET_SLA_BREACHED = "ticket.sla_breached"


def now() -> datetime:
    return datetime.now(UTC)


def invalid(path: list[str], code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *path], code, message)])


def ticket_payload(ticket: Ticket, **related: Any) -> dict[str, Any]:
    """The ticket as the API returns it, with its references (global ids)."""
    from saas.tickets.graphql.types import Ticket as TicketType

    return api_object(
        TicketType.from_model(ticket),
        customer=node_ref("Customer", ticket.customer_id),
        contact=node_ref("Contact", ticket.contact_id),
        assignee=node_ref("Member", ticket.assignee_id),
        classified_by=node_ref("ClassificationRule", ticket.classified_by_id),
        **related,
    )


def live_message(session: Session, kind: str, ticket: Ticket, *, internal: bool = False) -> dict[str, Any]:
    """`internal`: a change the customer's portal must not hear of (an internal comment)."""
    owner = session.scalar(select(Customer.owner_id).where(Customer.id == ticket.customer_id))
    return {
        "kind": kind,
        "ticket_id": str(ticket.id),
        "customer_id": str(ticket.customer_id),
        "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None,
        "customer_owner_id": str(owner) if owner else None,
        "internal": internal,
    }


def ticket_changed(
    session: Session,
    principal: Principal | None,
    action: str,
    ticket: Ticket,
    before: dict[str, Any] | None,
    *,
    internal: bool = False,
    **related: Any,
) -> None:
    """The audit entry (when a principal acted), the domain event and, after commit, the live
    message (`internal`: not for the customer's portal)."""
    if principal is not None:
        record_change(session, principal, action, "Ticket", ticket.id, before, snapshot(ticket))
    emit_event(session, action, {"ticket": ticket_payload(ticket), **related})
    publish_after_commit(session, TOPIC, live_message(session, action, ticket, internal=internal))


def member_label(principal: Principal) -> str:
    return principal.label[:200]


def ids_text(ids: list[uuid.UUID]) -> str:
    return ", ".join(str(i) for i in ids)
