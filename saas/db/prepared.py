"""Server-side prepared statements for the compiled reads: parsed and planned once per connection.

A compiled statement (`saas.schema.compiler.compile_read`, psycopg2 `%(name)s` placeholders) is the
same text for every request of its compiled-cache entry; only the values differ. Sent as text, it is
parsed, analysed and planned by PostgreSQL on every request. Prepared, it is parsed once per
connection, and PostgreSQL keeps a plan (after five custom plans, the generic one when it is not
dearer): the request sends `EXECUTE name(values)`.

- **Name**: `saas_` and a digest of the statement text with its placeholders numbered (`$1`…)
  and the declared parameter types, so one compiled-cache entry is one prepared statement on
  each connection that ran it.
- **Types**: a parameter whose Python value has one obvious SQL type (bool, UUID, datetime, date,
  Decimal) is declared with it; the others (str, int, None, lists) are `unknown`, so PostgreSQL
  infers them from where they are used, as it does for the literals of the unprepared text.
- **One round trip**: the first request of an entry on a connection sends
  `set_config(…); PREPARE …; EXECUTE …` in one message, later ones `set_config(…); EXECUTE …`.
- **Connections**: the names a connection has prepared live on it (`AsyncLink.prepared`,
  `saas/db/async_reads.py`), so a connection the pool replaces (a restart, a failover, the
  recycling of old connections) starts with none. A statement missing on the server (`DISCARD ALL`,
  a proxy that swapped the backend: SQLSTATE 26000) is prepared again; one whose result type
  changed after DDL (0A000) is deallocated and prepared again. PostgreSQL itself replans a prepared
  statement after DDL on a table it reads (migrations), so no plan outlives the schema.
- **Row-level security and the tenant**: the tenant is the `app.tenant_id` setting and a bound
  parameter, the policies read the setting with `current_setting` at execution, so a generic plan
  is correct for every tenant (tests/tenancy/test_prepared_reads.py, as the application role).
- **When PREPARE cannot**: a statement whose parameter types PostgreSQL cannot infer (an
  `unknown` parameter only used where any type fits) fails to prepare with an SQLSTATE of class
  42; the statement is then sent as text from then on (`UNPREPARABLE`), as before.
- **Bound**: at most `MAX_PER_CONNECTION` statements per connection; beyond, the message starts
  with `DEALLOCATE ALL`.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import re
import threading
import uuid
from typing import Any

import psycopg2

from saas.db.async_reads import AsyncLink

MAX_PER_CONNECTION = 512
# Compiled-cache entries whose statement PostgreSQL cannot prepare, by (text, types).
UNPREPARABLE: set[tuple[str, tuple[str, ...]]] = set()
_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")

UNDEFINED_PREPARED_STATEMENT = "26000"
FEATURE_NOT_SUPPORTED = "0A000"  # "cached plan must not change result type"
DUPLICATE_PREPARED_STATEMENT = "42P05"


def sql_type(value: Any) -> str:
    """The type a parameter is declared with (`unknown`: inferred from its use)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, datetime.datetime):
        return "timestamptz" if value.tzinfo is not None else "timestamp"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, decimal.Decimal):
        return "numeric"
    return "unknown"


class Statement:
    """A compiled statement in its prepared form: `$n` placeholders and the parameters' order."""

    __slots__ = ("body", "execute_args", "names")

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%%"  # the whole message goes through psycopg2's formatting
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.body = _PLACEHOLDER.sub(number, sql)
        self.names = tuple(names)
        self.execute_args = ", ".join(f"%({name})s" for name in names)


_STATEMENTS: dict[str, Statement] = {}
_NAMES: dict[tuple[str, tuple[str, ...]], str] = {}
_lock = threading.Lock()


def statement_of(sql: str) -> Statement:
    found = _STATEMENTS.get(sql)
    if found is None:
        found = Statement(sql)
        with _lock:
            if len(_STATEMENTS) >= 4096:
                _STATEMENTS.clear()
                _NAMES.clear()
            _STATEMENTS[sql] = found
    return found


def name_of(sql: str, types: tuple[str, ...]) -> str:
    found = _NAMES.get((sql, types))
    if found is None:
        digest = hashlib.sha1(f"{sql}\x00{','.join(types)}".encode(), usedforsecurity=False).hexdigest()
        found = f"saas_{digest[:24]}"
        _NAMES[(sql, types)] = found
    return found


async def fetch_prepared(conn: AsyncLink, prefix: str, sql: str, values: dict[str, Any]) -> Any:
    """Run `prefix; sql` (both with psycopg2 placeholders) with `sql` prepared on `conn`; the first row."""
    statement = statement_of(sql)
    types = tuple(sql_type(values.get(name)) for name in statement.names)
    if (sql, types) in UNPREPARABLE:
        return await conn.fetch_one(f"{prefix}; {sql}", values)
    name = name_of(sql, types)
    names = conn.prepared
    execute = f"EXECUTE {name}({statement.execute_args})" if statement.names else f"EXECUTE {name}"
    prepare = (
        f"PREPARE {name}({', '.join(types)}) AS {statement.body}" if types else f"PREPARE {name} AS {statement.body}"
    )
    if name in names:
        try:
            return await conn.fetch_one(f"{prefix}; {execute}", values)
        except psycopg2.Error as error:
            code = _sqlstate(conn, error)
            if code == UNDEFINED_PREPARED_STATEMENT:
                names.discard(name)
            elif code == FEATURE_NOT_SUPPORTED:
                names.discard(name)
                prepare = f"DEALLOCATE {name}; {prepare}"
            elif code is not None and code.startswith("42"):
                return await _unpreparable(conn, prefix, sql, types, values)
            else:
                raise
    if len(names) >= MAX_PER_CONNECTION:
        names.clear()
        prepare = f"DEALLOCATE ALL; {prepare}"
    try:
        row = await conn.fetch_one(f"{prefix}; {prepare}; {execute}", values)
    except psycopg2.Error as error:
        code = _sqlstate(conn, error)
        if code == DUPLICATE_PREPARED_STATEMENT:  # prepared by a message that failed after it
            names.add(name)
            return await conn.fetch_one(f"{prefix}; {execute}", values)
        if code is not None and code.startswith("42"):
            return await _unpreparable(conn, prefix, sql, types, values)
        if code is not None:  # PREPARE is not transactional: it stays though its message failed
            names.add(name)
        raise
    names.add(name)
    return row


async def _unpreparable(conn: AsyncLink, prefix: str, sql: str, types: tuple[str, ...], values: dict[str, Any]) -> Any:
    UNPREPARABLE.add((sql, types))
    return await conn.fetch_one(f"{prefix}; {sql}", values)


def _sqlstate(conn: AsyncLink, error: psycopg2.Error) -> str | None:
    if conn.broken:
        return None
    return getattr(error, "pgcode", None)
