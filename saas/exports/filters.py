"""A list filter given as JSON (`startExport(filter:)`, a campaign's `audience`), read into the list's own
filter input (e.g. `CustomerFilterInput`) with the checks GraphQL would make, as coded `userErrors`.

The keys and values are those of the list's `filter` argument in GraphQL: camelCase names, enum
values by name (`"lifecycleStage": "CUSTOMER"`), global ids. So a filter that works on the list
works in an export and as an audience, and one rule (the input's `to_rule`/`apply`) serves all three.
"""

from __future__ import annotations

from typing import Any, TypeVar

from strawberry.scalars import JSON
from strawberry.types.base import StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

from saas.errors import AppError, FieldError, InputInvalid, UserErrorCode
from saas.validation import has_control_characters

T = TypeVar("T")
MAX_TEXT = 200


def _graphql_name(field: Any) -> str:
    if field.graphql_name:
        return str(field.graphql_name)
    head, *rest = field.python_name.split("_")
    return head + "".join(part.title() for part in rest)


def _scalar(kind: Any, value: Any, path: list[str], errors: list[FieldError]) -> Any:
    where = ".".join(path[2:]) or "filter"
    if isinstance(kind, StrawberryEnumDefinition):
        enum_class: Any = kind.wrapped_cls
        members: dict[str, Any] = {member.name: member for member in enum_class}
        if not isinstance(value, str) or value not in members:
            errors.append(FieldError(path, UserErrorCode.INVALID, f"{where} must be one of {', '.join(members)}"))
            return None
        return members[value]
    if kind is bool:
        if not isinstance(value, bool):
            errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, f"{where} must be true or false"))
            return None
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, f"{where} must be a whole number"))
            return None
        return value
    if has_object_definition(kind):
        return read_input(kind, value, path, errors)
    if kind is JSON:  # a custom field's `equals`: the filter's rule checks it (`filter_rule`)
        if isinstance(value, dict):
            errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, f"{where} must not be an object"))
            return None
        if not isinstance(value, str):
            return value
    elif not isinstance(value, str):  # str and ID
        errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, f"{where} must be a string"))
        return None
    text = value
    if len(text) > MAX_TEXT:
        errors.append(FieldError(path, UserErrorCode.TOO_LONG, f"{where} must be at most {MAX_TEXT} characters"))
        return None
    if has_control_characters(text):
        errors.append(FieldError(path, UserErrorCode.INVALID, f"{where} must not contain control characters"))
        return None
    return text


def read_input(input_class: type[T], value: Any, path: list[str], errors: list[FieldError]) -> T | None:
    """`value` (a JSON object) as an instance of the strawberry input `input_class`; problems go to `errors`."""
    if not isinstance(value, dict):
        errors.append(FieldError(path, UserErrorCode.WRONG_TYPE, f"{'.'.join(path[2:]) or 'filter'} must be an object"))
        return None
    fields = {_graphql_name(f): f for f in input_class.__strawberry_definition__.fields}  # type: ignore[attr-defined]
    known: dict[str, Any] = {}
    for key, raw in value.items():
        field = fields.get(key)
        if field is None:
            allowed = ", ".join(sorted(fields))
            errors.append(
                FieldError([*path, str(key)], UserErrorCode.UNKNOWN_FIELD, f"unknown key {key}; known: {allowed}")
            )
            continue
        kind = field.type
        optional = isinstance(kind, StrawberryOptional)
        if optional:
            kind = kind.of_type
        if raw is None:
            if not optional:
                errors.append(FieldError([*path, key], UserErrorCode.REQUIRED, f"{key} must not be null"))
            continue
        converted = _scalar(kind, raw, [*path, key], errors)
        if converted is not None:
            known[field.python_name] = converted
    missing = [
        name
        for name, f in fields.items()
        if not isinstance(f.type, StrawberryOptional) and f.python_name not in known and _required(f)
    ]
    for name in missing:
        if name not in value:
            errors.append(FieldError([*path, name], UserErrorCode.REQUIRED, f"{name} is required"))
    if errors:
        return None
    return input_class(**known)


def _required(field: Any) -> bool:
    from dataclasses import MISSING

    return field.default is MISSING and field.default_factory is MISSING  # type: ignore[no-any-return]


def filter_input(input_class: type[T], value: Any, path: list[str]) -> T | None:
    """The filter input for a JSON filter (None or {} for no filter); `InputInvalid` with every problem."""
    if value is None or value == {}:
        return None
    errors: list[FieldError] = []
    result = read_input(input_class, value, path, errors)
    if errors:
        raise InputInvalid(errors)
    return result


def filter_rule(build: Any, path: list[str]) -> Any:
    """`build()` (a filter input's `to_rule`, say), its bad global ids and enum values as `userErrors`."""
    try:
        return build()
    except (AppError, ValueError) as exc:
        raise InputInvalid([FieldError(path, UserErrorCode.INVALID, getattr(exc, "message", str(exc)))]) from None
