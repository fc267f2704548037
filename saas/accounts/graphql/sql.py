"""How ApiKey maps to SQL for compiled `node(id)` reads (never the secret: only its hash is stored)."""

from __future__ import annotations

from saas.schema.compiler import SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql

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
