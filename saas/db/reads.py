"""The compiled read path: one round trip sets the tenant and runs the statement.

Several statements in one simple-query message run as one implicit transaction, so
`set_config(..., true)` (the `SET LOCAL` form) holds for the statement after it and ends
with it. The connections are asynchronous psycopg2 connections, always in autocommit, so
nothing else is sent; the event loop waits for the answer while it serves other requests
(`saas/db/async_reads.py`: no worker thread).

A connection PostgreSQL dropped (a restart, a failover) is recognised as broken: it is
discarded with every idle connection opened before it, and the read runs once more on a fresh
connection. After a restart, no request sees an error for each stale pooled connection; a read
is safe to repeat.

The statement is prepared on the connection (`saas/db/prepared.py`: parsed and planned once per
connection, then `EXECUTE`d) unless the pool's `prepared` is off (`DB_PREPARED_READS`). Either
way it is one message: the tenant setting and the statement.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg2

from saas.db.async_reads import AsyncReadPool
from saas.db.prepared import fetch_prepared
from saas.tenancy.session import SET_TENANT_SQL, TENANT_PARAM


async def fetch_json(pool: AsyncReadPool, tenant_id: uuid.UUID | str, sql: str, params: dict[str, Any]) -> str | None:
    """Run a compiled statement (psycopg2 `%(name)s` placeholders) returning one JSON text.

    The tenant is bound once, as `TENANT_PARAM`: the value of `set_config` (for row-level
    security) and of the compiler's `tenant_id = :tenant_id` predicates, so the two cannot differ.
    `tenant_id` is the tenant's UUID or its text as `str` gives it (`Principal.tenant_text`, kept
    with the principal so that a request does not format it again)."""
    values = {**params, TENANT_PARAM: tenant_id if type(tenant_id) is str else str(tenant_id)}
    try:
        return await _fetch_one(pool, sql, values)
    except _Dropped:
        return await _fetch_one(pool, sql, values)  # once, on a connection opened after the drop


class _Dropped(Exception):
    """The connection was found broken: PostgreSQL ended it."""


async def _fetch_one(pool: AsyncReadPool, sql: str, values: dict[str, Any]) -> str | None:
    conn = await pool.acquire()
    discard = False
    try:
        if pool.prepared:
            row = await fetch_prepared(conn, SET_TENANT_SQL, sql, values)
        else:
            row = await conn.fetch_one(f"{SET_TENANT_SQL}; {sql}", values)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
        if conn.broken:
            discard = True
            pool.discard_idle_older_than(conn.born)
            raise _Dropped from error
        raise
    except asyncio.CancelledError:
        discard = True  # the statement may still run: the connection's state is unknown
        raise
    finally:
        pool.release(conn, discard=discard)
    return None if row is None else row[0]
