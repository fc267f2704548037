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
`Executor.build_resolve_info` builds it, the field's resolver called and awaited, fields one after
another in selection order.

The resolver is strawberry's wrapper of the domain's resolver function (`Query.customers`): it
builds strawberry's `Info`, converts the arguments (`convert_arguments`) and calls the function.
For a field without strawberry field extensions (permission classes are extensions) or exception
handlers that wrapper does nothing else, so `DirectCall` does the same without the wrapper's
layers: the same `Info`, scalar and enum arguments passed as they are (strawberry returns them unchanged),
any other argument converted by strawberry's own `convert_argument`, the function called as
`StrawberryField.get_result` calls it (`self`, `info`, `root` or `parent` where it asks for them).

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
from dataclasses import dataclass, field
from enum import Enum
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
from strawberry.types.field import StrawberryField

from saas.schema.execution import PassthroughExecutor
from saas.schema.input_conversion import Converter, converter_of, is_plain
from saas.schema.payload_writer import NotPlain, PayloadWriter

__all__ = ["FastPlan", "Raised", "ReplayExecutor", "completed", "run"]

# `Executor.build`'s default: the most variable errors reported before coercion stops.
MAX_COERCION_ERRORS = 50
# The operations the fast path runs, and their root type's attribute of the schema (a mutation
# of one root field only: see `FastPlan.of`).
ROOT_TYPES = {OperationType.QUERY: "query_type", OperationType.MUTATION: "mutation_type"}
# Variables and arguments of these exact types are kept coerced per plan (`FastPlan.coerced`):
# values that cannot change and compare equal only to values of the same coercion (no float: -0.0 == 0.0).
_KEPT_INPUTS = frozenset({str, int, bool, type(None)})
MAX_KEPT_COERCIONS = 64


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


class Settling:
    """Awaitables settled in the background, their errors observed (as `Executor.track_async_work`),
    each held until it is done."""

    def __init__(self) -> None:
        self.pending: set[Any] = set()

    def track(self, values: Sequence[Any]) -> None:
        awaitables = [value for value in values if is_awaitable(value)]
        if awaitables:
            future = ensure_future(gather(*awaitables, return_exceptions=True))
            self.pending.add(future)
            future.add_done_callback(self.pending.discard)


def async_helpers() -> GraphQLResolveInfoHelpers:
    """A plan's root fields' `info.async_helpers` (nothing in the application uses them; they work)."""
    return GraphQLResolveInfoHelpers(gather=_gather, track=Settling().track)


# The name strawberry's converter keeps a GraphQL definition's strawberry definition under.
STRAWBERRY_DEFINITION = "strawberry-definition"
# Strawberry's resolver wrappers (`GraphQLCoreConverter.from_resolver`), by qualified name.
STRAWBERRY_RESOLVERS = frozenset(
    f"GraphQLCoreConverter.from_resolver.<locals>.{name}" for name in ("_resolver", "_async_resolver")
)


@dataclass(frozen=True)
class Argument:
    name: str  # as GraphQL names it (the key graphql-core's argument values use)
    python_name: str
    # strawberry's `convert_argument` for the argument's type, the type read once
    # (`saas.schema.input_conversion`); None: the value is passed as it is.
    convert: Converter | None


