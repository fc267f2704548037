"""Server-side prepared statements for the write path: parsed and planned once per connection.

A write's statements (a duplicate lookup, a new row's INSERT, the INSERT of an event with its
records) are built once per shape with bound parameters only, so each is the same text on every
write of that shape. Sent as text, PostgreSQL parses, analyses and plans it on every write, which
costs more than running it (a `createCustomer`'s lookup: about 0.25 ms to plan, 0.05 ms to run).
`PreparedWrite` sends it as `EXECUTE name(values)` on the session's connection instead.

- **Name and types**: as for the compiled reads (`saas.db.prepared.name_of`, `sql_type`): a
  digest of the statement's text (`$n` placeholders) and its parameters' declared types.
- **No extra round trip**: the first use on a connection puts `PREPARE name AS …` in front of
  the `EXECUTE`, in the same message (`defer_statement`, behind the tenant setting and the locks
  deferred before it); later uses send the `EXECUTE` alone.
- **Tenant walls unchanged**: the statement is the one the caller built (its `tenant_id` in its
  WHERE or VALUES), run on the session's connection in the session's transaction, after the
  `app.tenant_id` setting of that transaction; row-level security reads the setting at
  execution, so one plan serves every tenant (as for the prepared reads).
- **Values and results**: the `EXECUTE`'s parameters keep the original bind parameters' types
  (their bind processing: JSON serialised, …) and its result the statement's columns and their
  types, so the caller sees the rows, or the ORM objects (`load`), it saw before.
- **Off** (`DB_PREPARED_WRITES=false`, an engine whose execution option `PREPARED_WRITES_OPTION`
  is false: behind a connection pooler in transaction mode, which does not keep a session's
  statements): the statement is sent as text, as before. An engine that does not say is on.
- **Generic plans** (`GENERIC_PLANS_SQL`: `SET LOCAL plan_cache_mode = force_generic_plan`, in
  front of the first `EXECUTE` of each transaction, in its message): every `EXECUTE` runs the
  statement's generic plan, made once per connection. Under PostgreSQL's default (`auto`) a
  prepared statement is planned for its values on its first 5 executions on a connection (the
  duplicate lookup: 0.3 to 0.5 ms of planning for 0.04 to 0.14 ms of running) and only then compared
  with the generic plan. No value makes these plans better: each statement finds its rows by
  `tenant_id` and a key (an id, a name or company key, a version) through an index that leads with
  both (a primary key, `ix_customers_tenant_name_key`, `ix_leads_tenant_company_key`, ...), reads
  a few rows of one tenant (its webhooks, custom field definitions) or inserts rows, with constant
  `LIMIT`s; so the generic plan is the plan of any value, node for node (docs/performance.md, "The
  write statements on generic plans", bench-big and a small tenant). A tenant's statistics can
  only mislead a custom plan: a small tenant's move was planned as a scan of all its opportunities
  for the one id (the statistics had counted none), where the generic plan looks the primary key
  up. `SET LOCAL` ends with the transaction (or with the savepoint it was sent in, when that rolls
  back: the next prepared write sends it again), so nothing else that runs on the pooled
  connection later is planned differently. Within the transaction the setting reaches prepared
  statements and PL/pgSQL only: a write's transaction prepares no other statement and calls no
  PL/pgSQL function.
- **Which names a connection holds**: kept in the connection's `info` (SQLAlchemy's dictionary of
  the DBAPI connection: gone with it, so a replaced connection starts with none). `PREPARE` is not
  transactional: a rolled-back transaction keeps what it prepared. A message that fails leaves it
  unknown which of its statements ran, so the connection's next `PREPARE` is preceded by
  `DEALLOCATE ALL` and every statement is prepared again. At most `MAX_PER_CONNECTION` per
  connection; beyond, the same reset.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, bindparam, column, select, text
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from saas.db.prepared import name_of, sql_type, statement_of
from saas.tenancy.session import defer_statement

MAX_PER_CONNECTION = 256
# The engine execution option that turns prepared writes off (`create_app_engine`, `DB_PREPARED_WRITES`).
PREPARED_WRITES_OPTION = "saas_prepared_writes"
# Keys of a connection's `info`: the names prepared on it; whether they must be dropped first.
PREPARED_KEY = "saas.prepared_writes"
RESET_KEY = "saas.prepared_writes.reset"
# Sent once per transaction in front of its first prepared write (see the module docstring), and the
# key of a connection's `info` that names (weakly) the transaction or savepoint it was sent in.
GENERIC_PLANS_SQL = "SET LOCAL plan_cache_mode = force_generic_plan"
GENERIC_KEY = "saas.prepared_writes.generic"


@dataclass(frozen=True)
class _Form:
    """One statement as prepared for one set of declared parameter types."""

    name: str
    prepare: str  # `PREPARE name(types) AS body`, psycopg2's `%` escaping kept
    execute: Any  # `text("EXECUTE name(:a, :b, …)")`, typed parameters and result columns
    loading: Any  # `select(entity).from_statement(execute)`, for `load`


class PreparedWrite:
    """`statement` (a Core statement or `text()` with bound parameters only, built once) run as a
    prepared statement on a session's connection (see the module docstring); with `entity` (a
    mapped class whose rows the statement returns), loaded as ORM objects by `load`."""

    __slots__ = ("_compiled", "_forms", "_plain_loading", "entity", "statement")

    def __init__(self, statement: Any, entity: Any = None) -> None:
        self.statement = statement
        self.entity = entity
        self._plain_loading: Any = select(entity).from_statement(statement) if entity is not None else None
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any], tuple[Any, ...]] | None = None
        self._forms: dict[tuple[str, ...], _Form] = {}

    def execute(self, session: Session, params: dict[str, Any]) -> Result[*tuple[Any, ...]]:
        """The statement's result for `params`, in the session's transaction."""
        connection = session.connection()
        if not _prepares(connection):
            return connection.execute(self.statement, params)
        form = self._form_for(connection, params)
        _on_generic_plans(session, connection)
        self._prepare_on(session, connection, form)
        try:
            return connection.execute(form.execute, params)
        except BaseException:
            _reset(connection)
            raise

    def load(self, session: Session, params: dict[str, Any]) -> Any:
        """The ORM objects (of `entity`) the statement's rows are, loaded into the session as
        `session.scalars(select(entity).from_statement(statement), params)` loads them."""
        connection = session.connection()
        if not _prepares(connection):
            return session.scalars(self._plain_loading, params)
        form = self._form_for(connection, params)
        _on_generic_plans(session, connection)
        self._prepare_on(session, connection, form)
        try:
            return session.scalars(form.loading, params)
        except BaseException:
            _reset(connection)
            raise

    def _form_for(self, connection: Connection, params: dict[str, Any]) -> _Form:
        body, names, types_of, columns = self._compile(connection)
        types = tuple([sql_type(params.get(name)) for name in names])
        form = self._forms.get(types)
        if form is None:
            name = name_of(body, types)
            prepare = f"PREPARE {name}({', '.join(types)}) AS {body}" if types else f"PREPARE {name} AS {body}"
            call = f"EXECUTE {name}({', '.join(f':{n}' for n in names)})" if names else f"EXECUTE {name}"
            execute: Any = text(call).bindparams(*(bindparam(n, type_=types_of[n]) for n in names))
            if columns:
                execute = execute.columns(*columns)
            loading = select(self.entity).from_statement(execute) if self.entity is not None else None
            form = self._forms[types] = _Form(name, prepare, execute, loading)
        return form

    def _compile(self, connection: Connection) -> tuple[str, tuple[str, ...], dict[str, Any], tuple[Any, ...]]:
        compiled = self._compiled
        if compiled is None:
            done = self.statement.compile(dialect=connection.dialect)
            if "POSTCOMPILE" in done.string:
                raise ValueError("a prepared write takes bound parameters only (no expanding or literal ones)")
            parsed = statement_of(done.string)
            types_of = {name: bind.type for name, bind in done.binds.items()}
            # A SELECT's columns, or an INSERT's / UPDATE's RETURNING ones (none for `text()`), by
            # name and type: a table's own columns as they are (the ORM maps its rows by them),
            # others as plain columns (an expression would bring its CTEs into the EXECUTE).
            columns = tuple(
                exported if isinstance(exported, Column) else column(exported.key or f"column_{index}", exported.type)
                for index, exported in enumerate(getattr(self.statement, "exported_columns", None) or ())
            )
            compiled = self._compiled = (parsed.body, parsed.names, types_of, columns)
        return compiled

    @staticmethod
    def _prepare_on(session: Session, connection: Connection, form: _Form) -> None:
        """Send `PREPARE` in front of the `EXECUTE` if the connection has not prepared it."""
        names: set[str] = connection.info.setdefault(PREPARED_KEY, set())
        if form.name in names:
            return
        if connection.info.pop(RESET_KEY, False) or len(names) >= MAX_PER_CONNECTION:
            names.clear()
            defer_statement(session, "DEALLOCATE ALL", {})
        defer_statement(session, form.prepare, {})
        names.add(form.name)


def _prepares(connection: Connection) -> bool:
    return bool(connection.engine.get_execution_options().get(PREPARED_WRITES_OPTION, True))


def _on_generic_plans(session: Session, connection: Connection) -> None:
    """`GENERIC_PLANS_SQL` in front of the next statement, unless this transaction (or savepoint:
    one rolled back takes its `SET LOCAL` with it) has it already."""
    transaction = connection.get_nested_transaction() or connection.get_transaction()
    marked = connection.info.get(GENERIC_KEY)
    if marked is not None and marked() is transaction:
        return
    defer_statement(session, GENERIC_PLANS_SQL, {})
    connection.info[GENERIC_KEY] = weakref.ref(transaction)


def _reset(connection: Connection) -> None:
    """A message with this connection's statements failed: which of them ran is unknown."""
    connection.info.pop(PREPARED_KEY, None)
    connection.info[RESET_KEY] = True
