"""What activities and tasks can be about: a registry of follow-up subject types.

A subject is any Node type registered here with the SQL that says whether the caller sees a
row of it and which customer the row belongs to (whose timeline shows the follow-up). The
core registers Customer and Contact; the leads and deals domains register Lead and
Opportunity the same way (`register_subject`). Until they do, Lead and Opportunity are
resolved by their tables (`leads`, `opportunities`) once their models exist, under the ownership rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition, customer_visibility, owner_visibility
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.schema.relay import from_global_id

# Adds the caller's visibility of the subject table's rows under `alias` to the condition.
Visibility = Callable[[Principal, str, SqlCondition], None]


@dataclass(frozen=True)
class FollowUpSubject:
    """A Node type follow-ups may be about.

    `table` holds its rows (with `tenant_id`, `id` and, if soft-deleted, `deleted_at`);
    `customer_sql` is the customer id of a row under the alias `{s}` (None when it has none);
    `visibility` adds who sees a row.
    """

    type_name: str
    table: str
    customer_sql: str | None
    visibility: Visibility
    soft_deleted: bool = True

    @property
    def available(self) -> bool:
        """Its table is among the models (a domain not merged yet has none)."""
        from saas.db.models import Base

        return self.table in Base.metadata.tables

    def visible_condition(self, principal: Principal, alias: str) -> SqlCondition:
        condition = SqlCondition()
        condition.add(f"{alias}.tenant_id = :tenant_id", tenant_id=principal.tenant_id)
        if self.soft_deleted:
            condition.add(f"{alias}.deleted_at IS NULL")
        self.visibility(principal, alias, condition)
        return condition


SUBJECTS: dict[str, FollowUpSubject] = {}


def register_subject(subject: FollowUpSubject) -> FollowUpSubject:
    """Make `subject.type_name` a follow-up subject (a later registration of a name replaces it)."""
    SUBJECTS[subject.type_name] = subject
    return subject


def _contact_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    customer = SqlCondition()
    customer_visibility(principal, "sc", customer)
    condition.add(
        f"EXISTS (SELECT 1 FROM customers sc WHERE sc.id = {alias}.customer_id AND sc.deleted_at IS NULL "
        f"AND {customer.sql})",
        **customer.params,
    )


def _owned(pool: bool) -> Visibility:
    def visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
        owner_visibility(principal, alias, condition, pool=pool)

    return visibility


register_subject(FollowUpSubject("Customer", "customers", "{s}.id", customer_visibility))
register_subject(FollowUpSubject("Contact", "contacts", "{s}.customer_id", _contact_visibility))
# Until the leads and deals domains register their own (same names, replacing these).
register_subject(FollowUpSubject("Lead", "leads", None, _owned(pool=True), soft_deleted=False))
register_subject(
    FollowUpSubject("Opportunity", "opportunities", "{s}.customer_id", _owned(pool=False), soft_deleted=False)
)


@dataclass(frozen=True)
class SubjectRef:
    """A subject the caller sees: its type, id, and the customer it belongs to (if any)."""

    type_name: str
    id: uuid.UUID
    customer_id: uuid.UUID | None


def _not_found(field: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], UserErrorCode.NOT_FOUND, "No such subject")])


def resolve_subject(session: Session, principal: Principal, global_id: str, field: str = "subjectId") -> SubjectRef:
    """The subject named by `global_id` if its type is registered and the caller sees it.

    Anything else (a malformed id, an unregistered type, a row that is missing, deleted, of
    another tenant or not visible, a table that does not exist yet) is NOT_FOUND on `field`.
    """
    try:
        type_name, raw_id = from_global_id(global_id)
    except Exception:
        raise _not_found(field) from None
    subject = SUBJECTS.get(type_name)
    if subject is None:
        raise _not_found(field)
    if not subject.available:
        raise _not_found(field)
    condition = subject.visible_condition(principal, "s")
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
    for index, subject in enumerate(s for s in SUBJECTS.values() if s.available):
        inner = subject.visible_condition(principal, f"s{index}")
        parts.append(
            f"({alias}.subject_type = '{subject.type_name}' AND EXISTS (SELECT 1 FROM {subject.table} s{index} "
            f"WHERE s{index}.id = {alias}.subject_id AND {inner.sql}))"
        )
        params.update(inner.params)
    condition = SqlCondition()
    condition.add("(" + " OR ".join(parts) + ")", **params)
    return condition
