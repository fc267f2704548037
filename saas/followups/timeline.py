"""A customer's timeline: one keyset-paged statement over a list of sources.

Each source is a SELECT that yields, for every entry it contributes, the columns
`(customer_id, occurred_at, id, kind, summary, actor_id, record_type)`: the customer the entry
belongs to, when it happened, the id and type of the record it stands for, its kind
(`ACTIVITY`, `TASK_CREATED`, …), a line of text and who acted. The timeline is their
`UNION ALL`, filtered by customer and visibility and cut at the cursor, newest first; PostgreSQL
pushes the customer filter into every branch, so each reads its own `(tenant_id, customer_id, …)`
index. A domain adds its entries by declaring a `TimelineSource` (saas/followups/sources.py)
that `TIMELINE_SOURCES` names (the deals domain adds stage changes, saas/deals/followups.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.db.paging import Page
from saas.deals.followups import STAGE_CHANGES
from saas.followups.rules import activity_condition, handover_condition, task_condition
from saas.followups.sources import TimelineSource
from saas.tenancy.session import tenant_predicate
from saas.tickets.followups import TICKETS_COMMENTED, TICKETS_OPENED, TICKETS_RESOLVED

# The cursor of an entry: (occurred_at, id, kind); a task gives two entries with one id.
TIMELINE_KEY = ("timestamptz", "uuid", "varchar")
# The columns of every source, in order.
TIMELINE_COLUMNS = ("customer_id", "occurred_at", "id", "kind", "summary", "actor_id", "record_type")


def _activities(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = activity_condition(principal, "a")
    sql = (
        "SELECT a.customer_id, a.occurred_at, a.id, 'ACTIVITY'::varchar AS kind, "
        "upper(a.kind) || ': ' || a.summary AS summary, a.actor_id, 'Activity'::varchar AS record_type "
        f"FROM activities a WHERE {tenant_predicate('a')} AND a.customer_id IS NOT NULL AND {condition.sql}"
    )
    return sql, condition.params


def _tasks_created(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = task_condition(principal, "tc")
    sql = (
        "SELECT tc.customer_id, tc.created_at, tc.id, 'TASK_CREATED'::varchar, tc.title::text, tc.created_by_id, "
        f"'Task'::varchar FROM tasks tc WHERE {tenant_predicate('tc')} AND tc.customer_id IS NOT NULL AND {condition.sql}"
    )
    return sql, condition.params


def _tasks_completed(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = task_condition(principal, "td")
    sql = (
        "SELECT td.customer_id, td.completed_at, td.id, 'TASK_COMPLETED'::varchar, td.title::text, "
        "td.completed_by_id, 'Task'::varchar FROM tasks td "
        f"WHERE {tenant_predicate('td')} AND td.customer_id IS NOT NULL AND td.completed_at IS NOT NULL AND {condition.sql}"
    )
    return sql, condition.params


def _handovers(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = handover_condition(principal, "h")
    sql = (
        "SELECT h.customer_id, h.occurred_at, h.id, upper(h.kind)::varchar, h.note, h.actor_id, "
        f"'CustomerHandover'::varchar FROM customer_handovers h WHERE {tenant_predicate('h')} AND {condition.sql}"
    )
    return sql, condition.params


def _written_entries(principal: Principal) -> tuple[str, dict[str, Any]]:
    """Entries other domains and plugins wrote (`timeline_entries`, `saas.plugin_api.add_timeline_entry`).

    Whoever sees the customer sees them (scoped tokens do not). The record is the entry's subject,
    decoded from its global id here so that the timeline writes it back unchanged; an entry about
    no record stands for the customer itself.
    """
    condition = SqlCondition()
    if principal.scope:
        condition.add("FALSE")
    subject = "convert_from(decode(we.subject_id, 'base64'), 'UTF8')"
    sql = (
        f"SELECT we.customer_id, we.occurred_at, COALESCE(split_part({subject}, ':', 2)::uuid, we.customer_id), "
        "we.kind::varchar, we.summary::text, we.actor_id, "
        f"COALESCE(split_part({subject}, ':', 1), 'Customer')::varchar "
        f"FROM timeline_entries we WHERE {tenant_predicate('we')} AND {condition.sql}"
    )
    return sql, condition.params


# The sources of the timeline, in the union's order (each name once: tests/followups/test_timeline.py).
TIMELINE_SOURCES: tuple[TimelineSource, ...] = (
    TimelineSource("activities", _activities),
    TimelineSource("tasks_created", _tasks_created),
    TimelineSource("tasks_completed", _tasks_completed),
    TimelineSource("handovers", _handovers),
    STAGE_CHANGES,  # saas/deals/followups.py
    TICKETS_OPENED,  # saas/tickets/followups.py
    TICKETS_COMMENTED,
    TICKETS_RESOLVED,
    TimelineSource("timeline_entries", _written_entries),
)


@dataclass(frozen=True)
class TimelineRow:
    customer_id: uuid.UUID
    occurred_at: datetime
    id: uuid.UUID
    kind: str
    summary: str | None
    actor_id: uuid.UUID | None
    record_type: str

    @property
    def key(self) -> list[Any]:
        return [self.occurred_at, self.id, self.kind]


def timeline_parts(principal: Principal) -> tuple[list[str], dict[str, Any]]:
    """The SELECT of each source, in `TIMELINE_SOURCES`' order, and the parameters of all (their
    parameters share names and values), for the caller's tenant."""
    parts: list[str] = []
    params: dict[str, Any] = {"tenant_id": principal.tenant_id}
    for source in TIMELINE_SOURCES:
        sql, source_params = source.sql(principal)
        parts.append(sql)
        params.update(source_params)
    return parts, params


def timeline_sql(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The union of every source, for the caller's tenant."""
    parts, params = timeline_parts(principal)
    return " UNION ALL ".join(parts), params


def timeline_pages(
    session: Session,
    principal: Principal,
    customer_ids: Sequence[uuid.UUID],
    limit: int,
    after: Sequence[Any] | None,
) -> dict[uuid.UUID, Page[TimelineRow]]:
    """A page of the timeline of each customer, newest first: one statement for all of them.

    The caller has checked that it sees the customers. Each customer's page holds `limit`
    entries and says whether more follow (`row_number` per customer, one row past the page).
    """
    union, params = timeline_sql(principal)
    condition = SqlCondition()
    condition.add("e.customer_id = ANY(:timeline_customers)", timeline_customers=list(customer_ids))
    if after is not None:
        condition.add(
            "(e.occurred_at, e.id, e.kind) < (:after_at, :after_id, :after_kind)",
            after_at=after[0],
            after_id=after[1],
            after_kind=after[2],
        )
    sql = (
        "SELECT * FROM (SELECT e.*, row_number() OVER (PARTITION BY e.customer_id "
        "ORDER BY e.occurred_at DESC, e.id DESC, e.kind DESC) AS n "
        f"FROM ({union}) AS e({', '.join(TIMELINE_COLUMNS)}) "
        f"WHERE {condition.sql}) ranked WHERE n <= :timeline_limit ORDER BY customer_id, n"
    )
    statement = text(sql).bindparams(bindparam("timeline_customers", type_=ARRAY(UUID(as_uuid=True))))
    rows = session.execute(statement, {**params, **condition.params, "timeline_limit": limit + 1})
    fetched: dict[uuid.UUID, list[TimelineRow]] = {customer_id: [] for customer_id in customer_ids}
    for row in rows:
        fetched[row.customer_id].append(TimelineRow(*row[:7]))
    return {customer_id: Page.of(entries, limit) for customer_id, entries in fetched.items()}
