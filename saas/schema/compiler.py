"""Compiles a GraphQL selection set into one SQL statement whose JSON PostgreSQL builds.

A compiled field's resolver returns the JSON as an `orjson.Fragment`; the executor passes
it through untouched (see `execution.py`), so Python never completes those fields one by
one. Tenant filter, row-level security (the statement runs with `app.tenant_id` set) and
visibility rules are part of the statement. The tenant filter is added here, and only here:
every table the statement reads (the root rows, the count, each joined relation) gets
`<alias>.tenant_id = :tenant_id` (`tenant_predicate`), bound by `saas.db.reads.fetch_json` to
the tenant it sets for row-level security; domain mappings and conditions never write it. A selection with a field that has no SQL
mapping raises `NotCompilable`, and the caller falls back to ordinary resolvers.

The statement writes the JSON as text, byte for byte as the resolver path would serialise it:
compact, keys in the selection's order. `json_build_object` and `json_agg` would write
`{"key" : value}` and `[…, …]` with spaces, and `jsonb` would reorder the keys; so an object is
its members concatenated (`concat('{"name":', …, '}')`), a list is the `string_agg` of its
members, and a value is `to_json(value)::text`. Stored JSON (jsonb columns) goes through
`compact_json`. PostgreSQL builds it at the same cost as `json_build_object` (measured on the
benchmark's page of 50 customers); compacting in Python instead would cost several times more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective

from saas.db.conditions import SqlCondition
from saas.schema.relay import cursor_sql, iso_datetime_sql
from saas.tenancy.session import tenant_predicate

# Bounds one object's share of the statement (a selection may name a field under many aliases).
MAX_KEYS_PER_OBJECT = 50
# PostgreSQL's FUNC_MAX_ARGS.
MAX_FUNCTION_ARGS = 100


class NotCompilable(Exception):
    """The selection needs a field computed in Python."""


@dataclass(frozen=True)
class Through:
    """The link table of a many-to-many relation (e.g. a team's members through `team_members`):
    the target rows are those whose id is in `key` of the link rows `join` ties to the parent
    (`{l}` the link's alias, `{p}` the parent's). The compiler adds the link's tenant predicate."""

    table: str
    key: str
    join: str


@dataclass(frozen=True)
class Relation:
    """A nested object or list: the target type and how its rows join the parent's (`{p}`/`{t}`).

    The join names no tenant: the compiler adds the target's tenant predicate itself (and the
    link table's, for a relation `through` one).

    `target` returns the target's `SqlType` (a function, so that two types can refer to each
    other, e.g. `lambda: CUSTOMER`): the mappings hold each other, not a registry of names."""

    target: Callable[[], SqlType]
    table: str
    join: str
    order: str | None = None  # set for lists
    through: Through | None = None


@dataclass(frozen=True)
class SqlType:
    """How one GraphQL object type maps to SQL: column expressions over the alias `{t}`."""

    name: str
    table: str
    columns: dict[str, str]
    relations: dict[str, Relation] = field(default_factory=dict)
    interfaces: frozenset[str] = frozenset({"Node"})


@dataclass
class CompileState:
    fragments: dict[str, Any]
    variables: VariableValues
    aliases: int = 0

    def new_alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"


def state_from(info: GraphQLResolveInfo) -> CompileState:
    return CompileState(fragments=info.fragments, variables=info.variable_values)


def _included(node: Any, state: CompileState) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, state.variables)
    if skip and skip.get("if"):
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, state.variables)
    return not (include and include.get("if") is False)


def collect(
    selection_set: SelectionSetNode | None,
    type_name: str,
    state: CompileState,
    interfaces: frozenset[str] = frozenset(),
) -> dict[str, list[FieldNode]]:
    """Response key → field nodes, following fragments whose type condition applies."""
    fields: dict[str, list[FieldNode]] = {}
    if selection_set is None:
        return fields
    for selection in selection_set.selections:
        if not _included(selection, state):
            continue
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            fields.setdefault(key, []).append(selection)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = state.fragments[selection.name.value]
            condition, inner = fragment.type_condition, fragment.selection_set
        elif isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        else:  # pragma: no cover
            continue
        if condition is None or condition.name.value == type_name or condition.name.value in interfaces:
            for key, nodes in collect(inner, type_name, state, interfaces).items():
                fields.setdefault(key, []).extend(nodes)
    return fields


def merged_selection(nodes: list[FieldNode]) -> SelectionSetNode:
    selections = [s for node in nodes if node.selection_set for s in node.selection_set.selections]
    return SelectionSetNode(selections=tuple(selections))


def json_value(expression: str) -> str:
    """A SQL value as JSON text: strings quoted and escaped, numbers, booleans, NULL as `null`."""
    return f"COALESCE(to_json({expression})::text, 'null')"


