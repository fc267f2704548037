"""How AutomationRule maps to SQL for the compiled reads (its `runs` go through a loader)."""

from __future__ import annotations

from saas.schema.compiler import SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

AUTOMATION_RULE: SqlType = SqlType(
    name="AutomationRule",
    table="automation_rules",
    columns={
        "id": global_id_sql("AutomationRule", "{t}.id"),
        "name": "{t}.name",
        "enabled": "{t}.enabled",
        "trigger": "{t}.trigger",
        "conditions": compact_json("{t}.conditions"),
        "actions": compact_json("{t}.actions"),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

# The order rules are listed (and tried) in: oldest first.
RULE_ORDER = "r.created_at, r.id"
