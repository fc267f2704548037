"""One check of every string a request carries: none may contain NUL, which PostgreSQL cannot store.

`nul_errors` runs before execution over the operation that will run: every argument of every
field and directive, fragments followed, and variables followed into their values (object keys
included). It looks at values, not at types, so the fields of core and plugins alike, `String`,
`ID` and custom scalars such as `JSON`, are covered without a plugin doing anything. A request
with a NUL is refused as a whole with `BAD_USER_INPUT`, the argument named in
`extensions.field`, and nothing runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)

from saas.errors import ErrorCode

NUL = "\x00"
# Enough to fix a request; a list of a thousand NULs does not need a thousand errors.
MAX_REPORTED = 10

Path = list[str | int]


class _Search:
    def __init__(self, operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        self.defaults = {d.variable.name.value: d.default_value for d in operation.variable_definitions or ()}
        self.errors: list[dict[str, Any]] = []
        self.reported: set[tuple[str, ...]] = set()

    def report(self, where: str, path: Path, node: Node) -> None:
        key = (where, *map(str, path))
        if key in self.reported or len(self.errors) >= MAX_REPORTED:
            return
        self.reported.add(key)
        dotted = ".".join(map(str, path))
        error = GraphQLError(
            f"{dotted} of {where} must not contain the NUL character (\\u0000)",
            node,
            extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": path},
        )
        self.errors.append(dict(error.formatted))

    def arguments(self, where: str, node: FieldNode | DirectiveNode) -> None:
        for argument in node.arguments or ():
            self.literal(argument.value, [argument.name.value], where, argument)

    def literal(self, value: ValueNode | None, path: Path, where: str, node: Node) -> None:
        if isinstance(value, StringValueNode):
            if NUL in value.value:
                self.report(where, path, node)
        elif isinstance(value, ListValueNode):
            for index, item in enumerate(value.values):
                self.literal(item, [*path, index], where, node)
        elif isinstance(value, ObjectValueNode):
            for field in value.fields:
                self.literal(field.value, [*path, field.name.value], where, node)
        elif isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                self.variable(self.variables[name], path, where, node)
            else:
                self.literal(self.defaults.get(name), path, where, node)

    def variable(self, value: Any, path: Path, where: str, node: Node) -> None:
        """A variable's JSON value, walked without recursion (it may be nested deeply)."""
        pending: list[tuple[Any, Path]] = [(value, path)]
        while pending:
            item, at = pending.pop()
            if isinstance(item, str):
                if NUL in item:
                    self.report(where, at, node)
            elif isinstance(item, Mapping):
                for key, inner in item.items():
                    if NUL in str(key):
                        self.report(where, at, node)
                    pending.append((inner, [*at, str(key)]))
            elif isinstance(item, list):
                pending.extend((inner, [*at, index]) for index, inner in enumerate(item))


def nul_errors(
    document: DocumentNode, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The errors to answer instead of running `operation`; empty when no input holds a NUL."""
    if not _may_hold_nul(document, variables):
        return []
    search = _Search(operation, variables or {})
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    followed: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            for directive in selection.directives or ():
                search.arguments(f"@{directive.name.value}", directive)
            if isinstance(selection, FieldNode):
                search.arguments(selection.name.value, selection)
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in followed and name in fragments:
                    followed.add(name)
                    pending.append(fragments[name].selection_set)
    return search.errors


def _may_hold_nul(document: DocumentNode, variables: Mapping[str, Any] | None) -> bool:
    """False when no value of the request can hold a NUL, decided without walking the document.

    A GraphQL string holds a NUL only through an escape (`\\u0000` or `\\u{0}`: the source
    itself cannot hold the raw character), so a source without `\\u` and without a raw NUL has
    none; the variables, parsed from JSON, are searched in their JSON text, where orjson writes a
    NUL, in a key or a value, as the escape `\\u0000`. Either test may say "maybe"; the walk
    then decides."""
    source = document.loc.source.body if document.loc is not None else None
    if source is None or NUL in source or "\\u" in source:
        return True
    if not variables:
        return False
    try:
        return b"\\u0000" in orjson.dumps(variables)
    except (TypeError, orjson.JSONEncodeError):
        return True