def compact_json(expression: str) -> str:
    """A json or jsonb value without the spaces PostgreSQL writes after `,` and `:` (as `json`).

    PostgreSQL writes jsonb as `{"a": 1, "b": [1, 2]}`: outside strings, the only spaces are
    those after separators. The pattern consumes each string whole (escapes included), so a
    `, ` or `: ` inside one is never touched; key order stays as stored.
    """
    pattern = r'("(?:[^"\\]|\\.)*")|([,:]) '
    return f"regexp_replace(({expression})::text, '{pattern}', '\\1\\2', 'g')::json"


def _typename(name: str) -> str:
    return f"'\"{name}\"'"


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """JSON text of an object from (key, JSON text expression) pairs, in their order.

    Keys are GraphQL names or aliases (`[_A-Za-z][_0-9A-Za-z]*`): nothing to escape.
    """
    if len(pairs) > MAX_KEYS_PER_OBJECT:
        raise NotCompilable("too many fields in one object")
    if not pairs:
        return "'{}'"
    parts = []
    for index, (key, expr) in enumerate(pairs):
        parts.append(f"""'{"," if index else "{"}"{key}":'""")
        parts.append(expr)
    return _concat([*parts, "'}'"])


def _concat(parts: list[str]) -> str:
    """`concat(…)` of text expressions: one call per object, cheaper than a chain of `||`
    (measured: as fast as `json_build_object`). A function takes at most 100 arguments."""
    while len(parts) > MAX_FUNCTION_ARGS:
        parts = [_concat(parts[i : i + MAX_FUNCTION_ARGS]) for i in range(0, len(parts), MAX_FUNCTION_ARGS)]
    return f"concat({', '.join(parts)})"


def _json_array(element: str, order: str, source: str) -> str:
    """JSON text of the list of `element` over the rows of `source` (`FROM … WHERE …`), `[]` when none."""
    return f"COALESCE((SELECT '[' || string_agg({element}, ',' ORDER BY {order}) || ']' {source}), '[]')"


def object_json(sql_type: SqlType, alias: str, selection_set: SelectionSetNode, state: CompileState) -> str:
    """A JSON text expression for one row of `sql_type` under `alias`."""
    pairs: list[tuple[str, str]] = []
    for key, nodes in collect(selection_set, sql_type.name, state, sql_type.interfaces).items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, _typename(sql_type.name)))
        elif name in sql_type.columns:
            pairs.append((key, json_value(sql_type.columns[name].format(t=alias))))
        elif name in sql_type.relations:
            pairs.append((key, _relation_json(sql_type.relations[name], alias, merged_selection(nodes), state)))
        else:
            raise NotCompilable(f"{sql_type.name}.{name}")
    return _json_object(pairs)


def tenant_where(alias: str, condition: SqlCondition) -> str:
    """The WHERE of a table the compiler reads: the tenant predicate, then the domain's condition.

    The caller binds `TENANT_PARAM` (`fetch_json` does, from the tenant it sets)."""
    return f"{tenant_predicate(alias)} AND {condition.sql}"


def _relation_json(relation: Relation, parent: str, selection_set: SelectionSetNode, state: CompileState) -> str:
    target = relation.target()
    alias = state.new_alias()
    inner = object_json(target, alias, selection_set, state)
    join = f"{tenant_predicate(alias)} AND {relation.join.format(p=parent, t=alias)}"
    if relation.through is not None:
        link, through = state.new_alias(), relation.through
        join += (
            f" AND {alias}.id IN (SELECT {link}.{through.key} FROM {through.table} {link}"
            f" WHERE {tenant_predicate(link)} AND {through.join.format(p=parent, l=link)})"
        )
    if relation.order is None:
        return f"COALESCE((SELECT {inner} FROM {relation.table} {alias} WHERE {join}), 'null')"
    return _json_array(inner, relation.order.format(t=alias), f"FROM {relation.table} {alias} WHERE {join}")


@dataclass(frozen=True)
class SortKey:
    """A keyset order: the columns (ending with the id) and their direction."""

    columns: tuple[str, ...]
    casts: tuple[str, ...]
    descending: bool

    def order_sql(self, alias: str) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{alias}.{c}{direction}" for c in self.columns)

    def after_sql(self, alias: str) -> str:
        op = "<" if self.descending else ">"
        left = ", ".join(f"{alias}.{c}" for c in self.columns)
        right = ", ".join(f"CAST(:after_{i} AS {cast})" for i, cast in enumerate(self.casts))
        return f"({left}) {op} ({right})"

    def cursor_sql(self, alias: str) -> str:
        return cursor_sql(
            [
                iso_datetime_sql(f"{alias}.{c}") if cast == "timestamptz" else f"{alias}.{c}"
                for c, cast in zip(self.columns, self.casts, strict=True)
            ]
        )


