"""The compiled reads of a plain list and of a keyset page, shared by every domain's queries.

Each answers with one statement (`compiler.compile_read`, then `fetch_compiled`) whose JSON passes
through untouched, or, when a selected field cannot compile, through the resolver path over the
same rows in the same order: `list_fallback` for a list, and for a page the ids of the page, its
rows and the count (three statements, whatever the page size, before the nested loaders).
`single_object` (`saas/schema/nodes.py`) is the third read of the kind: one object.

A list of one parent's rows (an account's transactions, an instrument's closes) answers NOT_FOUND
when the caller does not see the parent, in the same statement: `Within` names the parent, and the
statement answers NULL instead of the list when no such row is visible.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLResolveInfo
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.db.conditions import SqlCondition
from saas.db.paging import Page
from saas.schema import compiler
from saas.schema.connections import connection
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.relay import decode_cursor, page_size
from saas.tenancy.session import TENANT_PARAM


def selection_of(raw: GraphQLResolveInfo) -> Any:
    """The field's selection set, its nodes merged (an aliased field asked twice)."""
    return compiler.merged_selection(list(raw.field_nodes))


@dataclass(frozen=True)
class Within:
    """The parent row a list belongs to: a row of `table` (alias `w`) meeting `condition` (the
    parent's id, its visibility), whose parameters must not share a name with the list's. When the
    caller sees no such row, the read raises `missing()` (e.g. NOT_FOUND) instead of answering."""

    table: str
    condition: SqlCondition
    missing: Callable[[], Exception]

    def sql(self) -> str:
        return f"EXISTS (SELECT 1 FROM {self.table} w WHERE {compiler.tenant_where('w', self.condition)})"

    def guard(self, statement: str) -> str:
        """`statement`'s answer when the parent is visible, else NULL (still one statement)."""
        return f"SELECT CASE WHEN {self.sql()} THEN ({statement}) END"


def _shape(within: Within | None) -> tuple[Any, ...]:
    return (within.table, tuple(within.condition.parts)) if within is not None else ()


def _params(within: Within | None) -> dict[str, Any]:
    return dict(within.condition.params) if within is not None else {}


async def compiled_list(
    info: Info[RequestContext, None],
    sql_type: compiler.SqlType,
    condition: SqlCondition,
    order: str,
    list_fallback: Callable[[], Awaitable[Any]],
    within: Within | None = None,
) -> Any:
    """The `condition` rows of `sql_type` (alias `r`) in `order`, as one compiled statement
    (`within`: of that parent, which the fallback checks itself)."""
    raw = info._raw_info

    def build(state: compiler.CompileState) -> str:
        statement = compiler.list_sql(sql_type, selection_of(raw), state, condition, order)
        return within.guard(statement) if within is not None else statement

    try:
        sql, bound = compiler.compile_read(raw, (sql_type.name, tuple(condition.parts), order, *_shape(within)), build)
    except compiler.NotCompilable:
        return await list_fallback()
    json_text = await fetch_compiled(info.context, sql, {**condition.params, **_params(within), **bound})
    if json_text is None and within is not None:
        raise within.missing()
    assert json_text is not None  # a list statement always returns one row
    return orjson.Fragment(json_text)


async def compiled_page(
    info: Info[RequestContext, None],
    sql_type: compiler.SqlType,
    model: Any,
    build: Callable[[Any], Any],
    condition: SqlCondition,
    sort: compiler.SortKey,
    first: int | None,
    after: str | None,
    within: Within | None = None,
    page_fallback: Callable[[], Awaitable[Any]] | None = None,
    counts: dict[str, SqlCondition] | None = None,
) -> Any:
    """A keyset page of the `condition` rows of `sql_type` (a Relay connection with `totalCount`):
    one compiled statement, or the resolver path building each row of `model` with `build`
    (`page_fallback` instead, when given: e.g. for a table without an `id` column). `within`:
    the rows of that parent only, NOT_FOUND (`Within.missing`) when the caller does not see it.
    `counts`: the connection's other count fields (e.g. `unreadCount`), each the rows meeting its
    condition (its parameters must not share a name with another's unless bound to the same value);
    a connection with such fields needs `page_fallback`."""
    context = info.context
    limit = page_size(first, context.runtime.settings.max_page_size)
    counts = counts or {}
    params: dict[str, Any] = {
        **{name: value for counted in counts.values() for name, value in counted.params.items()},
        **condition.params,
        **_params(within),
        "first": limit,
        "limit": limit + 1,
        "has_previous": after is not None,
    }
    if after is not None:
        for index, value in enumerate(decode_cursor(after, sort.cursor_casts)):
            params[f"after_{index}"] = value
    raw = info._raw_info

    def build_sql(state: compiler.CompileState) -> str:
        statement = compiler.connection_sql(
            sql_type, selection_of(raw), state, condition, sort, after is not None, counts, size=limit
        )
        return within.guard(statement) if within is not None else statement

    counted = tuple((name, tuple(c.parts)) for name, c in sorted(counts.items()))
    # The page's size is written into the statement (`compiler.size_literal`): one statement per size.
    shape = (sql_type.name, tuple(condition.parts), sort, after is not None, limit, *_shape(within), *counted)
    try:
        sql, bound = compiler.compile_read(raw, shape, build_sql)
    except compiler.NotCompilable:
        if page_fallback is not None:
            return await page_fallback()
        tenant = {TENANT_PARAM: context.require_principal().tenant_id}
        return await context.read(
            _resolver_page,
            sql_type.table,
            model,
            build,
            condition,
            sort,
            {**params, **tenant},
            after is not None,
            within,
        )
    del params["first"], params["limit"]  # the resolver path's; the statement has them as literals
    json_text = await fetch_compiled(context, sql, {**params, **bound})
    if json_text is None and within is not None:
        raise within.missing()
    assert json_text is not None  # a connection statement always returns one object
    return orjson.Fragment(json_text)


def _resolver_page(
    session: Session,
    table: str,
    model: Any,
    build: Callable[[Any], Any],
    condition: SqlCondition,
    sort: compiler.SortKey,
    params: dict[str, Any],
    has_after: bool,
    within: Within | None = None,
) -> Any:
    """The resolver path of `compiled_page`: the same rows in the same order, and the same count."""
    if within is not None and not session.execute(text(f"SELECT {within.sql()}"), params).scalar_one():
        raise within.missing()
    where = compiler.tenant_where("r", condition)
    page_where = where + (f" AND {sort.after_sql('r')}" if has_after else "")
    page_sql = f"SELECT r.id FROM {table} r WHERE {page_where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
    ids = [row[0] for row in session.execute(text(page_sql), params)]
    rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
    total = session.execute(text(f"SELECT count(*) FROM {table} r WHERE {where}"), params).scalar_one()
    return connection(
        Page.of([rows[i] for i in ids], params["first"], total),
        build,
        sort.cursor_values,
        has_previous_page=has_after,
    )
