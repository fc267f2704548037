"""Types every domain shares: Node, PageInfo, UserError, and the payload helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types.unset import UNSET

from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.schema.relay import decode_id
from saas.validation import camel_case

if TYPE_CHECKING:
    from saas.schema.context import RequestContext


@strawberry.interface(description="An object with a globally unique, opaque id.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, edges: list[Any], *, has_next_page: bool, has_previous_page: bool) -> PageInfo:
        """Page information for `edges` (objects with a `cursor`), first and last cursors included."""
        return cls(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )


@strawberry.type(description="A validation or business-rule failure of a mutation's input.")
class UserError:
    field: list[str] | None
    code: str
    message: str

    @classmethod
    def from_field_error(cls, error: FieldError) -> UserError:
        return cls(field=_camel_path(error.field), code=str(error.code), message=error.message)


class Payload:
    """Base of every mutation payload: subclass it, declare the result fields, decorate with `@strawberry.type`.

    The subclass gains `user_errors: [UserError!]!` as its last field (after the fields it declares,
    so every payload reads `result fields, then userErrors`), unless a payload base it extends already
    has it. `run_mutation` is the one place that fills it: empty on success, one entry per
    `FieldError` when the service raised `InputInvalid`.
    """

    user_errors: list[UserError]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = getattr(cls, "__dataclass_fields__", {})
        annotations = inspect.get_annotations(cls)
        if "user_errors" not in inherited and "user_errors" not in annotations:
            cls.__annotations__ = {**annotations, "user_errors": list[UserError]}


def _camel_path(path: list[str]) -> list[str]:
    return [camel_case(part) for part in path]


def provided(input_obj: object, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a client actually sent (unset ones left out), in snake_case."""
    return {name: value for name, value in vars(input_obj).items() if value is not UNSET and name not in skip}


def referenced_id(value: str | None, type_name: str, *field: str | int) -> Any:
    """The id of a `type_name` named inside a mutation's input, or None when the input left it out.

    A malformed id, or one of another type, raises `InputInvalid` with `NOT_FOUND` on
    `["input", *field]`, so `run_mutation` reports it as a user error on that field and nothing is
    written. (Whether the row exists for this tenant is the service's question; a foreign id finds
    no row under row-level security.)
    """
    if value is None:
        return None
    try:
        return decode_id(value, type_name)
    except NotFoundError:
        path = ["input", *(str(part) for part in field)]
        raise InputInvalid([FieldError(path, UserErrorCode.NOT_FOUND, f"No such {type_name}")]) from None


def referenced_ids(values: Sequence[str], type_name: str, *field: str | int) -> list[Any]:
    """`referenced_id` of each id of a list in the input (`ids: [ID!]!`), a bad one reported at its index."""
    return [referenced_id(value, type_name, *field, index) for index, value in enumerate(values)]


def referenced_fields(data: dict[str, Any], **types: str) -> dict[str, Any]:
    """`data` (from `provided`) with the ids it holds decoded in place: `field=type name` for each id
    field (snake_case), a bad one reported on its field; fields the input left out stay out."""
    for key, type_name in types.items():
        if data.get(key) is not None:
            data[key] = referenced_id(data[key], type_name, key)
    return data


async def run_mutation(work: Callable[[], Any], payload: Callable[..., Any]) -> Any:
    """Await `work`; turn input failures into a payload with `userErrors` (nothing written).

    The one way a mutation resolver runs its change: `work` returns the payload's result fields as a
    dict (wrapped in `payload` with empty `userErrors`) or a finished payload; an `InputInvalid`
    raised by `work` becomes `payload(user_errors=[...])`. Nothing is written in that case because
    services raise `InputInvalid` before they write, or inside the transaction `work` opens, which
    then rolls back. Resolvers never catch `InputInvalid` themselves (tests/schema/test_payloads.py).
    """
    try:
        result = await work()
    except InputInvalid as invalid:
        return payload(user_errors=[UserError.from_field_error(e) for e in invalid.errors])
    return payload(**result, user_errors=[]) if isinstance(result, dict) else result


async def write_mutation(
    context: RequestContext,
    payload: Callable[..., Any],
    result: Callable[[Any], dict[str, Any]],
    work: Callable[..., Any],
    *args: Any,
) -> Any:
    """`run_mutation` of the common case: one service call in its own transaction, wrapped.

    Runs `work(session, principal, *args)` through `context.write` (committed if it returns, rolled
    back if it raises) and maps what it returns to the payload's fields with `result`, which runs
    only after the commit. Arguments are computed by the caller, outside `run_mutation`: an input
    check that must become `userErrors` belongs in `work` or in a `run_mutation` body of its own.
    """
    principal = context.require_principal()

    async def run() -> dict[str, Any]:
        return result(await context.write(work, principal, *args))

    return await run_mutation(run, payload)
