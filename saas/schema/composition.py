"""Composes the core schema with plugins' GraphQL contributions, strictly.

Root fields merge into Query, Mutation and Subscription; `type_fields` are added to core
object types after the schema is built (each schema has its own graphql-core types, so one
tenant's plugins never show in another's schema). A field or type name claimed twice fails
with both claimants named, never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import StrawberryObjectDefinition, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.lazy_type import LazyType

from saas.plugin_host.contributions import GraphQLContribution
from saas.schema.compiler import SQL_EXTENSION
from saas.validation import camel_case

CORE = "core"


class SchemaConflict(Exception):
    """Two contributions claim one name; `owners` are the plugins involved (never the core)."""

    def __init__(self, message: str, owners: Sequence[str]) -> None:
        super().__init__(message)
        self.owners = [o for o in owners if o != CORE]


@dataclass(frozen=True)
class RootTypes:
    query: type
    mutation: type
    subscription: type


def _definition(cls: type) -> StrawberryObjectDefinition:
    if not has_object_definition(cls):
        raise TypeError(f"{cls.__name__} is not a strawberry type")
    return cls.__strawberry_definition__


_NAMES = NameConverter()


def _type_name(definition: StrawberryObjectDefinition) -> str:
    """The type's name in the schema: a specialised generic (`Connection[Customer]`) is `CustomerConnection`."""
    return _NAMES.from_object(definition)


def _field_names(cls: type) -> list[str]:
    return [f.graphql_name or camel_case(f.python_name) for f in _definition(cls).fields]


def _claim(claims: dict[str, str], names: Sequence[str], owner: str, where: str) -> None:
    for name in names:
        if name in claims:
            raise SchemaConflict(
                f"{where}.{name} is contributed by both {claims[name]} and {owner}", [claims[name], owner]
            )
        claims[name] = owner


def _merged_root(name: str, core: type, contributions: list[tuple[str, tuple[type, ...]]]) -> type:
    claims: dict[str, str] = {}
    _claim(claims, _field_names(core), CORE, name)
    bases: list[type] = [core]
    for owner, classes in contributions:
        for cls in classes:
            _claim(claims, _field_names(cls), owner, name)
            bases.append(cls)
    if len(bases) == 1:
        return core
    return strawberry.type(type(name, tuple(bases), {}))


def _named(type_: Any) -> Any:
    """The named type inside lists, optionals and lazy references."""
    while True:
        if isinstance(type_, LazyType):
            type_ = type_.resolve_type()
        elif hasattr(type_, "of_type"):
            type_ = type_.of_type
        else:
            return type_


def _origin(definition: Any) -> Any:
    """What a type is made from: its class, or for a specialised generic (`CountedConnection[Ticket]`,
    specialised anew wherever a field names it) the generic and its type arguments."""
    if definition.concrete_of is None:
        return definition.origin
    arguments = tuple(sorted((str(k), id(v)) for k, v in definition.type_var_map.items()))
    return (definition.concrete_of.origin, arguments)


def _reachable(types: Iterable[type], containers: Iterable[type], found: dict[str, Any]) -> None:
    """Every object, input and enum type reachable from `types` and from the fields of
    `containers` (root and extension classes, which are no types of their own), by GraphQL
    name → Python origin; a second origin under a known name raises `_SameName`."""
    pending: list[tuple[type, bool]] = [(t, True) for t in types] + [(c, False) for c in containers]
    while pending:
        cls, is_type = pending.pop()
        if not has_object_definition(cls):
            continue
        definition = cls.__strawberry_definition__
        if is_type and found.setdefault(_type_name(definition), _origin(definition)) != _origin(definition):
            raise _SameName(_type_name(definition))
        for field in definition.fields:
            for type_ in (field.type, *(argument.type for argument in field.arguments)):
                named = _named(type_)
                if has_object_definition(named):
                    name = _type_name(named.__strawberry_definition__)
                    if found.get(name) != _origin(named.__strawberry_definition__):
                        pending.append((named, True))
                    continue
                enum = getattr(named, "__strawberry_definition__", None)
                if (
                    isinstance(enum, StrawberryEnumDefinition)
                    and found.setdefault(enum.name, enum.wrapped_cls) is not enum.wrapped_cls
                ):
                    raise _SameName(enum.name)


