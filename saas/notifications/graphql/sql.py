"""How Notification maps to SQL for the compiled read (`notifications`)."""

from __future__ import annotations

from saas.schema.compiler import SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

NOTIFICATION: SqlType = SqlType(
    name="Notification",
    table="notifications",
    columns={
        "id": global_id_sql("Notification", "{t}.id"),
        "kind": "{t}.kind",
        "title": "{t}.title",
        "body": "{t}.body",
        "data": compact_json("{t}.data"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "readAt": iso_datetime_sql("{t}.read_at"),
    },
)

# Newest first (`service.notification_page`).
NOTIFICATION_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
