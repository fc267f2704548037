"""What plugins may do in the core's sales domains: follow-up tasks, pool leads, timeline entries.

Each function runs in the caller's transaction (the session of a request, a job or a hook) and
goes through the core's own service, so the core's rules, events and notifications apply as if a
member had acted. A principal with neither a membership nor an API key nor a role is a tenant's
job (`JobContext` work builds one): it acts for the tenant, with the permission the action
needs, since no member is there to hold it.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from saas.auth.permissions import CUSTOMERS_READ, CUSTOMERS_WRITE, LEADS_READ, LEADS_WRITE
from saas.auth.principal import Principal
from saas.customers.models import Customer
from saas.errors import NotFoundError
from saas.followups.models import WrittenTimelineEntry
from saas.schema.relay import from_global_id, to_global_id
from saas.tenancy.session import bound_tenant

KIND = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
SUMMARY_MAX = 500


def _acting(principal: Principal, *permissions: str) -> Principal:
    """The principal itself; a tenant's job (no member, key or role) with `permissions` added."""
    is_job = principal.membership_id is None and principal.api_key_id is None and principal.role is None
    if not is_job:
        return principal
    return dataclasses.replace(principal, permissions=principal.permissions | frozenset(permissions))


def _customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, (bound_tenant(session), customer_id))
    if customer is None or customer.deleted_at is not None:
        raise NotFoundError("Customer not found", id=str(customer_id))
    return customer


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
    """A follow-up task on the customer, for `assignee_id` or else the customer's owner; its id.

    It is `saas.followups.service.create_task`'s: the title is checked (`InputInvalid`), the
    caller must see the customer, `task.created` is emitted and the assignee is notified. A job
    acts as the assignee (a task needs a member behind it). A customer without owner and no
    `assignee_id` raises `InputInvalid` on `assigneeId`, as an unknown member does.
    """
    from saas.errors import FieldError, InputInvalid, UserErrorCode
    from saas.followups.service import create_task

    customer = _customer(session, customer_id)
    assignee = assignee_id or customer.owner_id
    if assignee is None:
        raise InputInvalid([FieldError(["input", "assigneeId"], UserErrorCode.REQUIRED, "The customer has no owner")])
    actor = _acting(principal, CUSTOMERS_READ, CUSTOMERS_WRITE)
    if actor.membership_id is None and actor.api_key_id is None:
        actor = dataclasses.replace(actor, membership_id=assignee)
    data = {
        "title": title,
        "due_at": due_at,
        "remind_at": remind_at,
        "subject_id": to_global_id("Customer", customer_id),
        "assignee_id": assignee,
    }
    return create_task(session, actor, data).id


def create_pool_lead(
    session: Session,
    principal: Principal,
    *,
    name: str,
    company: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    note: str | None = None,
) -> uuid.UUID:
    """A lead without owner in the lead pool (duplicates allowed); its id.

    It is `saas.leads.service.create_lead`'s: the fields are checked (`InputInvalid`) and
    `lead.created` is emitted. `note` is logged as the lead's first activity (a NOTE), so
    whoever claims the lead reads why it was made.
    """
    from saas.followups.service import log_activity
    from saas.leads.service import create_lead

    actor = _acting(principal, LEADS_READ, LEADS_WRITE, CUSTOMERS_WRITE)
    data = {"name": name, "company": company, "email": email, "phone": phone, "allow_duplicate": True}
    lead = create_lead(session, actor, {key: value for key, value in data.items() if value is not None})
    if note:
        log_activity(session, actor, {"subject_id": to_global_id("Lead", lead.id), "kind": "note", "summary": note})
    return lead.id


def add_timeline_entry(
    session: Session,
    principal: Principal,
    *,
    customer_id: uuid.UUID,
    kind: str,
    summary: str,
    subject_id: str | None = None,
    occurred_at: datetime | None = None,
) -> None:
    """A line on the customer's timeline (`Customer.timeline`), in the caller's transaction.

    `kind` is an upper-case word (`INS_CLAIM_PAID`: prefix it with your plugin's), `summary` one
    line of at most 500 characters, `subject_id` the global id of the record it is about (shown
    as the entry's `recordId`; None: the customer), `occurred_at` when it happened (default now).
    The actor is the caller's membership (None for jobs and API keys). Whoever sees the customer
    sees the entry. The customer must be of the session's tenant and not deleted (`NotFoundError`);
    a malformed kind, summary or subject is a programming error (`ValueError`). The tenant-bound
    session stamps the tenant, and the composite foreign key keeps the entry in it.
    """
    if not KIND.match(kind):
        raise ValueError(f"timeline kind must be an upper-case word of at most 40 characters: {kind!r}")
    summary = summary.strip()
    if not summary or len(summary) > SUMMARY_MAX:
        raise ValueError(f"timeline summary must have 1 to {SUMMARY_MAX} characters")
    if subject_id is not None:
        try:
            from_global_id(subject_id)
        except NotFoundError:
            raise ValueError(f"not a global id: {subject_id!r}") from None
    when = occurred_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    _customer(session, customer_id)
    session.add(
        WrittenTimelineEntry(
            id=uuid.uuid4(),
            customer_id=customer_id,
            occurred_at=when,
            kind=kind,
            summary=summary,
            subject_id=subject_id,
            actor_id=principal.membership_id,
        )
    )
    session.flush()
