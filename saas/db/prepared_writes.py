"""Server-side prepared statements for the write path: parsed and planned once per connection.

A write's statements (a duplicate lookup, a new row's INSERT, the INSERT of an event with its
records) are built once per shape with bound parameters only, so each is the same text on every
write of that shape. Sent as text, PostgreSQL parses, analyses and plans it on every write, which
costs more than running it (a `createCustomer`'s lookup: about 0.25 ms to plan, 0.05 ms to run).
`PreparedWrite` sends it as `EXECUTE name(values)` on the session's connection instead.

- **Name and types**: as for the compiled reads (`saas.db.prepared.name_of`, `sql_type`): a
  digest of the statement's text (`$n` placeholders) and its parameters' declared types.
- **No extra round trip**: the first use on a connection puts `PREPARE name AS …` in front of
  the `EXECUTE`, in the same message (`defer_on`, behind the tenant setting and the locks
  deferred before it); later uses send the `EXECUTE` alone.
- **Tenant walls unchanged**: the statement is the one the caller built (its `tenant_id` in its
  WHERE or VALUES), run on the session's connection in the session's transaction, after the
  `app.tenant_id` setting of that transaction; row-level security reads the setting at
  execution, so one plan serves every tenant (as for the prepared reads).
- **Values and results**: the `EXECUTE`'s parameters keep the original bind parameters' types
  (their bind processing: JSON serialised, …) and its result the statement's columns and their
  types, so the caller sees the rows, or the ORM objects (`load`), it saw before.
- **On the driver's cursor** (`execute`): the `EXECUTE` is one fixed text, so nothing of
  SQLAlchemy's statement execution is needed around it but its cursor-level part: no cache key,
  no compiled-cache lookup, no execution context, no cursor result. Its text (in the driver's
  parameter style) and each parameter's bind processing are taken once per form from SQLAlchemy's
  own compilation of it; the values are processed as SQLAlchemy processes them; the statement goes
  through `Connection._cursor_execute` (SQLAlchemy's own path for a statement on a cursor), so the
  engine's `before_cursor_execute` listeners see it as any other (the deferred statements ride in
  front of it, the statement counter counts it, echo logs it) and a driver error is translated as
  any other (`DBAPIError` and its subclasses, a dropped connection invalidated). The rows come back
  processed by the result columns' types (as SQLAlchemy's result does), as a `Result` of `Row`s:
  the same `first()`, `one()`, `scalar_one()`, `all()` and `_mapping`; a statement that returns
  no rows gives an empty result (no `rowcount`: no caller reads it). Where that path is not
  available (a driver of another parameter style, names the dialect must escape, a SQLAlchemy
  without `_cursor_execute`), `Connection.execute` runs the `EXECUTE` as before.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, bindparam, column, select, text
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from saas.db.prepared import name_of, sql_type, statement_of
from saas.tenancy.session import defer_on, session_connection

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
    direct: _Direct | None  # the `EXECUTE` on the driver's cursor; None: through `Connection.execute`


# SQLAlchemy's path for a statement on a cursor (events, echo, error translation): present in 2.0 and 2.1.
_CURSOR_EXECUTE = hasattr(Connection, "_cursor_execute")


class _Direct:
    """A form's `EXECUTE` as sent on the driver's cursor: its text, each parameter's name and bind
    processor (SQLAlchemy's compilation of the form's `text()`), the result columns' types; the
    result's keys and processors, made from the first result's description and kept."""

    __slots__ = ("binds", "result", "sql", "types")

    def __init__(self, sql: str, binds: tuple[tuple[str, Callable[[Any], Any] | None], ...], types: tuple[Any, ...]):
        self.sql = sql
        self.binds = binds
        self.types = types
        self.result: tuple[SimpleResultMetaData, tuple[Callable[[Any], Any] | None, ...] | None] | None = None

    @classmethod
    def of(cls, execute: Any, columns: tuple[Any, ...], dialect: Dialect) -> _Direct | None:
        """The direct form of `execute` (`text("EXECUTE …")` with its typed parameters), or None
        when only `Connection.execute` can send it as SQLAlchemy would."""
        if not _CURSOR_EXECUTE or dialect.paramstyle != "pyformat":
            return None
        compiled = execute.compile(dialect=dialect)
        if compiled.escaped_bind_names or compiled.positiontup or not compiled.binds:
            return None
        binds = tuple(
            (name, bind.type.dialect_impl(dialect).bind_processor(dialect)) for name, bind in compiled.binds.items()
        )
        return cls(compiled.string, binds, tuple(exported.type for exported in columns))

    def run(self, connection: Connection, params: dict[str, Any]) -> Result[*tuple[Any, ...]]:
        """The statement run on a cursor of the connection, in its transaction; its rows as a `Result`."""
        values = {}
        for name, process in self.binds:
            if name not in params:  # as SQLAlchemy's `construct_params` refuses it
                raise InvalidRequestError(f"A value is required for bind parameter {name!r}", code="cd3x")
            value = params[name]
            values[name] = value if process is None else process(value)
        cursor = connection.connection.cursor()
        try:
            connection._cursor_execute(cursor, self.sql, values)
            description = cursor.description
            rows: Sequence[Any] = cursor.fetchall() if description is not None else ()
        finally:
            cursor.close()
        if description is None:
            return IteratorResult(_NO_COLUMNS, iter(()))
        result = self.result
        if result is None:
            result = self.result = self._result_of(description, connection.dialect)
        metadata, processors = result
        if processors is not None:
            rows = [tuple([v if p is None else p(v) for p, v in zip(processors, row, strict=True)]) for row in rows]
        return IteratorResult(metadata, iter(rows))

    def _result_of(
        self, description: Sequence[Any], dialect: Dialect
    ) -> tuple[SimpleResultMetaData, tuple[Callable[[Any], Any] | None, ...] | None]:
        """The keys (the description's names, as SQLAlchemy's textual result has them) and the
        processors of the result columns' types, by position (none for an untyped column)."""
        keys = [entry[0] for entry in description]
        processors = tuple(
            self.types[index].dialect_impl(dialect).result_processor(dialect, entry[1])
            if index < len(self.types)
            else None
            for index, entry in enumerate(description)
        )
        return SimpleResultMetaData(keys), (processors if any(p is not None for p in processors) else None)


