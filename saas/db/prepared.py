"""Server-side prepared statements for the compiled reads: parsed and planned once per connection.

A compiled statement (`saas.schema.compiler.compile_read`, psycopg2 `%(name)s` placeholders) is the
same text for every request of its compiled-cache entry; only the values differ. Sent as text, it is
parsed, analysed and planned by PostgreSQL on every request. Prepared, it is parsed once per
connection and planned once (a generic plan, `plan_cache_mode`): the request sends
`EXECUTE name(values)`.

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
- **Plans**: generic, except where a parameter steers the plan (`plan_cache_mode`).
- **Prepared as a subquery** (`read_query`): `SELECT s.* FROM (<statement>) AS s`, so that what
  PostgreSQL copies on every `EXECUTE` to describe its result is one column reference, not the
  statement's whole JSON expression.
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

from saas.db.async_reads import LINK_PLAN_CACHE_MODE, AsyncLink

MAX_PER_CONNECTION = 512
# Compiled-cache entries whose statement PostgreSQL cannot prepare, by (text, types).
UNPREPARABLE: set[tuple[str, tuple[str, ...]]] = set()
_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")

UNDEFINED_PREPARED_STATEMENT = "26000"
FEATURE_NOT_SUPPORTED = "0A000"  # "cached plan must not change result type"
DUPLICATE_PREPARED_STATEMENT = "42P05"


def sql_type(value: Any) -> str:
    """The type a parameter is declared with (`unknown`: inferred from its use): by the value's
    exact type where that alone decides it (`_BY_TYPE`, one look-up per parameter of every
    request), else by what it is an instance of (a datetime: with or without its zone; a subclass)."""
    declared = _BY_TYPE.get(type(value))
    if declared is not None:
        return declared
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


_BY_TYPE: dict[type, str] = {
    type(None): "unknown", str: "unknown", int: "unknown", float: "unknown", dict: "unknown", list: "unknown",
    uuid.UUID: "uuid", bool: "boolean", decimal.Decimal: "numeric", datetime.date: "date",
}  # fmt: skip


CUSTOM = "force_custom_plan"
# What a generic plan cannot know, found in a compiled statement's text (psycopg2 placeholders):
# text search and trigram operators, a containment of a bound value (`tags @> ARRAY[:tag]`,
# custom fields), the viewer's membership (`owner_id = :viewer_membership_id`, a rep's
# visibility); a member filter (`_MEMBER`) but on a page an index serves
# (`ORDERED_MEMBER_PAGES`); and a pattern matched against one column (`_PATTERN`, counted by
# its parameter).
_STEERING = re.compile(
    r"@@|<<?%%|%%>>?|\s%%\s|@>\s*(?:ARRAY\[)?CAST\(%\(|%\(\w*membership\w*\)s",
    re.IGNORECASE,
)
_MEMBER = re.compile(r"%\((\w*(?:owner|assignee)\w*)\)s", re.IGNORECASE)
_MEMBER_EQUALITY = re.compile(r"r\.(\w+) = %\((\w*(?:owner|assignee)\w*)\)s", re.IGNORECASE)
# A root page (`compiler.connection_sql`): its table, conditions and order.
_ROOT_PAGE = re.compile(
    r"WITH page AS MATERIALIZED \(SELECT .*? FROM (\w+) r WHERE (.*?) "
    r"ORDER BY (r\.\w+(?: DESC)?(?:, r\.\w+(?: DESC)?)*) LIMIT \d+\)",
    re.DOTALL,
)
# One member's page that an index leading with the tenant, the member and the page's order
# serves (the models' indexes, migrations 0028_member_pages): (table, member column, the page's
# ORDER BY). The generic plan walks that index and stops at the page's end, for the busiest
# member as for one with no rows; a custom plan cost 0.4-0.9 ms of planning more. Not the
# opportunities' owner, though `ix_opportunities_tenant_owner` has that form: every opportunity
# has an owner, and where one member owns all of them (bench-big) the plan made once expects
# every row for any member; PostgreSQL then walks the narrower newest-first index of the whole
# tenant and filters, 37 ms for a member with none (0.4 on a custom plan).
ORDERED_MEMBER_PAGES = frozenset(
    {
        ("customers", "owner_id", "r.name, r.id"),  # ix_customers_tenant_owner_name, either way
        ("customers", "owner_id", "r.name DESC, r.id DESC"),
        ("leads", "owner_id", "r.created_at DESC, r.id DESC"),  # ix_leads_tenant_owner_created
        ("tickets", "assignee_id", "r.created_at DESC, r.id DESC"),  # ix_tickets_tenant_assignee_created
    }
)


def _members_served(sql: str) -> bool:
    """Whether every member parameter of `sql` is an equality of a root page in
    `ORDERED_MEMBER_PAGES` (and nowhere else: a nested page, a count)."""
    members = _MEMBER.findall(sql)
    if not members:
        return True
    page = _ROOT_PAGE.search(sql)
    if page is None:
        return False
    table, where, order = page.groups()
    served = []
    for conjunct in _conjuncts(where):
        equality = _MEMBER_EQUALITY.fullmatch(conjunct)
        if equality is not None and (table, equality[1], order) in ORDERED_MEMBER_PAGES:
            served.append(equality[2])
    return len(served) == len(members) and set(served) == set(members)


def _conjuncts(where: str) -> list[str]:
    """`where`'s terms joined by `AND` outside parentheses (the compiler joins a condition's parts
    so); a term with an `OR` outside parentheses is one term, and so matches no equality."""
    terms, depth, start = [], 0, 0
    for match in re.finditer(r"[()]| AND ", where):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            terms.append(where[start : match.start()])
            start = match.end()
    terms.append(where[start:])
    return terms


_PATTERN = re.compile(r"\b(?:I?LIKE|SIMILAR\s+TO)\s+(?:CAST\(\s*|lower\(\s*)?%\((\w+)\)s", re.IGNORECASE)


def plan_cache_mode(sql: str) -> str:
    """The `plan_cache_mode` a compiled read (psycopg2 placeholders) is executed under: the rule
    of which prepared reads run on a generic plan, in this one place.

    **Generic** (`force_generic_plan`, the read links' setting, `LINK_PLAN_CACHE_MODE`): planned
    once per connection. Under PostgreSQL's `auto`, most compiled reads were planned again on
    every `EXECUTE` (`pg_prepared_statements`: no generic plan after 30 executions), for 0.4-1 ms
    of backend CPU per list and 4-10 ms per customer 360 on bench-big. The generic plan is
    correct for every tenant (row-level security reads the setting at execution) and as good as
    a custom one, on the largest tenant as on a small one, where nothing a value decides steers
    the plan: the tenant is `tenant_id = $1` on an index that leads with it, every page's size
    is a literal (`compiler.size_literal`: a page is planned as that many rows), a page's to-one
    relations are looked up by primary key (`compiler._joined_json`), and the remaining filters
    are equalities on columns of few, evenly spread values or on a parent's key (a status, a
    stage, a channel, a customer, the 360's customer).

    **Custom** (`force_custom_plan`, set for the statement's transaction in front of it), where
    a bound value decides how many rows match and only a plan for the value can tell:

    - a pattern matched against one column (`name_key LIKE lower(:search)`, the customers'
      search): the value's matches are estimated from the column's statistics, and the plan
      reads all the tenant's rows in their physical order for a rare one (no index serves the
      pattern under row-level security: `LIKE` is not leakproof), the page's order for a common
      one, stopping when the page is full (bench-big: 3 ms against the generic plan's 110 ms for
      a common name). A pattern matched against several columns (`subject_key LIKE (SELECT
      lower(:search)) OR body_key LIKE …`, the leads' and tickets' searches; the InitPlan hides
      the value from the planner) is left generic: PostgreSQL's estimate of such alternatives is
      a guess for any value, and its custom plan was no better for a term that matches nothing
      (tickets: 140-155 ms either way before the stored keys) and far worse for a common one (a
      sequential scan and a sort of 13,000 tickets estimated at 20: 108 ms against 1.1);
    - text search and trigram operators on a bound value;
    - a containment of it (`tags @> ARRAY[:tag]`, a custom field's `@> :value`): a tag of every
      row or of one;
    - a member (`owner_id = :viewer_membership_id`, a rep's visibility; the `ownerId` and
      `assigneeId` filters): bench-big's busiest owner has 33,000 customers, a small tenant's a
      handful. The generic plan estimates the average member's few rows, reads all of theirs by
      the owner's index and sorts them: 65 ms for bench-big's busiest owner's first 50
      customers, 2 ms on a custom plan.

    Not `auto` for those: with the page's size a literal, `auto` takes the generic plan after
    five custom ones, its estimate being the cheaper. docs/performance.md, "Generic plans for
    the compiled reads", has each statement's figures (`python -m bench.plans`)."""
    if _STEERING.search(sql) or not _members_served(sql):
        return CUSTOM
    patterns = _PATTERN.findall(sql)
    if any(patterns.count(name) == 1 for name in patterns):
        return CUSTOM
    return LINK_PLAN_CACHE_MODE


class Statement:
    """A compiled statement in its prepared form: `$n` placeholders and the parameters' order, and
    the plan cache mode it runs under when not the link's (`set_plan`, in front of `EXECUTE`).

    `forms` keeps, per tuple of declared parameter types, what a request sends (`Form`): the
    statement's name and its `EXECUTE` message, built once rather than on every request."""

    __slots__ = ("body", "execute_args", "forms", "names", "set_plan")

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
        mode = plan_cache_mode(sql)
        self.set_plan = (
            f"; SELECT set_config('plan_cache_mode', '{mode}', true)" if mode != LINK_PLAN_CACHE_MODE else ""
        )
        self.forms: dict[tuple[str, ...], Form] = {}

    def types_of(self, values: dict[str, Any]) -> tuple[str, ...]:
        """The declared types of this request's parameters, in the statement's order (`sql_type`)."""
        get = values.get
        return tuple([sql_type(get(name)) for name in self.names])

    def form(self, sql: str, types: tuple[str, ...]) -> Form:
        """The statement prepared with `types` (`sql` is the compiled text the statement was made of)."""
        found = self.forms.get(types)
        if found is None:
            found = self.forms[types] = Form(self, name_of(sql, types), types)
        return found


class Form:
    """One compiled statement prepared with one tuple of parameter types: its name (`name_of`,
    a digest of the text and the types, so the same on every connection and process) and the
    messages a request sends, by the prefix in front of the statement (the tenant setting):
    `prefix[; plan cache mode]; EXECUTE name(values)`. Built on a statement's first request with
    these types and kept with the statement, so an already prepared statement costs a request
    two look-ups and no formatting of the statement's text."""

    __slots__ = ("execute", "name", "prefixes", "set_plan", "types")

    def __init__(self, statement: Statement, name: str, types: tuple[str, ...]) -> None:
        self.name = name
        self.types = types
        self.set_plan = statement.set_plan
        self.execute = f"EXECUTE {name}({statement.execute_args})" if statement.names else f"EXECUTE {name}"
        # prefix -> (the prefix with the plan cache mode, the message of an already prepared statement)
        self.prefixes: dict[str, tuple[str, str]] = {}

    def prefixed(self, prefix: str) -> tuple[str, str]:
        found = self.prefixes.get(prefix)
        if found is None:
            full = prefix + self.set_plan
            found = self.prefixes[prefix] = (full, f"{full}; {self.execute}")
        return found


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


def read_query(body: str) -> str:
    """The query a compiled read is prepared as: its statement (`$n` placeholders) as a subquery,
    `SELECT s.* FROM (<body>) AS s`, the same rows and columns.

    An `EXECUTE` sent as a simple query (psycopg2's only protocol) describes its result from the
    prepared query's target list, which PostgreSQL copies on every execution
    (`FetchPreparedStatementTargetList`). A compiled read's target list is its whole answer: one
    JSON expression holding every nested subquery's parse tree (the customer 360's: 17,000
    characters of SQL), copied and freed per request: 6-14 % of the 360's backend CPU.
    Under `SELECT s.*` the target list is a column reference; the plan is the same (PostgreSQL
    pulls the subquery up, or scans the one row of a statement with a `WITH`). docs/performance.md,
    "The customer 360's statement, third pass". The line break ends any trailing comment."""
    return f"SELECT s.* FROM ({body}\n) AS s"


async def fetch_prepared(conn: AsyncLink, prefix: str, sql: str, values: dict[str, Any]) -> Any:
    """Run `prefix; sql` (both with psycopg2 placeholders) with `sql` prepared on `conn`; the first row."""
    statement = statement_of(sql)
    types = statement.types_of(values)
    if UNPREPARABLE and (sql, types) in UNPREPARABLE:
        return await conn.fetch_one(f"{prefix}; {sql}", values)
    form = statement.form(sql, types)
    name = form.name
    names = conn.prepared
    prefix, message = form.prefixed(prefix)
    execute = form.execute
    deallocate = ""
    if name in names:
        try:
            return await conn.fetch_one(message, values)
        except psycopg2.Error as error:
            code = _sqlstate(conn, error)
            if code == UNDEFINED_PREPARED_STATEMENT:
                names.discard(name)
            elif code == FEATURE_NOT_SUPPORTED:
                names.discard(name)
                deallocate = f"DEALLOCATE {name}; "
            elif code is not None and code.startswith("42"):
                return await _unpreparable(conn, prefix, sql, types, values)
            else:
                raise
    # The PREPARE's text (a copy of the whole statement) is built only when it is sent.
    query = read_query(statement.body)
    prepare = f"PREPARE {name}({', '.join(types)}) AS {query}" if types else f"PREPARE {name} AS {query}"
    if len(names) >= MAX_PER_CONNECTION:
        names.clear()
        deallocate = "DEALLOCATE ALL; "
    prepare = deallocate + prepare
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