class DirectCall:
    """What strawberry's resolver wrapper does for a field without extensions or exception handlers."""

    def __init__(self, field: StrawberryField, strawberry_schema: Any) -> None:
        converter = strawberry_schema.schema_converter
        self.field = field
        self.config = converter.config
        self.info_class = converter.config.info_class
        self.scalar_registry = converter.scalar_registry
        resolver = field.base_resolver
        assert resolver is not None
        self.function: Any = resolver
        self.takes_self = resolver.self_parameter is not None
        self.source_names = tuple(p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None)
        self.info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
        arguments = []
        for argument in field.arguments:
            assert argument.python_name
            type_ = argument.type
            convert = (
                None
                if is_plain(type_, self.scalar_registry)
                else converter_of(type_, self.config, self.scalar_registry)
            )
            name = self.config.name_converter.from_argument(argument)
            arguments.append(Argument(name, argument.python_name, convert))
        self.arguments = tuple(arguments)

    @classmethod
    def of(cls, field: GraphQLField, schema: GraphQLSchema) -> DirectCall | None:
        strawberry_field = (field.extensions or {}).get(STRAWBERRY_DEFINITION)
        strawberry_schema = getattr(schema, "_strawberry_schema", None)
        if not isinstance(strawberry_field, StrawberryField) or strawberry_schema is None:
            return None
        converter = getattr(strawberry_schema, "schema_converter", None)
        if getattr(field.resolve, "__qualname__", None) not in STRAWBERRY_RESOLVERS or converter is None:
            return None
        if (
            strawberry_field.base_resolver is None
            or strawberry_field.extensions
            or getattr(converter, "_exception_handler_specs", True)  # unknown: not taken
        ):
            return None
        return cls(strawberry_field, strawberry_schema)

    def __call__(self, raw_info: GraphQLResolveInfo, values: dict[str, Any]) -> Any:
        info = self.info_class(_raw_info=raw_info, _field=self.field)
        kwargs: dict[str, Any] = {}
        for argument in self.arguments:
            name = argument.name
            if name in values:
                value = values[name]
                convert = argument.convert
                kwargs[argument.python_name] = value if convert is None else convert(value, info, (name,))
        for name in self.source_names:
            kwargs[name] = None  # the root value
        if self.info_name is not None:
            kwargs[self.info_name] = info
        return self.function(None, **kwargs) if self.takes_self else self.function(**kwargs)


@dataclass(frozen=True, eq=False)
class RootField:
    """One response key of the root selection: its field, its nodes (a key asked twice is merged)."""

    key: str
    name: str
    field: GraphQLField
    nodes: list[FieldNode]
    has_arguments: bool
    # The field's resolver as built with the schema, and the call that does its work without it.
    resolve: Any = None
    direct: DirectCall | None = None
    # Completes a result that is not a Fragment (a mutation's payload) without the executor.
    writer: PayloadWriter | None = None


