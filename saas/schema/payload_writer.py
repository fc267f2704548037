"""A mutation's payload written from its resolver's result without graphql-core's executor.

A mutation answers a payload object (`CreateCustomerPayload`): the changed objects and
`userErrors`, built by the resolver from the committed rows (`from_model`). A selection of that
payload made only of plain fields (strawberry fields without a resolver or extensions, read from
the object as attributes), `__typename`, objects and lists of them, fragments and inline fragments
of the object's own type or of an interface or union it belongs to, and no directive, answers the
same JSON for every request: `PayloadWriter.of` reads it once per prepared operation, and `write`
completes a result as the executor completes it:

- the fields in the executor's order (the first appearance of each response key, fragments
  visited in place, a key asked twice merged);
- a plain field's value read by the field's own resolver (strawberry's basic-field resolver, which
  reads the attribute), a leaf by its type's `coerce_output_value`, `__typename` the object type's
  name, an object checked by its type's `is_type_of` where it has one;
- null where the type allows it;
- a field whose resolver is marked `held(attribute)` read from that attribute of the object when
  it holds a value: the resolver itself answers that value then, before it runs anything else
  (`held` makes it so), so the executor would complete the same object. When the attribute is
  None the writing stops and the executor calls the resolver.

Whatever the executor would report as an error (null in a non-null position, a value its type
cannot serialise, a read that raises, something not iterable in a list position, an object of
another type), and a resolver replaced after the schema was built, stop the writing (`NotPlain`):
nothing was run that has effects, and the caller hands the result to the executor, which completes
it again and reports the error as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import does_fragment_condition_match
from graphql.pyutils import is_iterable
from graphql.pyutils.is_awaitable import is_awaitable

__all__ = ["NotPlain", "PayloadWriter", "held"]

# Strawberry's resolver of a field without a resolver or extensions (`from_resolver`).
BASIC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
# The `is_type_of` strawberry gives an object type that implements interfaces.
STRAWBERRY_IS_TYPE_OF = "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
# Strawberry's resolver of a field with an async resolver (`from_resolver`).
ASYNC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._async_resolver"
STRAWBERRY_DEFINITION = "strawberry-definition"
HELD = "__held_attribute__"
TYPENAME = "__typename"

Resolver = TypeVar("Resolver", bound=Callable[..., Awaitable[Any]])


def held(attribute: str) -> Callable[[Resolver], Resolver]:
    """Marks an async resolver `(self, info)` whose object may already hold its value in `attribute`
    (a `strawberry.Private` field, None when it holds nothing).

    The resolver answers `getattr(self, attribute)` when it is not None, before it runs anything
    else; otherwise it runs as written. That is the one place the held value is answered, so the
    payload writer, which reads the attribute instead of calling the resolver, writes what the
    executor completes."""

    def mark(resolver: Resolver) -> Resolver:
        @functools.wraps(resolver)
        async def resolve(self: Any, info: Any) -> Any:
            value = getattr(self, attribute)
            if value is not None:
                return value
            return await resolver(self, info)

        setattr(resolve, HELD, attribute)
        return resolve  # type: ignore[return-value]

    return mark


class NotPlain(Exception):
    """The executor would not answer this result with plain values: let it complete it."""


@dataclass(frozen=True, eq=False)
class Leaf:
    type: GraphQLLeafType

    def write(self, value: Any) -> Any:
        coerced = self.type.coerce_output_value(value)
        if coerced is Undefined or coerced is None:
            raise NotPlain
        return coerced


@dataclass(frozen=True, eq=False)
class NonNull:
    of: Any

    def write(self, value: Any) -> Any:
        written = self.of.write(value)
        if written is None:
            raise NotPlain
        return written


@dataclass(frozen=True, eq=False)
class Nullable:
    of: Any

    def write(self, value: Any) -> Any:
        if isinstance(value, Exception):
            raise NotPlain
        if value is None or value is Undefined:
            return None
        return self.of.write(value)


@dataclass(frozen=True, eq=False)
class ListOf:
    item: Any

    def write(self, value: Any) -> Any:
        if not is_iterable(value):
            raise NotPlain
        write = self.item.write
        return [write(item) for item in value]


@dataclass(frozen=True, eq=False)
class Member:
    """One response key of an object's selection: the field, its resolver as planned, its writer."""

    key: str
    field: GraphQLField | None  # None: __typename
    resolve: Any
    writer: Any
    held: str | None = None  # the attribute a `held` resolver answers


