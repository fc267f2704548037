"""Event payloads in the API's shapes: one serializer for the core's and the plugins' events.

A webhook receiver (and a plugin's event handler) reads an entity the way the GraphQL API
returns it, because the payload is made from the same GraphQL object (`Type.from_model(row)`):
`api_object` writes every plain field of it under its GraphQL name (camelCase), with global
ids, enum values by their GraphQL names (`COMPANY`), date-times in the API's one form
(`saas.schema.relay.iso_datetime`), decimals as strings and JSON as is. Fields computed by a
resolver (`customer { … }`) are left out; a service adds the references it has with
`node_ref`, in the shape the API gives them (`"customer": {"id": "Q3VzdG9tZXI6…"}`).
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from saas.schema.relay import iso_datetime, to_global_id


def node_ref(type_name: str, raw_id: uuid.UUID | str | None) -> dict[str, str] | None:
    """A reference to a node as the API writes one selected by `{ id }`; None for no node."""
    return None if raw_id is None else {"id": to_global_id(type_name, raw_id)}


def api_object(obj: Any, **related: Any) -> dict[str, Any]:
    """The plain fields of a GraphQL object as the API writes them, plus `related` (camelCased keys)."""
    definition = getattr(obj, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition):
        raise TypeError(f"{type(obj).__name__} is not a GraphQL object type")
    cls: Any = type(obj)
    shaped = {name: api_value(getattr(obj, python_name)) for name, python_name in _plain_fields(cls)}
    for key, value in related.items():
        shaped[to_camel_case(key)] = api_value(value)
    return shaped


@functools.cache
def _plain_fields(cls: Any) -> tuple[tuple[str, str], ...]:
    """(GraphQL name, attribute) of the type's plain fields, in order; once per type: every event
    payload of the type asks."""
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__
    return tuple(
        (field.graphql_name or to_camel_case(field.python_name), field.python_name)
        for field in definition.fields
        # a field with a resolver is computed on request (a nested object or list): added by
        # the caller if needed
        if not is_private(field.type) and field.base_resolver is None
    )


_PLAIN = frozenset((str, int, bool, float))


def api_value(value: Any) -> Any:
    """One value as the API's scalars serialize it."""
    if value is None or type(value) in _PLAIN:  # the commonest first (exactly these types: not an enum)
        return value
    if isinstance(value, Enum):
        return _enum_name(value)  # before `str`: a domain enum is a StrEnum, written by its GraphQL name
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(getattr(value, "__strawberry_definition__", None), StrawberryObjectDefinition):
        return api_object(value)
    if isinstance(value, list | tuple):
        return [api_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): api_value(item) for key, item in value.items()}
    raise TypeError(f"cannot put a {type(value).__name__} into an event payload")


@functools.cache  # a few members: every payload with an enum field asks
def _enum_name(member: Enum) -> str:
    """The GraphQL name of an enum value (the member's name unless the type renamed it)."""
    definition = getattr(type(member), "__strawberry_definition__", None)
    for value in getattr(definition, "values", ()):
        if value.value == member.value:
            return str(value.name)
    return member.name
