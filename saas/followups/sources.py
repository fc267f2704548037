"""What another domain declares to take part in follow-ups: a subject type, a timeline source.

A domain whose records activities and tasks may be about declares a `FollowUpSubject`; one whose
changes belong on a customer's timeline declares a `TimelineSource`. Each is a frozen value; the
follow-ups compose the declarations they use in one place each (`SUBJECTS` in
`saas/followups/subjects.py`, `TIMELINE_SOURCES` in `saas/followups/timeline.py`), as the schema
builder composes the domains' contributions. This module imports no other follow-ups module, so
a domain can import it without importing follow-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition

# Adds the caller's visibility of the subject table's rows under `alias` to the condition.
Visibility = Callable[[Principal, str, SqlCondition], None]


@dataclass(frozen=True)
class FollowUpSubject:
    """A Node type follow-ups may be about.

    `table` holds its rows (with `tenant_id`, `id` and, if soft-deleted, `deleted_at`);
    `customer_sql` is the customer id of a row under the alias `{s}` (None when it has none);
    `visibility` adds who sees a row (the tenant is not its business: see `visible_condition`).
    """

    type_name: str
    table: str
    customer_sql: str | None
    visibility: Visibility
    soft_deleted: bool = True

    @property
    def available(self) -> bool:
        """Its table is among the models (a domain not merged yet has none)."""
        from saas.models import Base

        return self.table in Base.metadata.tables

    def visible_condition(self, principal: Principal, alias: str) -> SqlCondition:
        """The rows of the table under `alias` the caller sees (not deleted, visible); row-level
        security, or the statement that uses it, keeps to the caller's tenant."""
        condition = SqlCondition()
        if self.soft_deleted:
            condition.add(f"{alias}.deleted_at IS NULL")
        self.visibility(principal, alias, condition)
        return condition


@dataclass(frozen=True)
class TimelineSource:
    """Entries of a customer's timeline.

    `sql(principal)` is a SELECT of the timeline's columns `(customer_id, occurred_at, id, kind,
    summary, actor_id, record_type)` with the caller's visibility built in, and its parameters
    (parameters of one name must mean one value in every source). It filters its table by the
    tenant with `<alias>.tenant_id = :tenant_id` (bound by the timeline) so that each branch of
    the union reads its `(tenant_id, customer_id, …)` index. Its `actor_id` is NULL or a column
    with a foreign key `(tenant_id, …)` to `memberships`: the compiled timeline writes an entry's
    `actor { id }` from it without a lookup (`Relation.foreign_key`).
    """

    name: str
    sql: Callable[[Principal], tuple[str, dict[str, Any]]]