@dataclass(frozen=True, eq=False)
class ObjectOf:
    type: GraphQLObjectType
    members: tuple[Member, ...]

    def write(self, value: Any) -> Any:
        is_type_of = self.type.is_type_of
        # strawberry's `is_type_of` (the only one planned) does not read `info`
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            raise NotPlain
        written: dict[str, Any] = {}
        for member in self.members:
            field = member.field
            if field is None:
                written[member.key] = self.type.name
                continue
            if field.resolve is not member.resolve:
                raise NotPlain  # replaced after the plan was made: the executor calls it
            if member.held is not None:
                item = getattr(value, member.held)
                if item is None:
                    raise NotPlain  # nothing held: the executor runs the resolver
                written[member.key] = member.writer.write(item)
                continue
            item = field.resolve(value, None)
            if is_awaitable(item):
                raise NotPlain  # the executor awaits it
            written[member.key] = member.writer.write(item)
        return written


class PayloadWriter:
    """Writes one root field's result as the executor completes it (see the module's docstring)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    @classmethod
    def of(
        cls,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        field: GraphQLField,
        nodes: list[FieldNode],
    ) -> PayloadWriter | None:
        """The writer of this root field's selection, or None when it is not plain."""
        try:
            return cls(_writer(schema, fragments, field.type, [node.selection_set for node in nodes]))
        except NotPlain:
            return None

    def write(self, value: Any) -> Any:
        """The completed value; raises `NotPlain` where the executor has to complete it (a read or
        a serialisation that raises included: the executor raises it again and reports it)."""
        try:
            return self.writer.write(value)
        except NotPlain:
            raise
        except Exception:
            raise NotPlain from None


def _writer(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    type_: Any,
    selections: list[SelectionSetNode | None],
) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return NonNull(_writer(schema, fragments, type_.of_type, selections))
    if isinstance(type_, GraphQLList):
        return Nullable(ListOf(_writer(schema, fragments, type_.of_type, selections)))
    if is_leaf_type(type_):
        if any(selection is not None for selection in selections):
            raise NotPlain
        return Nullable(Leaf(type_))
    if not is_object_type(type_):
        raise NotPlain  # an interface or union: the executor resolves the runtime type
    is_type_of = type_.is_type_of
    if is_type_of is not None and getattr(is_type_of, "__qualname__", None) != STRAWBERRY_IS_TYPE_OF:
        raise NotPlain  # it may read `info`
    grouped: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()
    for selection_set in selections:
        if selection_set is None:
            raise NotPlain
        _collect(schema, fragments, type_, selection_set, grouped, visited)
    members = []
    for key, nodes in grouped.items():
        name = nodes[0].name.value
        if name == TYPENAME:
            members.append(Member(key, None, None, None))
            continue
        field = type_.fields.get(name)
        if field is None or field.args or any(node.arguments for node in nodes):
            raise NotPlain
        attribute = _held_attribute(field)
        if attribute is None and getattr(field.resolve, "__qualname__", None) != BASIC_RESOLVER:
            raise NotPlain
        writer = _writer(schema, fragments, field.type, [node.selection_set for node in nodes])
        members.append(Member(key, field, field.resolve, writer, attribute))
    return Nullable(ObjectOf(type_, tuple(members)))


def _held_attribute(field: GraphQLField) -> str | None:
    """The attribute a `held` resolver answers, when strawberry calls that resolver and nothing
    else (no field extension, permission or argument around it); None otherwise."""
    if getattr(field.resolve, "__qualname__", None) != ASYNC_RESOLVER:
        return None
    definition = (field.extensions or {}).get(STRAWBERRY_DEFINITION)
    resolver = getattr(definition, "base_resolver", None)
    if definition is None or resolver is None or definition.extensions or definition.arguments:
        return None
    attribute = getattr(resolver.wrapped_func, HELD, None)
    return attribute if isinstance(attribute, str) else None


def _collect(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    type_: GraphQLObjectType,
    selection_set: SelectionSetNode,
    grouped: dict[str, list[FieldNode]],
    visited: set[str],
) -> None:
    """The fields of `selection_set` by response key, as graphql-core's `collect_fields` groups them
    for an object of `type_` (no directive: any makes the selection not plain)."""
    for selection in selection_set.selections:
        if selection.directives:
            raise NotPlain
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            grouped.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            if does_fragment_condition_match(schema, selection, type_):
                _collect(schema, fragments, type_, selection.selection_set, grouped, visited)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visited:
                continue
            visited.add(name)
            fragment = fragments.get(name)
            if fragment is None:
                raise NotPlain
            if does_fragment_condition_match(schema, fragment, type_):
                _collect(schema, fragments, type_, fragment.selection_set, grouped, visited)
        else:
            raise NotPlain
