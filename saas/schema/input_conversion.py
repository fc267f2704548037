"""Strawberry's conversion of GraphQL argument values to Python values, with each type read once.

Strawberry's `convert_argument` turns the values graphql-core coerced into what a resolver
receives: an input object becomes its input class, a `GlobalID` its object, a list a copy. It
walks the argument's type on every call: for an input object, each of its fields' GraphQL name is
derived again (`name_converter.from_field`) and its type resolved again. `converter_of` reads a
type once and returns a function that does the same conversion:

- a scalar other than `GlobalID` or an enum, maybe optional: the value as it is (strawberry
  returns such values unchanged, `None` and `UNSET` included);
- a list of such values, maybe optional: a copy of the list (strawberry copies it: graphql-core
  gives every request that leaves the value out the same default list);
- an input object (maybe optional) without a `from_input` hook: its class called with the fields
  the value holds, each converted this way, and `None` for every field without a default that the
  value left out, as strawberry does;
- anything else (`GlobalID`, `Maybe`, lazy types, lists of input objects, inputs that build
  themselves): strawberry's `convert_argument` itself.

So a converter answers what `convert_argument` answers for the same value; the tests of
`tests/schema/test_input_conversion.py` compare both on every mutation input of the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import convert_argument
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

__all__ = ["Converter", "converter_of", "is_plain"]

# value, strawberry's `Info`, the value's path in the arguments (GraphQL names and list indices)
Converter = Callable[[Any, Any, tuple[str | int, ...]], Any]


def _optional_of(type_: Any) -> Any:
    """The type inside `T | None` (not `Maybe`, which wraps its values)."""
    return type_.of_type if type(type_) is StrawberryOptional else type_


def _leaf(type_: Any, scalar_registry: Mapping[object, Any]) -> bool:
    return (
        not isinstance(type_, (StrawberryMaybe, StrawberryOptional, LazyType))
        and type_ is not GlobalID
        and (
            is_scalar(type_, scalar_registry)
            or isinstance(type_, StrawberryEnumDefinition)
            or has_enum_definition(type_)
        )
    )


def is_plain(type_: Any, scalar_registry: Mapping[object, Any]) -> bool:
    """A scalar other than `GlobalID`, or an enum (graphql-core gives the enum's member), maybe
    optional: strawberry's `convert_argument` returns its values unchanged."""
    return _leaf(_optional_of(type_), scalar_registry)


def _unchanged(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
    return value


def _copied_list(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
    return value if value is None or value is UNSET else list(value)


def converter_of(type_: Any, config: Any, scalar_registry: Mapping[object, Any]) -> Converter:
    """The conversion of values of strawberry type `type_` (see the module's docstring)."""
    if is_plain(type_, scalar_registry):
        return _unchanged
    inner = _optional_of(type_)
    if type(inner) is StrawberryList and is_plain(inner.of_type, scalar_registry):
        return _copied_list
    if isinstance(inner, type) and has_object_definition(inner):
        definition = inner.__strawberry_definition__
        if definition.is_input and definition.from_input is None:
            return InputObject(inner, definition, config, scalar_registry)

    def convert(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
        return convert_argument(value, type_, scalar_registry, config, info, path=path)

    return convert


class InputObject:
    """The conversion of one input class's values, its fields read once."""

    def __init__(self, cls: type, definition: Any, config: Any, scalar_registry: Mapping[object, Any]) -> None:
        self.cls = cls
        # Fields without a default are None unless the value holds them (graphql-core has checked
        # that the required ones are there).
        self.absent = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
        self.fields = tuple(
            (
                config.name_converter.from_field(field),
                field.python_name,
                converter_of(field.resolve_type(type_definition=definition), config, scalar_registry),
            )
            for field in definition.fields
        )

    def __call__(self, value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
        if value is None or value is UNSET:
            return value
        kwargs = dict(self.absent)
        for graphql_name, python_name, convert in self.fields:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = item if convert is _unchanged else convert(item, info, (*path, graphql_name))
        return self.cls(**kwargs)
