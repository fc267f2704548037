"""How WebhookDelivery and its attempts map to SQL for the compiled read (`webhookDeliveries`)."""

from __future__ import annotations

from saas.schema.compiler import Relation, SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

WEBHOOK_ATTEMPT: SqlType = SqlType(
    name="WebhookAttempt",
    table="webhook_attempts",
    columns={
        "attempt": "{t}.attempt",
        "statusCode": "{t}.status_code",
        "error": "{t}.error",
        "durationMs": "{t}.duration_ms",
        "at": iso_datetime_sql("{t}.created_at"),
    },
)

WEBHOOK_DELIVERY: SqlType = SqlType(
    name="WebhookDelivery",
    table="webhook_deliveries",
    columns={
        "id": global_id_sql("WebhookDelivery", "{t}.id"),
        "webhookId": global_id_sql("Webhook", "{t}.webhook_id"),
        "eventId": "{t}.event_id::text",
        "eventType": "{t}.event_type",
        "payload": compact_json("{t}.payload"),
        "status": "upper({t}.status)",
        "attemptCount": "{t}.attempts",
        "lastStatusCode": "{t}.last_status_code",
        "lastError": "{t}.last_error",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "deliveredAt": iso_datetime_sql("{t}.delivered_at"),
    },
    relations={
        # Every attempt, first to last (`service.attempts_of`).
        "attempts": Relation(
            lambda: WEBHOOK_ATTEMPT, "webhook_attempts", "{t}.delivery_id = {p}.id", order="{t}.attempt"
        ),
    },
)

# The newest events first (`service.delivery_page`).
DELIVERY_SORT = SortKey(("occurred_at", "event_id", "id"), ("timestamptz", "uuid", "uuid"), descending=True)
