"""`node(id)`: finds the contribution (core domain or enabled plugin) that declares the id's type and reads it.

Every `Node` type is declared by exactly one contribution (`GraphQLContribution.nodes` or
`compiled_nodes`); the core domains declare theirs the way plugins do, so this module holds
no domain's tables, loaders or tenant conditions. `single_object` is the compiled read of one
object that `node(id)` and the domains' own single-object fields (`customer(id)`) share.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import require
from saas.db.conditions import SqlCondition
from saas.db.paging import Page
from saas.errors import NotFoundError
from saas.plugin_host.contributions import GraphQLContribution
from saas.schema import compiler
from saas.schema.connections import connection
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.relay import decode_cursor, from_global_id, page_size


def permission_condition(context: RequestContext, permission: str) -> SqlCondition:
    """Every row of the caller's tenant (the compiler adds the tenant predicate), once the caller
    holds `permission`."""
    require(context.require_principal().permissions, permission)
    return SqlCondition()


async def single_object(
    info: Info[RequestContext, None],
    sql_type: compiler.SqlType,
    raw_id: uuid.UUID,
    condition: SqlCondition,
    fallback: Callable[[RequestContext, uuid.UUID], Awaitable[Any]],
) -> Any:
    """One object of `sql_type` as compiled JSON (one statement), or through `fallback` when the selection
    cannot compile; NOT_FOUND when `condition` (tenant, permission, visibility) leaves no row.

    The read behind every compiled single-object field: `customer(id)`, `contact(id)`, and `node(id)` of
    every type a contribution declares in `compiled_nodes`, core or plugin."""
    condition.add("r.id = :object_id", object_id=raw_id)
    raw = info._raw_info
    try:
        sql = compiler.compile_cached(
            raw,
            (sql_type.name, tuple(condition.parts)),
            lambda: compiler.single_sql(
                sql_type, compiler.merged_selection(list(raw.field_nodes)), compiler.state_from(raw), condition
            ),
        )
    except compiler.NotCompilable:
        found = await fallback(info.context, raw_id)
    else:
        json_text = await fetch_compiled(info.context, sql, condition.params)
        found = orjson.Fragment(json_text) if json_text not in (None, "null") else None
    if found is None:
        raise NotFoundError(f"{sql_type.name} not found", id=str(raw_id))
    return found


async def resolve_node(
    info: Info[RequestContext, None], id: strawberry.ID, contributions: Iterable[GraphQLContribution]
) -> Any:
    """The object of `id` as its contribution reads it; NOT_FOUND for an unknown type, a malformed
    id, or an object that is missing or not visible to the caller (another tenant's included: every
    loader reads through the tenant-bound session, and the compiler names the tenant in every statement)."""
    type_name, raw_id = from_global_id(id)
    found = await _read(info, type_name, raw_id, contributions)
    if found is None:
        raise NotFoundError("Not found", id=id)
    return found


async def _read(
    info: Info[RequestContext, None],
    type_name: str,
    raw_id: uuid.UUID,
    contributions: Iterable[GraphQLContribution],
) -> Any:
    for contribution in contributions:
        compiled = contribution.compiled_nodes.get(type_name)
        if compiled is not None:
            condition = compiled.condition(info.context)
            return await single_object(info, compiled.sql_type, raw_id, condition, compiled.fallback)
        loader = contribution.nodes.get(type_name)
        if loader is not None:
            return await loader(info.context, raw_id)
    return None


async def compiled_connection(
    info: Info[RequestContext, None],
    sql_type: compiler.SqlType,
    model: Any,
    build: Callable[[Any], Any],
    condition: SqlCondition,
    sort: compiler.SortKey,
    first: int | None,
    after: str | None,
) -> Any:
    """A keyset-paged connection of `sql_type` rows under `condition` (alias `r`) as one compiled
    statement: the page, its cursors, page info and total count. When the selection cannot compile,
    the same rows in the same order through resolvers: `build(row)` of `model` rows, two statements."""
    context = info.context
    limit = page_size(first, context.runtime.settings.max_page_size)
    params: dict[str, Any] = {**condition.params, "first": limit, "limit": limit + 1, "has_previous": after is not None}
    if after is not None:
        for index, value in enumerate(decode_cursor(after, sort.casts)):
            params[f"after_{index}"] = value
    raw = info._raw_info
    try:
        sql = compiler.compile_cached(
            raw,
            (sql_type.name, tuple(condition.parts), after is not None),
            lambda: compiler.connection_sql(
                sql_type,
                compiler.merged_selection(list(raw.field_nodes)),
                compiler.state_from(raw),
                condition,
                sort,
                after is not None,
            ),
        )
    except compiler.NotCompilable:

        def page(session: Session) -> Any:
            where = condition.sql + (f" AND {sort.after_sql('r')}" if after is not None else "")
            page_sql = f"SELECT r.id FROM {sql_type.table} r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
            ids = [row[0] for row in session.execute(text(page_sql), params)]
            rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
            total = session.execute(
                text(f"SELECT count(*) FROM {sql_type.table} r WHERE {condition.sql}"), condition.params
            ).scalar_one()
            return connection(
                Page.of([rows[i] for i in ids], limit, total),
                build,
                lambda row: [getattr(row, c) for c in sort.columns],
                has_previous_page=after is not None,
            )

        return await context.read(page)
    json_text = await fetch_compiled(context, sql, params)
    assert json_text is not None
    return orjson.Fragment(json_text)


async def compiled_list(
    info: Info[RequestContext, None],
    sql_type: compiler.SqlType,
    condition: SqlCondition,
    order: str,
    fallback: Callable[[RequestContext], Awaitable[list[Any]]],
) -> Any:
    """A plain (unpaged) list of `sql_type` rows under `condition` (alias `r`), in `order` (e.g.
    `r.code, r.id`), as one compiled statement; `fallback(context)` when the selection cannot compile."""
    raw = info._raw_info
    try:
        sql = compiler.compile_cached(
            raw,
            (sql_type.name, tuple(condition.parts), order),
            lambda: compiler.list_sql(
                sql_type, compiler.merged_selection(list(raw.field_nodes)), compiler.state_from(raw), condition, order
            ),
        )
    except compiler.NotCompilable:
        return await fallback(info.context)
    json_text = await fetch_compiled(info.context, sql, condition.params)
    return orjson.Fragment(json_text or "[]")