@dataclass(frozen=True, eq=False)
class FastPlan:
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    fragments: dict[str, FragmentDefinitionNode]
    fields: tuple[RootField, ...]
    async_helpers: GraphQLResolveInfoHelpers
    # The variables coerced and each root field's arguments, by the variables' `_inputs_key`
    # (`run`): kept only when every value in them cannot change (`_immutable`).
    coerced: dict[tuple[Any, ...], tuple[Any, tuple[dict[str, Any], ...]]] = field(
        default_factory=dict, init=False, repr=False
    )

    @classmethod
    def of(cls, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> FastPlan | None:
        """The plan of a query or mutation that the fast path runs exactly as the executor would,
        else None."""
        if operation.directives or operation.operation not in ROOT_TYPES:
            return None
        if schema.get_directive("defer") or schema.get_directive("stream"):
            return None  # `graphql.execute` refuses such a schema: let it say so
        root_type = getattr(schema, ROOT_TYPES[operation.operation])
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
            fields.append(
                RootField(
                    key,
                    name,
                    field,
                    nodes,
                    bool(field.args or nodes[0].arguments),
                    field.resolve,
                    DirectCall.of(field, schema),
                    PayloadWriter.of(schema, fragments, field, nodes),
                )
            )
        if not fields:
            return None
        if operation.operation is OperationType.MUTATION and len(fields) > 1:
            # The executor completes each root mutation before it runs the next, and runs none
            # after one whose error nulls `data`: the fast path calls every root field first.
            return None
        return cls(schema, operation, root_type, fragments, tuple(fields), async_helpers())


@dataclass(frozen=True)
class Raised:
    """A root field's resolver (or its arguments' coercion) raised this."""

    error: Exception


def _inputs_key(variables: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """The request's variables as a key: each name, its value's exact type and the value; None when
    one is not a `_KEPT_INPUTS` value (an input object, a list, a float)."""
    if not variables:
        return ()
    key = []
    for name, value in variables.items():
        kind = type(value)
        if kind not in _KEPT_INPUTS:
            return None
        key.append((name, kind, value))
    return tuple(key)


def _immutable(values: dict[str, Any]) -> bool:
    """Whether every value is one no user of it can change (a scalar, an enum member)."""
    return all(type(value) in _KEPT_INPUTS or isinstance(value, (float, Enum)) for value in values.values())


async def run(plan: FastPlan, variables: dict[str, Any] | None, context: Any) -> dict[str, Any] | None:
    """Each root field's outcome by response key (a Fragment, another value, or `Raised`), in
    selection order; None when the variables do not coerce (no resolver ran).

    The coercion of the variables (`get_variable_values`) and of each root field's arguments
    (`get_argument_values`) depends on nothing but the plan (schema, operation) and the variables'
    values. For variables of `_KEPT_INPUTS` only (the lists' `first`, a cursor, an id) whose
    coercion succeeded into values nothing can change, both results are kept on the plan by the
    variables' names, exact types and values (`_inputs_key`: `1`, `True` and `"1"` are three keys),
    so a request repeating them coerces nothing: the same values as coercing again. Errors are
    never kept: variables or arguments that do not coerce go through graphql-core every time."""
    key = _inputs_key(variables)
    kept = plan.coerced.get(key) if key is not None else None
    if kept is not None:
        variable_values, arguments = kept
    else:
        variable_values = get_variable_values(
            plan.schema, plan.operation.variable_definitions or (), variables or {}, max_errors=MAX_COERCION_ERRORS
        )
        if isinstance(variable_values, list):
            return None
        arguments = ()
    schema, operation, root_type, fragments = plan.schema, plan.operation, plan.root_type, plan.fragments
    type_name = root_type.name
    outcomes: dict[str, Any] = {}
    coerced: list[dict[str, Any]] | None = [] if kept is None and key is not None else None
    for index, root in enumerate(plan.fields):
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
            plan.async_helpers,
        )
        try:
            if kept is not None:
                args = dict(arguments[index])  # a resolver given its own dict: the kept one never changes
            else:
                args = get_argument_values(field, root.nodes[0], variable_values) if root.has_arguments else {}
                if coerced is not None:
                    coerced.append(args)
            direct = root.direct
            if direct is not None and field.resolve is root.resolve:
                result = direct(info, args)
            else:
                result = field.resolve(None, info, **args)  # type: ignore[misc]
            if isawaitable(result):
                result = await result
        except Exception as error:
            result = Raised(error)
            coerced = None  # the arguments may not have coerced: keep nothing
        outcomes[root.key] = result
    if (
        coerced is not None
        and key is not None
        and _immutable(variable_values.coerced)
        and all(_immutable(args) for args in coerced)
    ):
        if len(plan.coerced) >= MAX_KEPT_COERCIONS:
            plan.coerced.clear()
        plan.coerced[key] = (variable_values, tuple(coerced))
    return outcomes


def completed(plan: FastPlan, outcomes: dict[str, Any]) -> dict[str, Any] | None:
    """The response's `data` when every root field's outcome completes without the executor: a
    Fragment as it is, a value through the field's `PayloadWriter`; None when the executor has to
    complete one of them (an exception, a selection that is not plain, what it would report)."""
    data: dict[str, Any] = {}
    for root in plan.fields:
        outcome = outcomes[root.key]
        if type(outcome) is orjson.Fragment:
            data[root.key] = outcome
            continue
        writer = root.writer
        if writer is None or type(outcome) is Raised:
            return None
        try:
            data[root.key] = writer.write(outcome)
        except NotPlain:
            return None
    return data


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
