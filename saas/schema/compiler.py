"""Compiles a GraphQL selection set into one SQL statement whose JSON PostgreSQL builds.

A compiled field's resolver returns the JSON as an `orjson.Fragment`; the executor passes
it through untouched (see `execution.py`), so Python never completes those fields one by
one. Tenant filter, row-level security (the statement runs with `app.tenant_id` set) and
visibility rules are part of the statement. The tenant filter is added here, and only here:
every table the statement reads (the root rows, the count, each joined relation) gets
`<alias>.tenant_id = :tenant_id` (`tenant_predicate`), bound by `saas.db.reads.fetch_json` to
the tenant it sets for row-level security; domain mappings and conditions never write it. A selection with a field that has no SQL
mapping raises `NotCompilable`, and the caller falls back to ordinary resolvers.

A field another domain or a plugin adds to a type (`GraphQLContribution.type_fields`) compiles
when its contribution maps it too (`GraphQLContribution.sql_fields`); the composed schema keeps
that mapping on the field's definition (`SQL_EXTENSION`), so the compiler finds it for the
caller's schema (their tenant's plugins) without importing the domain that owns it.

Some relations depend on the request, not only on the document: the rows the caller sees
(`Relation.visible`, e.g. a rep's own opportunities) and a nested page's `first`/`after`
(`PagedRelation`). Their SQL text depends on the caller's kind (a rep or an owner) and their
values on who they are and on the variables; both are *bindings*: evaluated again on every
request, their values bound as parameters, and a cached statement reused only while every
binding still writes the same SQL text (`Compiled.params_for`). A binding that refuses the caller
(`ForbiddenError`, e.g. a plugin's `Customer.vehicles` for a member without the plugin's read
permission) makes the selection not compilable for this request: the resolvers answer it, and
place the refusal on the field, as they would without a mapping.

The statement writes the JSON as text, byte for byte as the resolver path would serialise it:
compact, keys in the selection's order. `json_build_object` and `json_agg` would write
`{"key" : value}` and `[…, …]` with spaces, and `jsonb` would reorder the keys; so an object is
its members concatenated (`concat('{"name":', …, '}')`), a list is the `string_agg` of its
members, and a value is `to_json(value)::text` (a global id, a date-time or a cursor, text that
never needs escaping, is quoted as it is: `json_string`). Stored JSON (jsonb columns) goes through
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
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective
from sqlalchemy import Date, DateTime, Integer, Numeric

from saas.db.base import Base
from saas.db.conditions import SqlCondition
from saas.errors import ForbiddenError
from saas.schema.relay import cursor_sql, decode_cursor, iso_datetime_sql, page_size, plain_json_string_sql
from saas.tenancy.session import tenant_predicate

# Bounds one object's share of the statement (a selection may name a field under many aliases).
MAX_KEYS_PER_OBJECT = 50
# PostgreSQL's FUNC_MAX_ARGS.
MAX_FUNCTION_ARGS = 100
# Where a composed schema keeps the SQL mapping of a field added to a type (`GraphQLField.extensions`).
SQL_EXTENSION = "saas_sql"
# A nested page's size when the request gives none or `first` is null (as `page_size`).
DEFAULT_NESTED_MAXIMUM = 100


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
    # The caller's visibility of the target rows, `visible(principal, alias)` (e.g. a rep's own
    # opportunities); None when every target row of a visible parent is visible.
    visible: Callable[[Any, str], SqlCondition] | None = None
    limit: int | None = None  # a list's first `limit` rows in its order
    # The parent's column is a foreign key `(tenant_id, column)` to the target's `(tenant_id, id)`
    # (e.g. `activities.actor_id` to `memberships`): a non-null value always names a row of the
    # parent's tenant, which the tenant's row-level security shows. A selection of nothing but
    # the target's id (e.g. `owner { id }`) is then written from the parent's column, with no
    # lookup of the target (`_key_only_json`).
    foreign_key: bool = False

    def parent_key(self) -> tuple[str, str, str] | None:
        """How the rows group by their parent, when the join says so: (the target's key column, the
        parent's column it equals, the rest of the join, which names no parent column); None for a
        join that is not `{t}.<key> = {p}.<column>` [`AND` conditions on `{t}` alone]."""
        match = _KEYED_JOIN.fullmatch(self.join)
        if match is None or "{p}" in (match.group(3) or ""):
            return None
        return match.group(1), match.group(2), match.group(3) or ""


_KEYED_JOIN = re.compile(r"\{t\}\.(\w+) = \{p\}\.(\w+)(?: AND (.+))?", re.DOTALL)


@dataclass(frozen=True)
class PagedRelation:
    """A nested Relay connection with `first` and `after` (e.g. `Customer.timeline`): a keyset page
    of `target` rows per parent row, newest first or as `sort` says, with cursors, page info and
    `totalCount` (the rows of the parent, whatever the page).

    `rows(principal)` is the SQL of the rows the caller sees (a table name, or a parenthesised
    query with its column list after the alias placeholder `{t}`) and its parameters; a query names
    the tenant of each table it reads itself (the compiler sees no table in it), and `join`
    ties its rows (`{t}`) to the parent (`{p}`). The page, its cursors and `hasNextPage` are
    those of the resolver path over the same rows (`first + 1` rows fetched, `after` the cursor's
    key compared as a row value)."""

    target: Callable[[], SqlType]
    rows: Callable[[Any], tuple[str, dict[str, Any]]]
    join: str
    sort: SortKey
    # Narrows the rows by the field's other arguments (e.g. `Customer.tickets(filter:)`):
    # `where(principal, arguments, alias)`, a condition over the rows' alias. Its parameters are
    # renamed after the page (`:<page>_<name>`), so that they never meet the parent's.
    where: Callable[[Any, dict[str, Any], str], SqlCondition] | None = None
    # The rows as the parts of a `UNION ALL` (e.g. the timeline's sources): `parts(principal, alias)`
    # gives each in the form `rows` gives, under `alias` (`(SELECT …) AS <alias>(columns)`: no
    # placeholder to replace in long text on every request), and the parameters of all. A page then takes
    # the first `first + 1` rows of each part after the cursor, each part read in the page's order
    # from its own index (the parent's filter and the cursor inside it), and merges those, instead
    # of reading and sorting every row of every part. The same rows in the same order: the first
    # rows of a union are among the first rows of its parts. `rows` still counts `totalCount`.
    parts: Callable[[Any, str], tuple[list[str], dict[str, Any]]] | None = None


@dataclass(frozen=True)
class SqlType:
    """How one GraphQL object type maps to SQL: column expressions over the alias `{t}`."""

    name: str
    table: str
    columns: dict[str, str]
    # A nested object or list (`Relation`), or a nested page (`PagedRelation`, a field with
    # `first`/`after` of the type itself, e.g. `Ticket.comments`).
    relations: dict[str, Relation | PagedRelation] = field(default_factory=dict)
    interfaces: frozenset[str] = frozenset({"Node"})


Binding = Callable[["CompileState"], tuple[str, dict[str, Any]]]
"""Part of a statement that depends on the request: its SQL text and its parameters' values."""


@dataclass
class CompileState:
    """What one compilation reads (fragments, variables, the schema, the caller) and what it binds."""

    fragments: dict[str, Any]
    variables: VariableValues
    schema: Any = None  # the caller's GraphQLSchema: where fields added to a type keep their SQL
    viewer: Any = None  # the caller's Principal, for relations with visibility
    max_page_size: int = DEFAULT_NESTED_MAXIMUM
    aliases: int = 0
    bound: list[tuple[Binding, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    # While a root page's edges compile: the alias of its rows (the `page` CTE) and the grouped
    # relations joined to them (`_grouped_json`).
    page_alias: str | None = None
    page_joins: list[str] = field(default_factory=list)
    page_size: int | None = None  # the root page's size (`first`), written into the statement

    def new_alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def bind(self, binding: Binding) -> str:
        """The SQL text of `binding` for this request; its parameters join the statement's."""
        sql, params = _evaluate(binding, self)
        _merge_params(self.params, params)
        self.bound.append((binding, sql))
        return sql


def size_literal(size: int) -> str:
    """A page size as SQL text: a validated int (`relay.page_size`), never anything else.

    Page sizes are written into the statement, not bound: with `LIMIT $n` and `page_row <= $n`
    a generic plan (`saas/db/prepared.py` `plan_cache_mode`) estimates the page at a tenth of the
    tenant's rows and joins it by hash over the whole tenant (docs/performance.md, "Generic
    plans for the compiled reads"); with the number it plans a page of that many rows. A
    statement is then one per size, at most the maximum page size + 1 of them."""
    if type(size) is not int or size < 0:
        raise ValueError(f"a page size must be a non-negative int, not {size!r}")
    return str(size)


def _evaluate(binding: Binding, state: CompileState) -> tuple[str, dict[str, Any]]:
    """A binding's SQL and parameters; a refusal of the caller leaves the selection to the resolvers."""
    try:
        return binding(state)
    except ForbiddenError as refused:
        raise NotCompilable(f"refused: {refused}") from refused


def _merge_params(into: dict[str, Any], params: dict[str, Any]) -> None:
    """Parameters of one name must have one value in a statement (the rules reuse names such as
    `viewer_membership_id` for the same caller)."""
    for name, value in params.items():
        if name in into and into[name] != value:
            raise NotCompilable(f"parameter {name} bound twice with different values")
        into[name] = value


def state_from(info: GraphQLResolveInfo) -> CompileState:
    context = info.context
    principal = getattr(context, "principal", None)
    runtime = getattr(context, "runtime", None)
    maximum = runtime.settings.max_page_size if runtime is not None else DEFAULT_NESTED_MAXIMUM
    return CompileState(
        fragments=info.fragments,
        variables=info.variable_values,
        schema=info.schema,
        viewer=principal,
        max_page_size=maximum,
    )


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
    """A SQL value as JSON text: strings quoted and escaped, numbers, booleans, NULL as `null`.

    A global id or a date-time of a column (`plain_json_string_sql`) is quoted as it is
    (`json_string`): the same text, without `to_json`'s look-up of its argument's type per call."""
    if plain_json_string_sql(expression):
        return json_string(expression)
    return f"COALESCE(to_json({expression})::text, 'null')"


# Column mappings whose JSON the compiler writes without `to_json` (`_column_json`).
_BARE_COLUMN = re.compile(r"\{t\}\.(\w+)")
_NUMBER_TEXT = re.compile(r"\(\{t\}\.(\w+)\)::text")
_DATE_TEXT = re.compile(r"to_char\(\{t\}\.(\w+), 'YYYY-MM-DD'\)")


def _column_json(table: str, mapping: str, alias: str) -> str:
    """JSON text of one of a type's column mappings (`SqlType.columns`) over `alias`: `json_value`'s,
    without `to_json` where the column's declared type says what its text is. `to_json` looks up
    how to write its argument's type on every call (docs/performance.md, "The lists' per-row work"):

    - an integer column as it is (`{t}.year`): `int::text` is the number `to_json` writes;
    - a number's text (`({t}.premium)::text`, as the `Decimal` scalar's string) quoted: digits,
      `-`, `.`, `e`, `+`, `NaN`, `Infinity`, nothing JSON escapes;
    - a date's text (`to_char({t}.starts_on, 'YYYY-MM-DD')`) quoted: digits and `-`.

    Anything else, or a table or column the models do not declare, goes through `json_value`."""
    expression = mapping.format(t=alias)
    declared = Base.metadata.tables.get(table)
    if declared is None:
        return json_value(expression)
    for pattern, kinds in ((_BARE_COLUMN, Integer), (_NUMBER_TEXT, (Integer, Numeric)), (_DATE_TEXT, (Date, DateTime))):
        match = pattern.fullmatch(mapping)
        column = declared.columns.get(match.group(1)) if match is not None else None
        if column is not None and isinstance(column.type, kinds):
            return f"COALESCE({expression}::text, 'null')" if pattern is _BARE_COLUMN else json_string(expression)
    return json_value(expression)


def json_string(expression: str) -> str:
    """JSON text of a text expression that never needs escaping (no `"`, `\\` or control
    characters: a global id, a cursor, a date-time), NULL as `null`: `to_json`'s text."""
    return f"""COALESCE('"' || {expression} || '"', 'null')"""


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
    parts.append("'}'")
    if all(_not_null_text(part) for part in parts) and not any(_NESTED.search(part) for part in parts):
        return f"({' || '.join(parts)})"
    return _concat(parts)


# A subquery or an aggregate: an object holding one may be long (a list of rows), where a chain
# of `||` would copy its growing text again at each step.
_NESTED = re.compile(r"\bSELECT\b|\bstring_agg\(")
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NULL_CASE = re.compile(r"CASE WHEN \w+\.\w+ IS NULL THEN 'null' ELSE ", re.ASCII)


def _not_null_text(part: str) -> bool:
    """Whether `part` is text that is never NULL, as written by this module: a string literal, a
    value's JSON that falls back to `null` (`COALESCE(…, 'null')`: `json_value`, `json_string`,
    `_column_json`), an object of such parts (`('{…' || … || '}')`), or a to-one relation's object or `null` (`CASE WHEN <alias>.<column> IS NULL
    THEN 'null' ELSE <object> END`: `_key_only_json`, `_joined_json`), each one expression whose
    outer parentheses close at its end."""
    if _LITERAL.fullmatch(part):
        return True
    if part.startswith("('{") and _closes_at_end(part, 0):  # an object of such parts (`_json_object`)
        return True
    if part.startswith("COALESCE(") and part.endswith(", 'null')"):
        return _closes_at_end(part, len("COALESCE"))
    case = _NULL_CASE.match(part)
    if case is not None and part.endswith(" END"):
        inner = part[case.end() : -len(" END")]
        return _closes_at_end(f"({inner})", 0) and (
            inner == "'{}'" or (inner.startswith("(") and _closes_at_end(inner, 0)) or inner.startswith("concat(")
        )
    return False


def _closes_at_end(sql: str, opening: int) -> bool:
    """Whether the parenthesis at `opening` closes at the last character (string literals skipped)."""
    depth, index = 0, opening
    while index < len(sql):
        char = sql[index]
        if char == "'":
            index = sql.index("'", index + 1)
            while sql.startswith("''", index):  # an escaped quote inside the literal
                index = sql.index("'", index + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(sql) - 1
        index += 1
    return False


def _concat(parts: list[str]) -> str:
    """`concat(…)` of text expressions: one call per object, which skips a NULL part and does not
    copy the text it has built at each part. A function takes at most 100 arguments.

    An object of scalar parts never NULL (`_json_object`) is a chain of `||` instead: PostgreSQL
    15's `concat` looks up each argument's output function on every call, which costs more than
    a short object's copies (docs/performance.md, "The compiled reads' instructions in
    PostgreSQL")."""
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
            pairs.append((key, _column_json(sql_type.table, sql_type.columns[name], alias)))
        elif name in sql_type.relations:
            relation = sql_type.relations[name]
            if isinstance(relation, PagedRelation):
                if state.schema is None:  # its arguments are read from the field's definition
                    raise NotCompilable(f"{sql_type.name}.{name}")
                field_def = state.schema.type_map[sql_type.name].fields[name]
                pairs.append((key, _paged_json(relation, alias, nodes, field_def, state)))
            else:
                pairs.append((key, _relation_json(relation, alias, merged_selection(nodes), state)))
        else:
            pairs.append((key, _added_field_json(sql_type, nodes, alias, state)))
    return _json_object(pairs)


def added_field_sql(schema: Any, type_name: str, field_name: str) -> str | Relation | PagedRelation | None:
    """The SQL mapping of a field a contribution added to `type_name` in this schema, if it has one."""
    graphql_type = schema.type_map.get(type_name) if schema is not None else None
    graphql_field = getattr(graphql_type, "fields", {}).get(field_name)
    extensions = graphql_field.extensions if graphql_field is not None else None
    return (extensions or {}).get(SQL_EXTENSION)


def _added_field_json(sql_type: SqlType, nodes: list[FieldNode], alias: str, state: CompileState) -> str:
    name = nodes[0].name.value
    mapping = added_field_sql(state.schema, sql_type.name, name)
    if mapping is None:
        raise NotCompilable(f"{sql_type.name}.{name}")
    if isinstance(mapping, str):
        return json_value(mapping.format(t=alias))
    if isinstance(mapping, Relation):
        return _relation_json(mapping, alias, merged_selection(nodes), state)
    field_def = state.schema.type_map[sql_type.name].fields[name]
    return _paged_json(mapping, alias, nodes, field_def, state)


def tenant_where(alias: str, condition: SqlCondition) -> str:
    """The WHERE of a table the compiler reads: the tenant predicate, then the domain's condition.

    The caller binds `TENANT_PARAM` (`fetch_json` does, from the tenant it sets)."""
    return f"{tenant_predicate(alias)} AND {condition.sql}"


def _relation_json(relation: Relation, parent: str, selection_set: SelectionSetNode, state: CompileState) -> str:
    key_only = _key_only_json(relation, parent, selection_set, state)
    if key_only is not None:
        return key_only
    target = relation.target()
    alias = state.new_alias()
    inner = object_json(target, alias, selection_set, state)
    keyed = relation.parent_key()
    if (
        parent == state.page_alias
        and keyed is not None
        and relation.order is not None
        and relation.limit is None
        and relation.through is None
    ):
        return _grouped_json(relation, relation.order, keyed, parent, alias, inner, state)
    if (
        parent == state.page_alias
        and keyed is not None
        and keyed[0] == "id"
        and relation.order is None
        and relation.through is None
    ):
        return _joined_json(relation, parent, alias, inner, state)
    join = f"{tenant_predicate(alias)} AND {relation.join.format(p=parent, t=alias)}"
    if relation.through is not None:
        link, through = state.new_alias(), relation.through
        join += (
            f" AND {alias}.id IN (SELECT {link}.{through.key} FROM {through.table} {link}"
            f" WHERE {tenant_predicate(link)} AND {through.join.format(p=parent, l=link)})"
        )
    if relation.visible is not None:
        visible = relation.visible
        join += " AND " + state.bind(lambda s: _condition_binding(visible(s.viewer, alias)))
    if relation.order is None:
        return f"COALESCE((SELECT {inner} FROM {relation.table} {alias} WHERE {join}), 'null')"
    order = relation.order.format(t=alias)
    if relation.limit is not None:
        rows = f"(SELECT * FROM {relation.table} {alias} WHERE {join} ORDER BY {order} LIMIT {int(relation.limit)}) {alias}"
        return _json_array(inner, order, f"FROM {rows}")
    return _json_array(inner, order, f"FROM {relation.table} {alias} WHERE {join}")


_TARGET_COLUMN = re.compile(r"\{t\}(\.\w+)?")


def _key_only_json(relation: Relation, parent: str, selection_set: SelectionSetNode, state: CompileState) -> str | None:
    """A to-one relation by a foreign key whose selection reads nothing of the target but its id
    (and `__typename`): the JSON written from the parent's column, `null` when it is null, the
    same text as the lookup's (`{t}.id` is the column's value, and the key guarantees the row).
    None when the relation or the selection needs the target's row.

    A lookup per parent row costs an index or table scan each (the customer 360 makes 66 of
    them for `owner`, `actor`, `changedBy` and `assignee`): docs/performance.md, "The customer
    360's statement"."""
    keyed = relation.parent_key()
    if (
        not relation.foreign_key
        or relation.order is not None
        or relation.through is not None
        or relation.visible is not None
        or keyed is None
        or keyed[0] != "id"
        or keyed[2]
    ):
        return None
    target = relation.target()
    for nodes in collect(selection_set, target.name, state, target.interfaces).values():
        name = nodes[0].name.value
        if name == "__typename":
            continue
        mapping = target.columns.get(name)
        if mapping is None or any(match.group(1) != ".id" for match in _TARGET_COLUMN.finditer(mapping)):
            return None
    alias = state.new_alias()
    column = f"{parent}.{keyed[1]}"
    inner = re.sub(rf"\b{alias}\.id\b", column, object_json(target, alias, selection_set, state))
    return f"CASE WHEN {column} IS NULL THEN 'null' ELSE {inner} END"


def _grouped_json(
    relation: Relation,
    order_sql: str,
    keyed: tuple[str, str, str],
    parent: str,
    alias: str,
    inner: str,
    state: CompileState,
) -> str:
    """A list relation of a root page's rows as one grouped aggregate joined to the page: the
    target rows of every parent on the page, read in one pass and grouped by the parent key,
    instead of one correlated subquery (one index scan and one aggregate) per parent row. The
    JSON of each list is the same text, in the same order, as `_relation_json`'s correlated form
    (`[]` for a parent without rows). PostgreSQL executes the customers page's contacts this
    way at the same cost as the correlated form on the benchmark's data (docs/performance.md,
    "The contacts on the customers page"); it pays where the lookup per parent is dear."""
    key, parent_column, rest = keyed
    group, page = state.new_alias(), state.new_alias()
    order = order_sql.format(t=alias)
    where = f"{tenant_predicate(alias)} AND {alias}.{key} IN (SELECT {page}.{parent_column} FROM page {page} WHERE {page}.page_row <= {_root_size(state)})"
    if rest:
        where += f" AND {rest.format(t=alias)}"
    if relation.visible is not None:
        visible = relation.visible
        where += " AND " + state.bind(lambda s: _condition_binding(visible(s.viewer, alias)))
    state.page_joins.append(
        f"LEFT JOIN (SELECT {alias}.{key} AS parent_key, '[' || string_agg({inner}, ',' ORDER BY {order}) || ']' AS list"
        f" FROM {relation.table} {alias} WHERE {where} GROUP BY {alias}.{key}) {group}"
        f" ON {group}.parent_key = {parent}.{parent_column}"
    )
    return f"COALESCE({group}.list, '[]')"


def _root_size(state: CompileState) -> str:
    if state.page_size is None:  # pragma: no cover - set by `_edges_json` with `page_alias`
        raise NotCompilable("a page's relation outside a page")
    return size_literal(state.page_size)


def _joined_json(relation: Relation, parent: str, alias: str, inner: str, state: CompileState) -> str:
    """A to-one relation of a root page's rows by the target's id (e.g. a lead's `channel`) as a
    `LEFT JOIN LATERAL` of the target to the page, instead of a correlated subquery per row: the
    same text, `null` when no visible row of the target matches (the join's condition is the
    subquery's: tenant, key and the caller's visibility). The target's `(tenant_id, id)` is its
    primary key, so at most one row joins each page row and the edges stay one per row. It
    saves the subquery's start per row, about a tenth of the leads list's statement
    (docs/performance.md, "The lists' statements").

    Lateral, with `LIMIT 1` (which keeps PostgreSQL from flattening it into a plain join): one
    look-up by primary key per page row, whatever the plan. A plain join let a generic plan
    (`saas/db/prepared.py` `plan_cache_mode`), which estimates the tenant's rows as the average
    tenant's, hash the whole tenant's customers for a page of 50 opportunities: 40 ms instead
    of 1 on bench-big (docs/performance.md, "Generic plans for the compiled reads")."""
    condition = f"{tenant_predicate(alias)} AND {relation.join.format(p=parent, t=alias)}"
    if relation.visible is not None:
        visible = relation.visible
        condition += " AND " + state.bind(lambda s: _condition_binding(visible(s.viewer, alias)))
    columns = _joined_columns(relation.table, alias, inner)
    state.page_joins.append(
        f"LEFT JOIN LATERAL (SELECT {columns} FROM {relation.table} {alias} WHERE {condition} LIMIT 1) {alias} ON true"
    )
    return f"CASE WHEN {alias}.id IS NULL THEN 'null' ELSE {inner} END"


def _joined_columns(table: str, alias: str, inner: str) -> str:
    """The select list of a joined to-one relation's row (`_joined_json`): its `id` and the columns
    of `table` that `inner` reads (`<alias>.<column>`), not `*`: the lateral row is formed for each
    page row, and a customer's whole row (its text and jsonb columns) cost about a tenth of the
    tickets list's statement (docs/performance.md, "The lists' per-row work"). `*` when `inner`
    names the alias otherwise (a whole-row reference) or the models do not declare the table."""
    declared = Base.metadata.tables.get(table)
    if declared is None or re.search(rf'(?<![\w."]){alias}\b(?!\.(?:\w+|"\w+"))', inner):
        return "*"
    read = {"id"} | {name.strip('"') for name in re.findall(rf'(?<![\w."]){alias}\.(\w+|"\w+")', inner)}
    if not read <= set(declared.columns.keys()):
        return "*"
    return ", ".join(f'{alias}."{column.name}"' for column in declared.columns if column.name in read)


def _condition_binding(condition: SqlCondition) -> tuple[str, dict[str, Any]]:
    return condition.sql, condition.params


def _paged_json(
    relation: PagedRelation, parent: str, nodes: list[FieldNode], field_def: Any, state: CompileState
) -> str:
    """One parent row's page of a nested connection: a correlated subquery that aggregates the page
    (`first + 1` rows, numbered) into the connection's JSON; edges stop at `first`, the extra row
    answers `hasNextPage`."""
    target, sort = relation.target(), relation.sort
    rows_alias, page = state.new_alias(), state.new_alias()
    prefix = page  # the page's parameters: `:<page>_after_0`, …, `:<page>_has_previous`

    def arguments(s: CompileState) -> tuple[str, dict[str, Any]]:
        """The page's size as its SQL text (a literal: another size is another statement), the
        cursor's key and whether one was given as parameters."""
        values = get_argument_values(field_def, nodes[0], s.variables)
        first, after = values.get("first"), values.get("after")
        limit = page_size(first, s.max_page_size)  # the checks and messages of a root page
        params: dict[str, Any] = {f"{prefix}_has_previous": after is not None}
        key = decode_cursor(after, sort.cursor_casts) if after is not None else [None] * len(sort.cursor_casts)
        params.update({f"{prefix}_after_{i}": value for i, value in enumerate(key)})
        return size_literal(limit), params

    def rows(s: CompileState) -> tuple[str, dict[str, Any]]:
        sql, params = relation.rows(s.viewer)
        return sql.replace("{t}", rows_alias), params

    first = state.bind(arguments)
    limit = size_literal(int(first) + 1)
    narrowed = ""
    if relation.where is not None:
        where = relation.where

        def narrowing(s: CompileState) -> tuple[str, dict[str, Any]]:
            values = get_argument_values(field_def, nodes[0], s.variables)
            return _renamed(where(s.viewer, values, rows_alias), prefix)

        narrowed = f" AND {state.bind(narrowing)}"
    after = sort.after_sql(rows_alias, prefix=f"{prefix}_")
    no_after = f"CAST(:{prefix}_after_0 AS {sort.cursor_casts[0]}) IS NULL"
    order = sort.order_sql(rows_alias)
    join = relation.join.format(t=rows_alias, p=parent)
    bounds = f"WHERE {join}{narrowed} AND ({no_after} OR {after}) ORDER BY {order} LIMIT {limit}"
    source = ""
    if relation.parts is None:
        source = state.bind(rows)
        page_from = f"{source} {bounds}"
    else:
        each_part = relation.parts

        def part_pages(s: CompileState) -> tuple[str, dict[str, Any]]:
            parts, params = each_part(s.viewer, rows_alias)
            return " UNION ALL ".join([f"(SELECT * FROM {part} {bounds})" for part in parts]), params

        page_from = f"({state.bind(part_pages)}) {rows_alias} ORDER BY {order} LIMIT {limit}"
    # Each row's cursor is written once, in the page (`page_cursor`), and only when a field reads
    # it: the edges' `cursor` and the page info's start and end cursors take that column.
    cursor = f"{page}.page_cursor"
    on_page = f"{page}.page_row <= {first}"
    pairs: list[tuple[str, str]] = []
    connection_name = f"{target.name}Connection"
    for key, field_nodes in collect(merged_selection(nodes), connection_name, state).items():
        name, inner = field_nodes[0].name.value, merged_selection(field_nodes)
        if name == "__typename":
            pairs.append((key, _typename(connection_name)))
        elif name == "edges":
            edge = _edge_object(target, page, inner, state, cursor)
            edges = f"'[' || string_agg({edge}, ',' ORDER BY {page}.page_row) FILTER (WHERE {on_page}) || ']'"
            pairs.append((key, f"COALESCE({edges}, '[]')"))
        elif name == "pageInfo":
            expressions = {
                "hasNextPage": f"(count(*) > {first})",
                "hasPreviousPage": f":{prefix}_has_previous",
                "startCursor": f"(array_agg({cursor} ORDER BY {page}.page_row) FILTER (WHERE {on_page}))[1]",
                "endCursor": f"(array_agg({cursor} ORDER BY {page}.page_row DESC) FILTER (WHERE {on_page}))[1]",
            }
            info_pairs = [
                (
                    k,
                    _typename("PageInfo")
                    if n[0].name.value == "__typename"
                    else _page_info_value(n[0].name.value, expressions[n[0].name.value]),
                )
                for k, n in collect(inner, "PageInfo", state).items()
            ]
            pairs.append((key, _json_object(info_pairs)))
        elif name == "totalCount":
            if not source:
                source = state.bind(rows)
            pairs.append((key, json_value(f"(SELECT count(*) FROM {source} WHERE {join}{narrowed})")))
        else:
            raise NotCompilable(name)
    connection = _json_object(pairs)
    reads_cursor = re.search(rf"\b{re.escape(cursor)}\b", connection) is not None
    written = f", {sort.cursor_sql(rows_alias)} AS page_cursor" if reads_cursor else ""
    page_sql = f"SELECT {rows_alias}.*, row_number() OVER (ORDER BY {order}) AS page_row{written} FROM {page_from}"
    # One row whatever is selected: `GROUP BY ()` aggregates the page even when no member does
    # (e.g. `totalCount` alone), as the edges' and page info's aggregates would.
    return f"(SELECT {connection} FROM ({page_sql}) {page} GROUP BY ())"


def _renamed(condition: SqlCondition, prefix: str) -> tuple[str, dict[str, Any]]:
    """The condition's SQL and parameters with each parameter `:name` renamed `:<prefix>_name`
    (a cast `::type` is not a parameter)."""
    sql = condition.sql
    for name in sorted(condition.params, key=len, reverse=True):
        sql = re.sub(rf"(?<![:\w]):{re.escape(name)}\b", f":{prefix}_{name}", sql)
    return sql, {f"{prefix}_{name}": value for name, value in condition.params.items()}


def _edge_object(target: SqlType, page: str, selection: SelectionSetNode, state: CompileState, cursor: str) -> str:
    pairs: list[tuple[str, str]] = []
    for key, nodes in collect(selection, f"{target.name}Edge", state).items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, _typename(f"{target.name}Edge")))
        elif name == "cursor":
            pairs.append((key, json_string(cursor)))
        elif name == "node":
            pairs.append((key, object_json(target, page, merged_selection(nodes), state)))
        else:
            raise NotCompilable(name)
    return _json_object(pairs)


@dataclass(frozen=True)
class SortKey:
    """A keyset order: the columns (ending with a unique one) and their direction.

    A cursor holds the row's values of the columns, unless `cursor_table` is set: then it names
    the row (`[id]`, a row of that table) and the page continues after that row's values, read in
    the same statement. That is for an order on a sequence every tenant shares (a ledger's
    `seq`), which a cursor must not reveal; a cursor naming a row the tenant cannot see gives an
    empty page."""

    columns: tuple[str, ...]
    casts: tuple[str, ...]
    descending: bool
    cursor_table: str | None = None

    @property
    def cursor_casts(self) -> tuple[str, ...]:
        """The types of the cursor's values, in its order."""
        return ("uuid",) if self.cursor_table is not None else self.casts

    def cursor_values(self, row: Any) -> list[Any]:
        """A row's cursor values (the resolver path's cursor)."""
        if self.cursor_table is not None:
            return [row.id]
        return [getattr(row, c) for c in self.columns]

    def order_sql(self, alias: str) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{alias}.{c}{direction}" for c in self.columns)

    def after_sql(self, alias: str, prefix: str = "") -> str:
        """The rows after the cursor's key, bound as `:<prefix>after_0`, `:<prefix>after_1`, …"""
        op = "<" if self.descending else ">"
        left = ", ".join(f"{alias}.{c}" for c in self.columns)
        if self.cursor_table is not None:
            named = f"{alias}_cursor"
            values = ", ".join(f"{named}.{c}" for c in self.columns)
            return (
                f"({left}) {op} (SELECT {values} FROM {self.cursor_table} {named}"
                f" WHERE {tenant_predicate(named)} AND {named}.id = CAST(:{prefix}after_0 AS uuid))"
            )
        right = ", ".join(f"CAST(:{prefix}after_{i} AS {cast})" for i, cast in enumerate(self.casts))
        return f"({left}) {op} ({right})"

    def cursor_sql(self, alias: str) -> str:
        if self.cursor_table is not None:
            return cursor_sql([(f"{alias}.id", "uuid")])
        return cursor_sql(
            [
                (iso_datetime_sql(f"{alias}.{c}") if cast == "timestamptz" else f"{alias}.{c}", cast)
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
    counts: dict[str, SqlCondition] | None = None,
    *,
    size: int,
) -> str:
    """One statement for a Relay connection: the page of `size` rows (`relay.page_size`, written
    into the statement: `size_literal`), its cursors, page info and total count (and `counts`:
    other count fields of the connection, each the rows meeting its condition, e.g. the
    notifications' `unreadCount`)."""
    first = size_literal(size)
    where = tenant_where("r", condition) + (f" AND {sort.after_sql('r')}" if has_after else "")
    counts = counts or {}
    pairs: list[tuple[str, str]] = []
    for key, nodes in collect(selection_set, f"{sql_type.name}Connection", state).items():
        name = nodes[0].name.value
        inner = merged_selection(nodes)
        if name == "__typename":
            pairs.append((key, _typename(f"{sql_type.name}Connection")))
        elif name == "edges":
            pairs.append((key, _edges_json(sql_type, inner, state, sort, size)))
        elif name == "pageInfo":
            pairs.append((key, _page_info_json(inner, state, sort, first)))
        elif name == "totalCount":
            pairs.append(
                (key, json_value(f"(SELECT count(*) FROM {sql_type.table} r WHERE {tenant_where('r', condition)})"))
            )
        elif name in counts:
            where_counted = tenant_where("r", counts[name])
            pairs.append((key, json_value(f"(SELECT count(*) FROM {sql_type.table} r WHERE {where_counted})")))
        else:
            raise NotCompilable(name)
    body, datetimes = _page_datetimes(_json_object(pairs), sort)
    page = (
        f"SELECT {_page_columns(sql_type.table, body, sort)}{datetimes}, row_number() OVER (ORDER BY {sort.order_sql('r')}) AS page_row "
        f"FROM {sql_type.table} r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT {size_literal(size + 1)}"
    )
    return f"WITH page AS MATERIALIZED ({page}) SELECT {body}"


_PAGE_READER = re.compile(r"\bFROM page (\w+)")


def _page_datetimes(body: str, sort: SortKey) -> tuple[str, str]:
    """`body` with each date-time sort column's text (`iso_datetime_sql` of `e.<column>`) read
    from the page (`e.page_iso_<column>`), and the page's select list items that write it once
    per row; `body` and "" when no such text is written more than twice.

    A row's date-time text is written by its edge's cursor, its node's field (`createdAt`) and
    the page info's cursors; `to_char` is dear (about 4,000 instructions a call), and the page
    (alias `e` in the edges and the page info, `_edges_json`, `_page_info_json`) writes it once
    instead: the same text, about 4 % of the tickets list's instructions in PostgreSQL
    (docs/performance.md, "The compiled reads' instructions in PostgreSQL"). Twice (the cursors
    only) is left: a page of `first + 1` rows would write as many as the edges did."""
    datetimes = ""
    for column, cast in zip(sort.columns, sort.casts, strict=True):
        text = iso_datetime_sql(f"e.{column}")
        if cast == "timestamptz" and body.count(text) > 2:
            body = body.replace(text, f"e.page_iso_{column}")
            datetimes += f", {iso_datetime_sql(f'r.{column}')} AS page_iso_{column}"
    return body, datetimes


def _page_columns(table: str, body: str, sort: SortKey) -> str:
    """The select list of a root page's rows (`page`): the columns of `table` that `body` reads
    from them (`<alias>.<column>` of each alias `FROM page <alias>`) and the sort key's.

    The page is materialised: storing each row whole (`r.*`, every text and jsonb column) cost
    about a tenth of a list's statement (docs/performance.md, "The lists' statements"). A name
    that is no column of the table (another alias of the same letters elsewhere in the
    statement) is left out; a table the models do not declare keeps `r.*`."""
    declared = Base.metadata.tables.get(table)
    if declared is None:
        return "r.*"
    read = set(sort.columns)
    for alias in set(_PAGE_READER.findall(body)):
        read.update(name.strip('"') for name in re.findall(rf'(?<![\w."]){alias}\.(\w+|"\w+")', body))
    return ", ".join(f'r."{column.name}"' for column in declared.columns if column.name in read)


def _edges_json(
    sql_type: SqlType, selection_set: SelectionSetNode, state: CompileState, sort: SortKey, size: int
) -> str:
    """The page's edges; the list relations of its nodes are joined to the page grouped by
    parent (`_grouped_json`), the others are correlated subqueries per row."""
    outer = state.page_alias, state.page_joins, state.page_size
    state.page_alias, state.page_joins, state.page_size = "e", [], size
    try:
        edge = _edge_object(sql_type, "e", selection_set, state, sort.cursor_sql("e"))
        joins = "".join(f" {join}" for join in state.page_joins)
    finally:
        state.page_alias, state.page_joins, state.page_size = outer
    return _json_array(edge, "e.page_row", f"FROM page e{joins} WHERE e.page_row <= {size_literal(size)}")


def _page_info_json(selection_set: SelectionSetNode, state: CompileState, sort: SortKey, first: str) -> str:
    last_row = f"(SELECT LEAST(count(*), {first}) FROM page)"
    expressions = {
        "hasNextPage": f"((SELECT count(*) FROM page) > {first})",
        "hasPreviousPage": ":has_previous",
        "startCursor": f"(SELECT {sort.cursor_sql('e')} FROM page e WHERE e.page_row = 1 AND {first} > 0)",
        "endCursor": f"(SELECT {sort.cursor_sql('e')} FROM page e WHERE e.page_row = {last_row})",
    }
    return _page_info_object(selection_set, state, expressions)


def _page_info_object(selection_set: SelectionSetNode, state: CompileState, expressions: dict[str, str]) -> str:
    """`PageInfo` from the SQL of each of its fields."""
    pairs = []
    for key, nodes in collect(selection_set, "PageInfo", state).items():
        name = nodes[0].name.value
        pairs.append(
            (key, _typename("PageInfo") if name == "__typename" else _page_info_value(name, expressions[name]))
        )
    return _json_object(pairs)


def _page_info_value(name: str, expression: str) -> str:
    """A `PageInfo` field's JSON: a cursor (base64 or NULL) quoted as it is."""
    return json_string(expression) if name in ("startCursor", "endCursor") else json_value(expression)


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


@dataclass(frozen=True)
class Compiled:
    """A compiled statement (psycopg2 placeholders) and the bindings it was compiled with."""

    sql: str
    bound: tuple[tuple[Binding, str], ...]

    def params_for(self, state: CompileState) -> dict[str, Any] | None:
        """The bindings' parameters for this request; None when one of them now writes other SQL
        (another kind of caller), so that the statement must be compiled for this request."""
        params: dict[str, Any] = {}
        for binding, sql in self.bound:
            now, values = _evaluate(binding, state)
            if now != sql:
                return None
            _merge_params(params, values)
        return params


class CompiledCache:
    """Compiled statements by (document text, field path, condition shape, order, paging, the
    root page's size).

    One key holds up to `max_variants` statements, newest first: those its bindings wrote for
    different requests (a nested page's size, which its `first` variable may change, written into
    the statement by `_paged_json`; a rep's visibility and an owner's), so that requests
    alternating between them each reuse theirs instead of compiling again."""

    def __init__(self, max_entries: int = 2048, max_variants: int = 8) -> None:
        self.max_entries = max_entries
        self.max_variants = max_variants
        self.entries: dict[tuple[Any, ...], list[Compiled]] = {}

    def get(self, key: tuple[Any, ...]) -> list[Compiled]:
        return self.entries.get(key) or []

    def put(self, key: tuple[Any, ...], compiled: Compiled) -> None:
        variants = self.entries.get(key)
        if variants is None:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[key] = [compiled]
            return
        variants.insert(0, compiled)
        del variants[self.max_variants :]


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


def compile_read(
    info: GraphQLResolveInfo, shape: tuple[Any, ...], build: Callable[[CompileState], str]
) -> tuple[str, dict[str, Any]]:
    """The statement of the field `info` resolves, and the parameters its bindings give this request.

    `build(state)` compiles it (raising `NotCompilable` for a selection it cannot); `shape` is what,
    besides the document and the field's path, changes the statement (the condition's SQL parts,
    the order, whether `after` was given, a root page's size). The caller adds its own condition's parameters.
    """
    state = state_from(info)
    key = cache_key(info, *shape)
    for cached in COMPILED.get(key) if key is not None else ():
        params = cached.params_for(state)
        if params is not None:
            return cached.sql, params
    compiled = Compiled(to_pyformat(build(state)), tuple(state.bound))
    if key is not None:
        COMPILED.put(key, compiled)
    return compiled.sql, state.params
