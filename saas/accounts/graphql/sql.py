"""How Member and ApiKey map to SQL for compiled reads (never a key's secret: only its hash is stored)."""

from __future__ import annotations

from saas.schema.compiler import SqlType
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
