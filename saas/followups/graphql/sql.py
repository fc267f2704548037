"""How Activity, Task and CustomerHandover map to SQL for compiled `node(id)` reads.

Their `customer` is left to the resolvers (and the customer's own visibility rule), so a
selection that asks for it reads through the loaders.
"""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.schema.compiler import Relation, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql


def _member(column: str) -> Relation:
    return Relation(target=lambda: MEMBER, table="memberships", join=f"{{t}}.id = {{p}}.{column}")


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
