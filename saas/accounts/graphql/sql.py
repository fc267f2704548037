"""How Member, ApiKey and AuditEntry map to SQL for compiled reads (never a key's secret: only its hash is stored)."""

from __future__ import annotations

from saas.schema.compiler import SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql

MEMBER: SqlType = SqlType(
    name="Member",
    table="memberships",
    columns={
        "id": global_id_sql("Member", "{t}.id"),
        "email": "(SELECT u.email FROM users u WHERE u.id = {t}.user_id)",
        "name": "(SELECT u.name FROM users u WHERE u.id = {t}.user_id)",
        "role": "upper({t}.role)",
        "active": "{t}.is_active",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

API_KEY = SqlType(
    name="ApiKey",
    table="api_keys",
    columns={
        "id": global_id_sql("ApiKey", "{t}.id"),
        "name": "{t}.name",
        "scopes": "to_json({t}.scopes)",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "lastUsedAt": iso_datetime_sql("{t}.last_used_at"),
        "revokedAt": iso_datetime_sql("{t}.revoked_at"),
    },
)

AUDIT_ENTRY = SqlType(
    name="AuditEntry",
    table="audit_log",
    columns={
        "id": global_id_sql("AuditEntry", "{t}.id"),
        "kind": "upper({t}.kind)",
        "action": "{t}.action",
        "entityType": "{t}.entity_type",
        # `to_global_id(entity_type, entity_id)`: the type is the row's, and the id may be long
        # enough for PostgreSQL's base64 to wrap its lines, which Python's does not.
        "entityId": "translate(encode(convert_to({t}.entity_type || ':' || {t}.entity_id, 'UTF8'), 'base64'), E'\\n', '')",
        "actor": "{t}.actor_label",
        "before": compact_json("{t}.before"),
        "after": compact_json("{t}.after"),
        "requestId": "{t}.request_id",
        "clientAddress": "{t}.client_address",
        "userAgent": "{t}.user_agent",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

# Newest first, by id (`auditLog`'s cursor has always been the entry's id).
AUDIT_SORT = SortKey(("id",), ("bigint",), descending=True)
