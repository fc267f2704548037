"""Sales actions plugins take on the core's records: follow-up tasks for a customer's owner.

Each goes through the core domain's own service, so a task a plugin makes is a task like any
other: validated, its `task.created` event in the outbox, its assignee notified, all in the
caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers.service import get_customer
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.followups import service as followups
from saas.schema.relay import to_global_id


def create_follow_up_task(
    session: Session,
    principal: Principal,
    *,
    customer_id: uuid.UUID,
    title: str,
    due_at: datetime,
    remind_at: datetime | None = None,
    assignee_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A follow-up task on the customer, assigned to `assignee_id` or else the customer's owner;
    returns the task's id.

    The principal needs `customers:write` and must see the customer (`NOT_FOUND` otherwise); a
    customer without owner and no `assignee_id` is a `userError` `NOT_FOUND` on `assigneeId`
    (nobody to follow up). A job's principal (no membership) may assign to any active member.
    """
    customer = get_customer(session, principal, customer_id)
    assignee = assignee_id or customer.owner_id
    if assignee is None:
        raise InputInvalid(
            [FieldError(["input", "assigneeId"], UserErrorCode.NOT_FOUND, "The customer has no owner to assign")]
        )
    data = {
        "subject_id": to_global_id("Customer", customer.id),
        "title": title,
        "due_at": due_at,
        "remind_at": remind_at,
        "assignee_id": assignee,
    }
    return followups.create_task(session, principal, data).id
