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

import functools
import logging
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from prometheus_client import Counter
from redis.exceptions import ResponseError
from sqlalchemy import Connection, Engine, TextClause, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.orm.context import FromStatement
from sqlalchemy.sql.selectable import TextualSelect

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
    _defer(session_connection(session), sql, params)


def defer_on(connection: Connection, sql: str, params: dict[str, Any]) -> None:
    """`defer_statement` on `connection`, the session's (`session_connection`), already at hand."""
    _defer(connection, sql, params)


# Where a session keeps the connection of its current transaction (`session_connection`):
# (the session's transaction, its connection).
CONNECTION_KEY = "saas.connection"


def session_connection(session: Session) -> Connection:
    """`session.connection()`: the connection of the session's transaction (begun if none is),
    asked of SQLAlchemy once per transaction and kept in the session's `info` for the next calls
    (a write asks it several times: its moment, each deferred statement, each prepared write).

    The same connection `session.connection()` gives: a transaction of a session holds one
    connection per bind from its first statement to its end, and a session here has one bind
    (`make_session`). The kept one is given only while the session's current transaction is the
    one it was kept for and is active; after a commit or rollback, in a savepoint begun since,
    or in a transaction a failed flush deactivated, `session.connection()` answers (and raises
    as it raises). A tenant's session therefore never writes through a connection outside the
    transaction whose `app.tenant_id` setting the row-level security policies read."""
    transaction = session._transaction
    held = session.info.get(CONNECTION_KEY)
    if held is not None and held[0] is transaction and transaction is not None and transaction.is_active:
        return cast(Connection, held[1])
    connection = session.connection()
    session.info[CONNECTION_KEY] = (session._transaction, connection)
    return connection


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
    statement = state.statement
    if isinstance(statement, FromStatement) and isinstance(statement.element, (TextClause, TextualSelect)):
        # Rows loaded from a textual statement (a prepared write's `EXECUTE`): the criteria have
        # no SELECT to go into, the statement's own text carries its tenant (and row-level
        # security), and a lazy load from these objects is filtered here as any other.
        return
    state.statement = statement.options(_tenant_criteria(tenant_id))


@functools.lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: uuid.UUID) -> Any:
    """The loader criteria of `_filter_by_tenant` for one tenant, built once per tenant: the
    option is immutable and its lambda's analysis is what building it costs (the tenant is the
    lambda's closure value, a bound parameter of every statement it filters)."""
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


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


class RedisStep(Protocol):
    """Work after commit that begins with Redis commands (a live message's PUBLISH, the dispatch
    mark's SET): the commands of every such step of one commit bound for the same client go in
    one round trip (`_run_after_commit`), each step then finishing with its own replies. Called
    as a plain callback (`__call__`), a step sends its commands alone."""

    def redis_client(self) -> Any:
        """The client its commands go to; None: it runs as a plain callback."""

    def queue(self, pipeline: Any) -> int:
        """Add its commands to `pipeline`; how many. Nothing is added if it raises."""

    def finish(self, replies: list[Any]) -> None:
        """Carry on with its commands' replies (an exception in place of a failed command: raise it)."""

    def __call__(self) -> None: ...


def run_redis_step(step: RedisStep) -> None:
    """`step`'s commands alone in one round trip, then its `finish` (a step called as a callback)."""
    pipeline = step.redis_client().pipeline(transaction=False)
    step.queue(pipeline)
    step.finish(round_trip(pipeline))


def round_trip(pipeline: Any) -> list[Any]:
    """The commands queued on `pipeline` (redis-py's, not a transaction) sent in one round trip:
    their replies in order, an error reply as its `ResponseError`, as
    `pipeline.execute(raise_on_error=False)` gives them, with less of redis-py's Python around them.

    The same wire traffic: the commands packed into one write on a connection of the client's
    pool, then each reply read and put through the client's response callbacks
    (`Redis.parse_response`). A connection that fails (`ConnectionError`, `TimeoutError`: the
    errors the connection's retry policy names) is disconnected and the whole exchange retried
    under that policy, as redis-py retries a pipeline; whatever else fails disconnects it too
    (its replies may be half read), and is raised. A pipeline that is not plain
    (a transaction, `WATCH`, scripts) goes through `pipeline.execute`."""
    stack = pipeline.command_stack
    if not stack:
        return []
    if pipeline.transaction or pipeline.explicit_transaction or pipeline.watching or pipeline.scripts:
        return cast(list[Any], pipeline.execute(raise_on_error=False))
    pool = pipeline.connection_pool
    connection = pool.get_connection()
    commands = [args for args, _ in stack]

    def exchange() -> list[Any]:
        connection.send_packed_command(connection.pack_commands(commands))
        replies: list[Any] = []
        for args, options in stack:
            try:
                replies.append(pipeline.parse_response(connection, args[0], **options))
            except ResponseError as error:
                replies.append(error)
        return replies

    try:
        return cast(list[Any], connection.retry.call_with_retry(exchange, lambda _: connection.disconnect()))
    except BaseException:
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
        pipeline.command_stack = []


class _Finish:
    """A step's `finish` with its replies, run by `run_after_commit` (logged as the step)."""

    def __init__(self, step: RedisStep, replies: list[Any]) -> None:
        self.step, self.replies = step, replies

    def __call__(self) -> None:
        self.step.finish(self.replies)

    def __repr__(self) -> str:
        return repr(self.step)


def _shared_round_trips(callbacks: list[Callable[[], Any]]) -> dict[int, list[Any]]:
    """The replies of each Redis step (`RedisStep`, by `id`), its commands sent with those of the
    commit's other steps on the same client: one pipeline per client. A round trip that fails
    gives each of its steps the error as the reply of each of its commands."""
    by_client: dict[int, tuple[Any, list[Any]]] = {}
    for callback in callbacks:
        redis_client = getattr(callback, "redis_client", None)  # a `RedisStep`
        client = redis_client() if redis_client is not None else None
        if client is not None:
            by_client.setdefault(id(client), (client, []))[1].append(callback)
    replies: dict[int, list[Any]] = {}
    for client, steps in by_client.values():
        pipeline = client.pipeline(transaction=False)
        counts = []
        for step in steps:
            try:
                counts.append(step.queue(pipeline))
            except Exception as error:
                counts.append(0)
                replies[id(step)] = [error]
        try:
            results = round_trip(pipeline) if any(counts) else []
        except Exception as error:
            results = [error] * sum(counts)
        start = 0
        for step, count in zip(steps, counts, strict=True):
            if count:
                replies[id(step)] = results[start : start + count]
                start += count
    return replies


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    if not callbacks:
        return
    session.info[COMMITTED_AT_KEY] = datetime.now(UTC)
    try:
        try:
            replies = _shared_round_trips(callbacks)
        except Exception:  # none of the steps' round trips was sent: each runs on its own below
            AFTER_COMMIT_FAILURES.inc()
            log.exception("sharing the work after commit's Redis round trips failed")
            replies = {}
        for callback in callbacks:
            shared = replies.get(id(callback))
            run_after_commit(callback if shared is None else _Finish(callback, shared))
    finally:
        session.info.pop(COMMITTED_AT_KEY, None)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