def connection_sql(
    sql_type: SqlType,
    selection_set: SelectionSetNode,
    state: CompileState,
    condition: SqlCondition,
    sort: SortKey,
    has_after: bool,
) -> str:
    """One statement for a Relay connection: the page, its cursors, page info and total count."""
    where = tenant_where("r", condition) + (f" AND {sort.after_sql('r')}" if has_after else "")
    pairs: list[tuple[str, str]] = []
    for key, nodes in collect(selection_set, f"{sql_type.name}Connection", state).items():
        name = nodes[0].name.value
        inner = merged_selection(nodes)
        if name == "__typename":
            pairs.append((key, _typename(f"{sql_type.name}Connection")))
        elif name == "edges":
            pairs.append((key, _edges_json(sql_type, inner, state, sort)))
        elif name == "pageInfo":
            pairs.append((key, _page_info_json(inner, state, sort)))
        elif name == "totalCount":
            pairs.append(
                (key, json_value(f"(SELECT count(*) FROM {sql_type.table} r WHERE {tenant_where('r', condition)})"))
            )
        else:
            raise NotCompilable(name)
    page = (
        f"SELECT r.*, row_number() OVER (ORDER BY {sort.order_sql('r')}) AS page_row "
        f"FROM {sql_type.table} r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
    )
    return f"WITH page AS MATERIALIZED ({page}) SELECT {_json_object(pairs)}"


def _edges_json(sql_type: SqlType, selection_set: SelectionSetNode, state: CompileState, sort: SortKey) -> str:
    pairs: list[tuple[str, str]] = []
    for key, nodes in collect(selection_set, f"{sql_type.name}Edge", state).items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, _typename(f"{sql_type.name}Edge")))
        elif name == "cursor":
            pairs.append((key, json_value(sort.cursor_sql("e"))))
        elif name == "node":
            pairs.append((key, object_json(sql_type, "e", merged_selection(nodes), state)))
        else:
            raise NotCompilable(name)
    return _json_array(_json_object(pairs), "e.page_row", "FROM page e WHERE e.page_row <= :first")


def _page_info_json(selection_set: SelectionSetNode, state: CompileState, sort: SortKey) -> str:
    last_row = "(SELECT LEAST(count(*), :first) FROM page)"
    expressions = {
        "hasNextPage": "((SELECT count(*) FROM page) > :first)",
        "hasPreviousPage": ":has_previous",
        "startCursor": f"(SELECT {sort.cursor_sql('e')} FROM page e WHERE e.page_row = 1 AND :first > 0)",
        "endCursor": f"(SELECT {sort.cursor_sql('e')} FROM page e WHERE e.page_row = {last_row})",
    }
    pairs = []
    for key, nodes in collect(selection_set, "PageInfo", state).items():
        name = nodes[0].name.value
        pairs.append((key, _typename("PageInfo") if name == "__typename" else json_value(expressions[name])))
    return _json_object(pairs)


def single_sql(sql_type: SqlType, selection_set: SelectionSetNode, state: CompileState, condition: SqlCondition) -> str:
    """One statement for one object (NULL when no visible row matches)."""
    inner = object_json(sql_type, "r", selection_set, state)
    return f"SELECT (SELECT {inner} FROM {sql_type.table} r WHERE {tenant_where('r', condition)})"


def list_sql(
    sql_type: SqlType, selection_set: SelectionSetNode, state: CompileState, condition: SqlCondition, order: str
) -> str:
    """One statement for a plain (unpaged) list of `sql_type` rows under alias `r`, `[]` when none."""
    element = object_json(sql_type, "r", selection_set, state)
    source = f"FROM {sql_type.table} r WHERE {tenant_where('r', condition)}"
    return f"SELECT {_json_array(element, order, source)}"


_NAMED_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def to_pyformat(sql: str) -> str:
    """`:name` placeholders to psycopg2's `%(name)s` (literal `%` doubled)."""
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


class CompiledCache:
    """Compiled statements by (document text, field path, condition shape, order, paging)."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self.entries: dict[tuple[Any, ...], str] = {}

    def get_or_compile(self, key: tuple[Any, ...], compile_sql: Any) -> str:
        sql = self.entries.get(key)
        if sql is None:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            sql = self.entries[key] = to_pyformat(compile_sql())
        return sql


COMPILED = CompiledCache()


def cache_key(info: GraphQLResolveInfo, *shape: Any) -> tuple[Any, ...] | None:
    """A key for the compiled statement; None when directives make it depend on variables."""
    loc = info.operation.loc
    if loc is None:
        return None
    body = loc.source.body
    if "@skip" in body or "@include" in body:
        return None
    return (body, info.operation.name.value if info.operation.name else None, info.path.as_list().__repr__(), *shape)


def compile_cached(info: GraphQLResolveInfo, shape: tuple[Any, ...], compile_sql: Any) -> str:
    key = cache_key(info, *shape)
    if key is None:
        return to_pyformat(compile_sql())
    return COMPILED.get_or_compile(key, compile_sql)
