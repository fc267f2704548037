"""Query operations whose root fields answer compiled JSON, run without graphql-core's executor.

A compiled read (`saas/schema/compiled.py`, `saas/schema/nodes.py`) returns an `orjson.Fragment`:
the field's final JSON, which the executor passes through untouched (`PassthroughExecutor`). For an
operation made only of such fields the executor's work is bookkeeping around one resolver call per
root field. `FastPlan.of` decides once per prepared operation whether it can be run without it: a
query whose root selection is plain fields (no fragment, no directive on the operation or on a
root field, no `__typename` or introspection field at the root), each with a resolver, on a schema
without `@defer`/`@stream`. `run` then does what the executor would do for those fields, with the
same graphql-core functions: the variables coerced by `get_variable_values`, each field's
arguments by `get_argument_values`, the field's `GraphQLResolveInfo` built as
`Executor.build_resolve_info` builds it, the field's resolver (strawberry's, which converts the
arguments and checks permissions) called and awaited, fields one after another in selection order.

When every root field answered a Fragment, the response is `{"data": {key: fragment, ...}}`: what the
executor returns for them. Otherwise nothing is run again: the executor (`ReplayExecutor`) executes
the operation with each root field's outcome as its resolver's result, the value or the exception,
so completion, error location, masking and null propagation are graphql-core's own. Variables that
do not coerce return None before any resolver ran: the caller runs the normal path, which reports
them.
"""

from __future__ import annotations

from asyncio import ensure_future, gather
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, gather_with_cancel
from graphql.pyutils.is_awaitable import is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers

from saas.schema.execution import PassthroughExecutor

__all__ = ["FastPlan", "Raised", "ReplayExecutor", "run"]

# `Executor.build`'s default: the most variable errors reported before coercion stops.
MAX_COERCION_ERRORS = 50


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


_SETTLING: set[Any] = set()


def _track(values: Sequence[Any]) -> None:
    """Settle awaitables in the background, their errors observed (as `Executor.track_async_work`)."""
    awaitables = [value for value in values if is_awaitable(value)]
    if awaitables:
        future = ensure_future(gather(*awaitables, return_exceptions=True))
        _SETTLING.add(future)
        future.add_done_callback(_SETTLING.discard)


# The root fields' `info.async_helpers` (nothing in the application uses them; they work).
ASYNC_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


@dataclass(frozen=True)
class RootField:
    """One response key of the root selection: its field, its nodes (a key asked twice is merged)."""

    key: str
    name: str
    field: GraphQLField
    nodes: list[FieldNode]
    has_arguments: bool


@dataclass(frozen=True)
class FastPlan:
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    fragments: dict[str, FragmentDefinitionNode]
    fields: tuple[RootField, ...]

    @classmethod
    def of(cls, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> FastPlan | None:
        """The plan of a query that the fast path runs exactly as the executor would, else None."""
        if operation.operation is not OperationType.QUERY or operation.directives:
            return None
        if schema.get_directive("defer") or schema.get_directive("stream"):
            return None  # `graphql.execute` refuses such a schema: let it say so
        root_type = schema.query_type
        if root_type is None:
            return None
        fragments: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.variable_definitions:  # fragment arguments: the executor's business
                    return None
                fragments[definition.name.value] = definition
        grouped: dict[str, list[FieldNode]] = {}
        for selection in operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            if selection.name.value.startswith("__"):  # __typename, __schema, __type
                return None
            grouped.setdefault(selection.alias.value if selection.alias else selection.name.value, []).append(selection)
        fields = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            field = root_type.fields.get(name)
            if field is None or field.resolve is None:
                return None
            fields.append(RootField(key, name, field, nodes, bool(field.args or nodes[0].arguments)))
        if not fields:
            return None
        return cls(schema, operation, root_type, fragments, tuple(fields))


@dataclass(frozen=True)
class Raised:
    """A root field's resolver (or its arguments' coercion) raised this."""

    error: Exception


async def run(plan: FastPlan, variables: dict[str, Any] | None, context: Any) -> dict[str, Any] | None:
    """Each root field's outcome by response key (a Fragment, another value, or `Raised`), in
    selection order; None when the variables do not coerce (no resolver ran)."""
    variable_values = get_variable_values(
        plan.schema, plan.operation.variable_definitions or (), variables or {}, max_errors=MAX_COERCION_ERRORS
    )
    if isinstance(variable_values, list):
        return None
    schema, operation, root_type, fragments = plan.schema, plan.operation, plan.root_type, plan.fragments
    type_name = root_type.name
    outcomes: dict[str, Any] = {}
    for root in plan.fields:
        field = root.field
        info = GraphQLResolveInfo(
            root.name,
            root.nodes,
            field.type,
            root_type,
            Path(None, root.key, type_name),
            schema,
            fragments,
            None,
            operation,
            variable_values,
            context,
            is_awaitable,
            None,
            ASYNC_HELPERS,
        )
        try:
            args = get_argument_values(field, root.nodes[0], variable_values) if root.has_arguments else {}
            result = field.resolve(None, info, **args)  # type: ignore[misc]
            if isawaitable(result):
                result = await result
        except Exception as error:
            result = Raised(error)
        outcomes[root.key] = result
    return outcomes


def all_fragments(outcomes: dict[str, Any]) -> bool:
    return all(type(outcome) is orjson.Fragment for outcome in outcomes.values())


class ReplayExecutor(PassthroughExecutor):
    """Executes an operation whose root fields' resolvers have already run: each root field's
    recorded outcome stands for its resolver's result (an exception is raised where the resolver
    would have raised it), and the executor completes it as usual."""

    def __init__(self, *args: Any, replayed: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replayed = replayed

    def execute_field(
        self, parent_type: Any, source: Any, field_details_list: Any, path: Path, position_context: Any
    ) -> Any:
        if path.prev is not None or path.key not in self.replayed:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        outcome = self.replayed[path.key]
        nodes = [details.node for details in field_details_list]
        field_def = self.schema.get_field(parent_type, nodes[0].name.value)
        assert field_def is not None  # the plan found it
        return_type = field_def.type
        info = self.build_resolve_info(field_def, nodes, parent_type, path)
        try:
            if type(outcome) is Raised:
                raise outcome.error
            completed = self.complete_value(return_type, field_details_list, info, path, outcome, position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(self, completed: Any, return_type: Any, field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
