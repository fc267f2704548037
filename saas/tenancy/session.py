"""The tenant-bound ORM session: the first wall of tenant isolation.

A session opened with `tenant_session(engine, tenant_id)`:
- sets `app.tenant_id` with `set_config(..., true)` (the `SET LOCAL` form) at the start of
  every transaction, which the row-level security policies read (the second wall);
- adds `tenant_id = :tenant` to every ORM query of a tenant-owned model;
- stamps `tenant_id` on new tenant-owned rows and refuses rows of another tenant.

It also runs the work registered with `on_commit` once the transaction has committed, and
never lets that work turn the committed change into an error (`run_after_commit`).
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import Counter
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from saas.db.base import TenantOwned
from saas.db.statements import count_statement

log = logging.getLogger(__name__)

TENANT_KEY = "tenant_id"
# The setting the row-level security policies read (`saas/tenancy/rls.py`).
TENANT_SETTING = "app.tenant_id"
# The bind parameter that carries the tenant: `set_config`'s value here, and the compiled reads'
# `tenant_id = :tenant_id` predicate (`tenant_predicate`).
TENANT_PARAM = "tenant_id"
# `SET LOCAL` for the current transaction, in psycopg2's `%(name)s` form; the one text both the
# session (each transaction) and the compiled reads (`saas/db/reads.py`) send.
SET_TENANT_SQL = f"SELECT set_config('{TENANT_SETTING}', %({TENANT_PARAM})s, true)"


def tenant_predicate(alias: str) -> str:
    """`<alias>.tenant_id = :tenant_id`: the tenant filter the compiler adds for every table it reads."""
    return f"{alias}.tenant_id = :{TENANT_PARAM}"


class CrossTenantWrite(RuntimeError):
    """A row of another tenant was added to a tenant-bound session."""


def bound_tenant(session: Session) -> uuid.UUID | None:
    return session.info.get(TENANT_KEY)


def make_session(engine: Engine, tenant_id: uuid.UUID | None) -> Session:
    session = Session(engine, expire_on_commit=False, autoflush=True)
    if tenant_id is not None:
        session.info[TENANT_KEY] = tenant_id
    return session


@contextmanager
def tenant_session(engine: Engine, tenant_id: uuid.UUID | None) -> Iterator[Session]:
    """A session bound to one tenant (or to none, for the global tables only); commits on success."""
    session = make_session(engine, tenant_id)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@event.listens_for(Session, "after_begin")
def _set_tenant_for_transaction(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    tenant_id = bound_tenant(session)
    # An empty value makes every policy compare with NULL: no tenant, no rows. Sent in front of
    # the transaction's first statement, in the same message (`defer_statement`).
    _defer(connection, SET_TENANT_SQL, {TENANT_PARAM: str(tenant_id) if tenant_id else ""})


# --- Statements that ride in front of the next one ---------------------------------------------

# A connection's deferred statements (`defer_statement`), by the SQLAlchemy connection of one
# transaction: gone with it, and cleared when its transaction ends.
_DEFERRED: weakref.WeakKeyDictionary[Connection, list[tuple[str, dict[str, Any]]]] = weakref.WeakKeyDictionary()


def defer_statement(session: Session, sql: str, params: dict[str, Any]) -> None:
    """Run `sql` (whose result nobody reads: a `set_config`, an advisory lock) in front of the
    session's next statement, in the same message: one round trip instead of two.

    PostgreSQL runs the statements of one message in order, each with its own snapshot under
    READ COMMITTED, so a lock taken this way is held before the next statement looks at any row,
    as if it had been sent on its own. `sql` uses `%(name)s` parameters (psycopg2's form);
    their names must be unique to the statement. A statement the next one cannot carry (no
    parameters of its own, or an executemany) is sent on its own first.
    """
    _defer(session.connection(), sql, params)


class Rider(Protocol):
    """A value another rule needs in this transaction, read by a statement the caller sends
    anyway, as one more column of it (a scalar subquery): one round trip instead of two.

    The caller asks `column()` as it builds its statement (the SQL, with `:name` parameters unique
    to the rider, and their values; the rider may `defer_statement` a lock in front of it), runs
    the statement, and hands the column's value to `accept`. A caller that sends no statement
    never asks: the rider's rule then reads on its own, as it would have."""

    def column(self) -> tuple[str, dict[str, Any]]: ...

    def accept(self, value: Any) -> None: ...


def _defer(connection: Connection, sql: str, params: dict[str, Any]) -> None:
    _DEFERRED.setdefault(connection, []).append((sql, params))


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _send_deferred(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    deferred = _DEFERRED.pop(conn, None)
    if not deferred:
        return statement, parameters
    if executemany or not isinstance(parameters, dict) or not parameters:
        # psycopg2 reads `%` only when there are parameters: this statement's text cannot take more.
        for sql, params in deferred:
            count_statement()
            cursor.execute(sql, params)
        return statement, parameters
    merged = dict(parameters)
    texts = []
    for index, (sql, params) in enumerate(deferred):
        renamed = sql
        for name, value in params.items():
            key = f"deferred_{index}_{name}"
            renamed = renamed.replace(f"%({name})s", f"%({key})s")
            merged[key] = value
        texts.append(renamed)
    return "; ".join([*texts, statement]), merged


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _drop_deferred(conn: Connection) -> None:
    _DEFERRED.pop(conn, None)


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    tenant_id = bound_tenant(state.session)
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant_id = bound_tenant(session)
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if tenant_id is None:
            raise CrossTenantWrite(f"{type(obj).__name__} needs a tenant-bound session")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")


AFTER_COMMIT_KEY = "after_commit"
# When the session's latest transaction with work after commit committed (see `committed_at`).
COMMITTED_AT_KEY = "committed_at"
AFTER_COMMIT_FAILURES = Counter(
    "after_commit_failures",
    "Work after a commit (live publishes, job requests) that failed; the committed change stood.",
)


def on_commit(session: Session, callback: Callable[[], Any]) -> None:
    """Run `callback()` once the session's current transaction has committed (never on rollback).

    The callback runs through `run_after_commit`: its failure never reaches the caller."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def committed_at(session: Session) -> datetime:
    """For work after commit (`on_commit`): the moment the transaction committed (UTC), read as
    the commit returned, before any of that work ran; now, outside such work."""
    stamp: datetime | None = session.info.get(COMMITTED_AT_KEY)
    return stamp if stamp is not None else datetime.now(UTC)


def run_after_commit(callback: Callable[[], Any]) -> None:
    """Run work that follows a commit; a failure is logged and counted, never raised.

    The change is committed whatever happens here, so the caller must answer success: an
    error would make a client retry, and store the change twice. What such work announces
    (a live message, a dispatch request) is recovered elsewhere: the outbox sweep dispatches
    committed events, and a subscription cut by the same failure tells its client to
    subscribe again. `after_commit_failures_total` (in /metrics) counts the failures.
    """
    try:
        callback()
    except Exception:
        AFTER_COMMIT_FAILURES.inc()
        log.exception("work after commit failed; the committed change stands (%r)", callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    if not callbacks:
        return
    session.info[COMMITTED_AT_KEY] = datetime.now(UTC)
    try:
        for callback in callbacks:
            run_after_commit(callback)
    finally:
        session.info.pop(COMMITTED_AT_KEY, None)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
