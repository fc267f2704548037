"""Auto-dispatch: which agent a new ticket goes to.

The agent is an active member whose skills (`agent_skills`) include one of the type's skills,
with the fewest open tickets; ties go to the one whose last assignment is oldest (never
assigned first), then by id. Every assignment of a tenant (automatic or by hand) first takes
the tenant's dispatch lock (a transaction advisory lock), and counts the open tickets inside
it; so of two tickets created at once, the second is dispatched only after the first's
assignment is committed (or rolled back) and sees it in its count: the loads never drift.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.tickets.models import OPEN_STATUSES

_CHOOSE = text(
    """
    SELECT a.membership_id
    FROM agent_skills a
    JOIN memberships m ON m.tenant_id = a.tenant_id AND m.id = a.membership_id
    WHERE a.tenant_id = :tenant_id AND m.is_active AND a.skills && CAST(:skills AS varchar[])
    ORDER BY (SELECT count(*) FROM tickets t
              WHERE t.tenant_id = a.tenant_id AND t.assignee_id = a.membership_id AND t.status = ANY(:open)),
             a.last_assigned_at ASC NULLS FIRST,
             a.membership_id
    LIMIT 1
    """
)


def lock_dispatch(session: Session, tenant_id: uuid.UUID) -> None:
    """Serialise the tenant's assignments until the transaction ends."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"ticket-dispatch:{tenant_id}"}
    )


def choose_agent(session: Session, tenant_id: uuid.UUID, skills: list[str]) -> uuid.UUID | None:
    """The agent for a ticket needing one of `skills`, or None when nobody qualifies.

    The caller holds the dispatch lock (`lock_dispatch`) until it has assigned the ticket.
    """
    if not skills:
        return None
    found = session.execute(
        _CHOOSE, {"tenant_id": tenant_id, "skills": skills, "open": [s.value for s in OPEN_STATUSES]}
    ).scalar()
    return found if isinstance(found, uuid.UUID) or found is None else uuid.UUID(str(found))


def note_assignment(session: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, at: object) -> None:
    """Remember when the agent was last given a ticket (the tie-break), if they have skills."""
    session.execute(
        text(
            "UPDATE agent_skills SET last_assigned_at = :at WHERE tenant_id = :tenant_id AND membership_id = :member_id"
        ),
        {"at": at, "tenant_id": tenant_id, "member_id": member_id},
    )
