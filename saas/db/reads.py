"""The compiled read path: one round trip sets the tenant and runs the statement.

Several statements in one simple-query message run as one implicit transaction, so
`set_config(..., true)` (the `SET LOCAL` form) holds for the statement after it and ends
with it. The engine is in autocommit mode, so nothing else is sent.

The statement goes through SQLAlchemy's execution (`exec_driver_sql`), not a raw cursor, so
that a connection PostgreSQL dropped (a restart, a failover) is recognised as a disconnect:
SQLAlchemy invalidates it and every pooled connection as old as it, and the read runs once
more on a fresh connection. After a restart, no request sees an error for each stale pooled
connection; a read is safe to repeat.

The statement is prepared on the connection (`saas/db/prepared.py`: parsed and planned once per
connection, then `EXECUTE`d) unless the engine's `prepared` execution option is off
(`DB_PREPARED_READS`). Either way it is one message: the tenant setting and the statement.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from saas.db.prepared import fetch_prepared
from saas.tenancy.session import SET_TENANT_SQL, TENANT_PARAM


def fetch_json(engine: Engine, tenant_id: uuid.UUID, sql: str, params: dict[str, Any]) -> str | None:
    """Run a compiled statement (psycopg2 `%(name)s` placeholders) returning one JSON text.

    The tenant is bound once, as `TENANT_PARAM`: the value of `set_config` (for row-level
    security) and of the compiler's `tenant_id = :tenant_id` predicates, so the two cannot differ."""
    values = {**params, TENANT_PARAM: str(tenant_id)}
    try:
        return _fetch_one(engine, sql, values)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        return _fetch_one(engine, sql, values)  # once, on a connection opened after the drop


def _fetch_one(engine: Engine, sql: str, values: dict[str, Any]) -> str | None:
    with engine.connect() as conn:
        if conn.get_execution_options().get("prepared", False):
            row = fetch_prepared(conn, SET_TENANT_SQL, sql, values)
        else:
            row = conn.exec_driver_sql(f"{SET_TENANT_SQL}; {sql}", values).fetchone()
    return None if row is None else row[0]
