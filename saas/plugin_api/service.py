"""Reads of the core's service domains a plugin may score on: complaint tickets per customer.

Each read runs in the caller's session and sees only that session's tenant: the statement
filters on the session's bound tenant (and row-level security enforces the same), so another
tenant's rows are never counted, even for a customer id that belongs to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.tenancy.session import bound_tenant
from saas.tickets.models import Ticket

COMPLAINT = "complaint"


def complaint_counts(session: Session, customer_ids: Sequence[uuid.UUID], *, since: datetime) -> dict[uuid.UUID, int]:
    """Tickets of type `complaint` created at or after `since`, per customer, in one statement.

    Customers without such tickets (or not of the session's tenant) are absent from the result;
    a session bound to no tenant counts nothing. The count uses `ix_tickets_tenant_customer`
    (tenant, customer, created_at).
    """
    tenant_id = bound_tenant(session)
    if tenant_id is None or not customer_ids:
        return {}
    rows = session.execute(
        select(Ticket.customer_id, func.count())
        .where(
            Ticket.tenant_id == tenant_id,
            Ticket.customer_id.in_(list(dict.fromkeys(customer_ids))),
            Ticket.type == COMPLAINT,
            Ticket.created_at >= since,
        )
        .group_by(Ticket.customer_id)
    )
    return {customer_id: int(count) for customer_id, count in rows}
