"""SLA due times and breaches.

A ticket's due times come from the tenant's policy for its type and priority, counted from its
creation: set when it is created and again when it is reclassified; a ticket whose type and
priority have no policy has none and never breaches.

`flag_breaches` (run every minute by saas/tickets/jobs.py) flags each open ticket whose first
response or resolution is overdue, exactly once: the flag is set by one `UPDATE … WHERE
breached_at IS NULL … RETURNING`; a second run at the same moment (another worker) waits on the
row locks of the first and, when PostgreSQL re-checks the condition on the committed rows, finds
them flagged and returns nothing. The flag, the event and the managers' notifications commit
together, so a breach is never flagged without being announced, nor announced twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.events.payloads import node_ref
from saas.notifications.service import notify_roles
from saas.tickets.changes import TICKET_SLA_BREACHED, now, ticket_changed
from saas.tickets.models import OPEN_STATUSES, SlaPolicy, Ticket
from saas.tickets.rules import TICKET_MANAGER_ROLES, ticket_number

# Breaches flagged per run of the job; the next run flags the rest.
BREACH_BATCH = 500

_FLAG = text(
    """
    UPDATE tickets t SET breached_at = :now, version = t.version + 1
    WHERE t.id IN (
        SELECT c.id FROM tickets c
        WHERE c.tenant_id = :tenant_id AND c.breached_at IS NULL AND c.status = ANY(:open)
          AND ((c.first_responded_at IS NULL AND c.first_response_due_at <= :now)
               OR (c.resolved_at IS NULL AND c.resolution_due_at <= :now))
        ORDER BY c.resolution_due_at, c.id
        LIMIT :batch
    )
    AND t.tenant_id = :tenant_id AND t.breached_at IS NULL
    RETURNING t.id
    """
)


def due_times(
    session: Session, type_key: str, priority: str, created_at: datetime
) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) under the tenant's policy; (None, None) without one."""
    policy = session.scalar(select(SlaPolicy).where(SlaPolicy.type == type_key, SlaPolicy.priority == priority))
    if policy is None:
        return None, None
    return (
        created_at + timedelta(minutes=policy.first_response_minutes),
        created_at + timedelta(minutes=policy.resolution_minutes),
    )


def flag_breaches(session: Session, tenant_id: uuid.UUID, at: datetime | None = None) -> list[uuid.UUID]:
    """Flag every overdue open ticket of the session's tenant not flagged yet; notify the managers."""
    moment = at or now()
    flagged = [
        row.id
        for row in session.execute(
            _FLAG,
            {"tenant_id": tenant_id, "now": moment, "open": [s.value for s in OPEN_STATUSES], "batch": BREACH_BATCH},
        )
    ]
    if not flagged:
        return []
    tickets = session.scalars(
        select(Ticket).where(Ticket.id.in_(flagged)).execution_options(populate_existing=True)
    ).all()
    for ticket in sorted(tickets, key=lambda t: t.number):
        ticket_changed(session, None, TICKET_SLA_BREACHED, ticket, None)
        notify_roles(
            session,
            TICKET_MANAGER_ROLES,
            TICKET_SLA_BREACHED,
            f"SLA breached: {ticket_number(ticket.number)} {ticket.subject}",
            data={"ticket": node_ref("Ticket", ticket.id)},
        )
    return flagged
