"""Bounds on what one GraphQL document may cost before it runs.

Three stages, each bounding the next: parsing stops at `max_tokens` lexical tokens (and as many
comments), so a parsed document is small; `check_selections` then counts its selections in one
pass over the tree, before validation, whose overlapping-fields rule compares selections
pairwise and is the expensive part; last, validation rules refuse documents too deep or with
too many aliases. Every refusal carries `QUERY_TOO_COMPLEX`.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from graphql.validation import ASTValidationContext, ASTValidationRule

from saas.errors import ErrorCode

# Root fields an anonymous caller can use; anything else answers UNAUTHENTICATED anyway.
ANONYMOUS_ROOT_FIELDS = frozenset({"login", "__schema", "__type", "__typename"})


def _too_complex(message: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


def parse_bounded(query: str, max_tokens: int) -> DocumentNode:
    """Parse, giving up after `max_tokens` tokens or comments: parsing costs at most that much.

    Raises GraphQLError: a syntax error (GRAPHQL_PARSE_FAILED), or QUERY_TOO_COMPLEX for a
    document over the limits (graphql-core ends those messages with "Parsing aborted.").
    """
    try:
        return parse(query, max_lexical_tokens=max_tokens, max_comments=max_tokens)
    except GraphQLError as error:
        if error.message.endswith("Parsing aborted."):
            raise _too_complex(
                f"The document has more than {max_tokens} tokens or comments, or is nested too deeply"
            ) from None
        raise


def count_selections(document: DocumentNode) -> int:
    """Fields, fragment spreads and inline fragments written in the document (fragments once each)."""
    count = 0
    pending: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, ExecutableDefinitionNode)
    ]
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections:
            count += 1
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                pending.append(inner)
    return count


def check_selections(document: DocumentNode, max_selections: int) -> None:
    """Refuse a document with more than `max_selections` selections, before validating it.

    Validation time grows with the square of the selections that share a name (7,500 copies
    of one field took 2 s); with at most `max_selections` of them it stays small.
    """
    count = count_selections(document)
    if count > max_selections:
        raise _too_complex(f"The document has {count} selections; the limit is {max_selections}")


def only_anonymous_fields(document: DocumentNode) -> bool:
    """Every operation selects only `login` and introspection at its root (no fragments there)."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation == OperationType.SUBSCRIPTION:
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in ANONYMOUS_ROOT_FIELDS:
                return False
    return True


def _measure(
    selection_set: SelectionSetNode | None,
    context: ASTValidationContext,
    depth: int,
    seen: frozenset[str],
    fragments: dict[str, tuple[int, int]],
) -> tuple[int, int]:
    """(deepest field depth, number of aliases) below a selection set, following fragments.

    A fragment is measured once (from depth 0) and remembered in `fragments`: its depth adds
    to where it is spread, and fragments spreading fragments many times cost one walk each
    instead of a walk per path (20 spreads over 7 levels would be 20**7 walks)."""
    if selection_set is None:
        return depth, 0
    deepest, aliases = depth, 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.alias is not None:
                aliases += 1
            if selection.name.value.startswith("__"):
                continue
            child_depth, child_aliases = _measure(selection.selection_set, context, depth + 1, seen, fragments)
        elif isinstance(selection, InlineFragmentNode):
            child_depth, child_aliases = _measure(selection.selection_set, context, depth, seen, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in seen:
                continue
            if name not in fragments:
                fragments[name] = _measure(fragment.selection_set, context, 0, seen | {name}, fragments)
            relative_depth, child_aliases = fragments[name]
            child_depth = depth + relative_depth
        else:  # pragma: no cover
            continue
        deepest, aliases = max(deepest, child_depth), aliases + child_aliases
    return deepest, aliases


def limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    class QueryLimits(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth, aliases = _measure(node.selection_set, self.context, 0, frozenset(), {})
            if depth > max_depth:
                self.report_error(_too_complex(f"Query depth {depth} exceeds the limit of {max_depth}", node))
            if aliases > max_aliases:
                self.report_error(_too_complex(f"{aliases} aliases exceed the limit of {max_aliases}", node))

    return [QueryLimits]