_NO_COLUMNS = SimpleResultMetaData([])


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
        connection = session_connection(session)
        if not _prepares(connection):
            return connection.execute(self.statement, params)
        form = self._form_for(connection, params)
        _on_generic_plans(connection)
        self._prepare_on(connection, form)
        try:
            if form.direct is not None:
                return form.direct.run(connection, params)
            return connection.execute(form.execute, params)
        except BaseException:
            _reset(connection)
            raise

    def load(self, session: Session, params: dict[str, Any]) -> Any:
        """The ORM objects (of `entity`) the statement's rows are, loaded into the session as
        `session.scalars(select(entity).from_statement(statement), params)` loads them."""
        connection = session_connection(session)
        if not _prepares(connection):
            return session.scalars(self._plain_loading, params)
        form = self._form_for(connection, params)
        _on_generic_plans(connection)
        self._prepare_on(connection, form)
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
            direct = _Direct.of(execute, columns, connection.dialect)
            form = self._forms[types] = _Form(name, prepare, execute, loading, direct)
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
    def _prepare_on(connection: Connection, form: _Form) -> None:
        """Send `PREPARE` in front of the `EXECUTE` if the connection has not prepared it."""
        names: set[str] = connection.info.setdefault(PREPARED_KEY, set())
        if form.name in names:
            return
        if connection.info.pop(RESET_KEY, False) or len(names) >= MAX_PER_CONNECTION:
            names.clear()
            defer_on(connection, "DEALLOCATE ALL", {})
        defer_on(connection, form.prepare, {})
        names.add(form.name)


def _prepares(connection: Connection) -> bool:
    return bool(connection.engine.get_execution_options().get(PREPARED_WRITES_OPTION, True))


def _on_generic_plans(connection: Connection) -> None:
    """`GENERIC_PLANS_SQL` in front of the next statement, unless this transaction (or savepoint:
    one rolled back takes its `SET LOCAL` with it) has it already."""
    transaction = connection.get_nested_transaction() or connection.get_transaction()
    marked = connection.info.get(GENERIC_KEY)
    if marked is not None and marked() is transaction:
        return
    defer_on(connection, GENERIC_PLANS_SQL, {})
    connection.info[GENERIC_KEY] = weakref.ref(transaction)


def _reset(connection: Connection) -> None:
    """A message with this connection's statements failed: which of them ran is unknown."""
    connection.info.pop(PREPARED_KEY, None)
    connection.info[RESET_KEY] = True
