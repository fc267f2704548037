"""Validation rules that bound a query's depth and aliases before it runs."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationContext, ASTValidationRule

from saas.errors import ErrorCode


def _too_complex(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


def _measure(
    selection_set: SelectionSetNode | None, context: ASTValidationContext, depth: int, seen: frozenset[str]
) -> tuple[int, int]:
    """(deepest field depth, number of aliases) below a selection set, following fragments once."""
    if selection_set is None:
        return depth, 0
    deepest, aliases = depth, 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.alias is not None:
                aliases += 1
            if selection.name.value.startswith("__"):
                continue
            child_depth, child_aliases = _measure(selection.selection_set, context, depth + 1, seen)
        elif isinstance(selection, InlineFragmentNode):
            child_depth, child_aliases = _measure(selection.selection_set, context, depth, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in seen:
                continue
            child_depth, child_aliases = _measure(fragment.selection_set, context, depth, seen | {name})
        else:  # pragma: no cover
            continue
        deepest, aliases = max(deepest, child_depth), aliases + child_aliases
    return deepest, aliases


def limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    class QueryLimits(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth, aliases = _measure(node.selection_set, self.context, 0, frozenset())
            if depth > max_depth:
                self.report_error(_too_complex(f"Query depth {depth} exceeds the limit of {max_depth}", node))
            if aliases > max_aliases:
                self.report_error(_too_complex(f"{aliases} aliases exceed the limit of {max_aliases}", node))

    return [QueryLimits]