class _SameName(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _check_reachable_names(
    roots: RootTypes,
    core_types: Sequence[type],
    plugins: Sequence[tuple[str, GraphQLContribution]],
    core_fields: Sequence[type] = (),
) -> None:
    """Two different types under one GraphQL name would silently become one: refuse, naming both."""
    owners: dict[str, str] = {}
    found: dict[str, Any] = {}
    contributions: list[tuple[str, Sequence[type], list[type]]] = [
        (CORE, core_types, [roots.query, roots.mutation, roots.subscription, *core_fields])
    ]
    for owner, c in plugins:
        containers = [*c.queries, *c.mutations, *c.subscriptions, *(k for v in c.type_fields.values() for k in v)]
        contributions.append((owner, c.types, containers))
    for owner, types, containers in contributions:
        before = set(found)
        try:
            _reachable(types, containers, found)
        except _SameName as clash:
            first = owners.get(clash.name, CORE)
            raise SchemaConflict(
                f"type.{clash.name} is contributed by both {first} and {owner}", [first, owner]
            ) from None
        for name in set(found) - before:
            owners[name] = owner


def compose_schema(
    roots: RootTypes,
    core_types: Sequence[type],
    plugins: Sequence[tuple[str, GraphQLContribution]],
    core_type_fields: dict[str, tuple[type, ...]] | None = None,
    core_sql_fields: dict[str, dict[str, Any]] | None = None,
    **schema_options: Any,
) -> strawberry.Schema:
    """The schema of the roots and types; `core_type_fields` are core domains' fields on other
    domains' types (e.g. follow-ups' `Customer.timeline`), added like plugins' `type_fields`, and
    `core_sql_fields` their compiled-read SQL, like plugins' `sql_fields`."""
    type_claims = {_definition(t).name: CORE for t in core_types}
    extra_types: list[type] = []
    for owner, contribution in plugins:
        for cls in contribution.types:
            _claim(type_claims, [_definition(cls).name], owner, "type")
            extra_types.append(cls)
    query = _merged_root("Query", roots.query, [(o, c.queries) for o, c in plugins])
    mutation = _merged_root("Mutation", roots.mutation, [(o, c.mutations) for o, c in plugins])
    subscription = _merged_root("Subscription", roots.subscription, [(o, c.subscriptions) for o, c in plugins])
    core_fields = core_type_fields or {}
    _check_reachable_names(roots, core_types, plugins, [c for classes in core_fields.values() for c in classes])
    schema = strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[*core_types, *extra_types],
        **schema_options,
    )
    core = GraphQLContribution(type_fields=core_fields, sql_fields=dict(core_sql_fields or {}))
    _add_type_fields(schema, [(CORE, core), *plugins])
    return schema


def _add_type_fields(schema: strawberry.Schema, plugins: Sequence[tuple[str, GraphQLContribution]]) -> None:
    claims: dict[str, dict[str, str]] = {}
    for owner, contribution in plugins:
        for type_name, classes in contribution.type_fields.items():
            target = schema._schema.type_map.get(type_name)
            if target is None or not hasattr(target, "fields"):
                raise SchemaConflict(f"{owner} adds fields to unknown type {type_name}", [owner])
            type_claims = claims.setdefault(type_name, dict.fromkeys(target.fields, CORE))
            for cls in classes:
                extension = schema.schema_converter.from_object(_definition(cls))
                _claim(type_claims, list(extension.fields), owner, type_name)
                target.fields.update(extension.fields)
            for field_name, sql in contribution.sql_fields.get(type_name, {}).items():
                if type_claims.get(field_name) != owner:
                    raise SchemaConflict(f"{owner} maps {type_name}.{field_name} to SQL but does not add it", [owner])
                field = target.fields[field_name]
                field.extensions = {**(field.extensions or {}), SQL_EXTENSION: sql}
