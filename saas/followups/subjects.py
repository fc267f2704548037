"""What activities and tasks can be about: the follow-up subject types, and resolving a subject.

A subject is any Node type declared as a `FollowUpSubject` (saas/followups/sources.py) with
the SQL that says whether the caller sees a row of it and which customer the row belongs to
(whose timeline shows the follow-up). `SUBJECTS` composes the declarations: Customer and
Contact here, Opportunity from the deals domain (`saas/deals/followups.py`) and Lead from the
leads domain (`saas/leads/followups.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition, customer_visibility
from saas.deals.followups import OPPORTUNITY_SUBJECT
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.followups.sources import FollowUpSubject
from saas.leads.followups import LEAD_SUBJECT
from saas.schema.relay import from_global_id
from saas.tenancy.session import tenant_predicate


def _contact_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    customer = SqlCondition()
    customer_visibility(principal, "sc", customer)
    condition.add(
        f"EXISTS (SELECT 1 FROM customers sc WHERE sc.id = {alias}.customer_id AND sc.deleted_at IS NULL "
        f"AND {customer.sql})",
        **customer.params,
    )


CUSTOMER = FollowUpSubject("Customer", "customers", "{s}.id", customer_visibility)
CONTACT = FollowUpSubject("Contact", "contacts", "{s}.customer_id", _contact_visibility)
# Every subject type, by its GraphQL type name (each name once: tests/followups/test_activities.py).
SUBJECTS: tuple[FollowUpSubject, ...] = (CUSTOMER, CONTACT, LEAD_SUBJECT, OPPORTUNITY_SUBJECT)


def subject_named(type_name: str) -> FollowUpSubject | None:
    """The subject type of that name whose table exists, else None."""
    for subject in SUBJECTS:
        if subject.type_name == type_name and subject.available:
            return subject
    return None


@dataclass(frozen=True)
class SubjectRef:
    """A subject the caller sees: its type, id, and the customer it belongs to (if any)."""

    type_name: str
    id: uuid.UUID
    customer_id: uuid.UUID | None


def _not_found(field: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], UserErrorCode.NOT_FOUND, "No such subject")])


def resolve_subject(session: Session, principal: Principal, global_id: str, field: str = "subjectId") -> SubjectRef:
    """The subject named by `global_id` if it is of a subject type and the caller sees it.

    Anything else (a malformed id, a type that is no subject, a row that is missing, deleted, of
    another tenant or not visible, a table that does not exist yet) is NOT_FOUND on `field`.
    """
    try:
        type_name, raw_id = from_global_id(global_id)
    except Exception:
        raise _not_found(field) from None
    subject = subject_named(type_name)
    if subject is None:
        raise _not_found(field)
    condition = subject.visible_condition(principal, "s")
    condition.add(tenant_predicate("s"), tenant_id=principal.tenant_id)
    customer = subject.customer_sql.format(s="s") if subject.customer_sql else "NULL::uuid"
    row = session.execute(
        text(f"SELECT s.id, {customer} FROM {subject.table} s WHERE s.id = :subject_id AND {condition.sql}"),
        {**condition.params, "subject_id": raw_id},
    ).first()
    if row is None:
        raise _not_found(field)
    return SubjectRef(type_name, row[0], row[1])


def subject_visible_sql(principal: Principal, alias: str) -> SqlCondition:
    """Rows of a follow-up table (`{alias}.subject_type`, `{alias}.subject_id`) whose subject the caller sees."""
    parts: list[str] = []
    params: dict[str, object] = {}
    for index, subject in enumerate(s for s in SUBJECTS if s.available):
        inner = subject.visible_condition(principal, f"s{index}")
        parts.append(
            f"({alias}.subject_type = '{subject.type_name}' AND EXISTS (SELECT 1 FROM {subject.table} s{index} "
            f"WHERE s{index}.id = {alias}.subject_id AND {inner.sql}))"
        )
        params.update(inner.params)
    condition = SqlCondition()
    condition.add("(" + " OR ".join(parts) + ")", **params)
    return condition
