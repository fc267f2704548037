"""The compiled read path: one round trip sets the tenant and runs the statement.

Several statements in one simple-query message run as one implicit transaction, so
`set_config(..., true)` (the `SET LOCAL` form) holds for the statement after it and ends
with it. The engine is in autocommit mode, so nothing else is sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from saas.db.statements import count_statement

SET_TENANT = "SELECT set_config('app.tenant_id', %(app_tenant_id)s, true); "


def fetch_json(engine: Engine, tenant_id: uuid.UUID, sql: str, params: dict[str, Any]) -> str | None:
    """Run a compiled statement (psycopg2 `%(name)s` placeholders) returning one JSON text."""
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            count_statement()
            cursor.execute(SET_TENANT + sql, {**params, "app_tenant_id": str(tenant_id)})
            row = cursor.fetchone()
        finally:
            cursor.close()
    return None if row is None else row[0]
