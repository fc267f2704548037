"""How Activity, Task, CustomerHandover and timeline entries map to SQL for compiled reads, and
the fields follow-ups add to Customer (`timeline`, `tasks`) as parts of a customer's statement.

Their `customer` is left to the resolvers (and the customer's own visibility rule), so a
selection that asks for it reads through the loaders.
"""

from __future__ import annotations

from typing import Any

from saas.accounts.graphql.sql import MEMBER
from saas.followups.graphql.loaders import CUSTOMER_TASKS_LIMIT
from saas.followups.rules import task_condition
from saas.followups.timeline import TIMELINE_COLUMNS, TIMELINE_KEY, timeline_parts, timeline_sql
from saas.schema.compiler import PagedRelation, Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql


def _member(column: str) -> Relation:
    """A member named by a foreign key to `memberships` (every member column here has one; the
    timeline's `actor_id` is one in each of its sources: saas/followups/sources.py)."""
    return Relation(target=lambda: MEMBER, table="memberships", join=f"{{t}}.id = {{p}}.{column}", foreign_key=True)


def _subject_id() -> str:
    return "encode(convert_to({t}.subject_type || ':' || {t}.subject_id::text, 'UTF8'), 'base64')"


ACTIVITY: SqlType = SqlType(
    name="Activity",
    table="activities",
    columns={
        "id": global_id_sql("Activity", "{t}.id"),
        "kind": "upper({t}.kind)",
        "summary": "{t}.summary",
        "occurredAt": iso_datetime_sql("{t}.occurred_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "subjectId": _subject_id(),
    },
    relations={"actor": _member("actor_id")},
)

TASK: SqlType = SqlType(
    name="Task",
    table="tasks",
    columns={
        "id": global_id_sql("Task", "{t}.id"),
        "title": "{t}.title",
        "dueAt": iso_datetime_sql("{t}.due_at"),
        "remindAt": iso_datetime_sql("{t}.remind_at"),
        "completedAt": iso_datetime_sql("{t}.completed_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "subjectId": _subject_id(),
    },
    relations={"assignee": _member("assignee_id")},
)

CUSTOMER_HANDOVER: SqlType = SqlType(
    name="CustomerHandover",
    table="customer_handovers",
    columns={
        "id": global_id_sql("CustomerHandover", "{t}.id"),
        "kind": "upper({t}.kind)",
        "note": "{t}.note",
        "occurredAt": iso_datetime_sql("{t}.occurred_at"),
    },
    relations={
        "fromMember": _member("from_member_id"),
        "toMember": _member("to_member_id"),
        "actor": _member("actor_id"),
    },
)

TIMELINE_ENTRY: SqlType = SqlType(
    name="TimelineEntry",
    table="",  # read only as `Customer.timeline`, from the union of the timeline's sources
    columns={
        "kind": "{t}.kind",
        "occurredAt": iso_datetime_sql("{t}.occurred_at"),
        "summary": "{t}.summary",
        "recordId": "encode(convert_to({t}.record_type || ':' || {t}.id::text, 'UTF8'), 'base64')",
    },
    relations={"actor": _member("actor_id")},
    interfaces=frozenset(),
)

# Newest first; ties broken as the resolver path breaks them (saas/followups/timeline.py).
TIMELINE_SORT = SortKey(("occurred_at", "id", "kind"), TIMELINE_KEY, descending=True)


def _timeline_rows(principal: Any) -> tuple[str, dict[str, Any]]:
    """The caller's timeline entries of every customer (the page joins them to one)."""
    union, params = timeline_sql(principal)
    return f"({union}) AS {{t}}({', '.join(TIMELINE_COLUMNS)})", params


def _timeline_parts(principal: Any, alias: str) -> tuple[list[str], dict[str, Any]]:
    """The same entries source by source: a page reads the first `first + 1` entries of each
    source in the timeline's order (activities, tasks created and tickets opened straight from
    their `(tenant_id, customer_id, <time>, id)` index read backwards; the others sort the
    customer's few rows of their own) and merges them (`PagedRelation.parts`)."""
    parts, params = timeline_parts(principal)
    columns = ", ".join(TIMELINE_COLUMNS)
    return [f"({part}) AS {alias}({columns})" for part in parts], params


# The fields follow-ups add to Customer (`CustomerFollowUpFields`), compiled into its statement.
CUSTOMER_FOLLOW_UP_FIELDS: dict[str, Relation | PagedRelation] = {
    "timeline": PagedRelation(
        lambda: TIMELINE_ENTRY, _timeline_rows, "{t}.customer_id = {p}.id", TIMELINE_SORT, parts=_timeline_parts
    ),
    "tasks": Relation(
        lambda: TASK,
        "tasks",
        "{t}.customer_id = {p}.id",
        order="{t}.completed_at DESC NULLS FIRST, {t}.due_at, {t}.id",
        visible=task_condition,
        limit=CUSTOMER_TASKS_LIMIT,
    ),
}
