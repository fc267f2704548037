"""Types every domain shares: Node, PageInfo, UserError, and the payload helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.unset import UNSET

from saas.errors import FieldError, InputInvalid
from saas.validation import camel_case


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


def _camel_path(path: list[str]) -> list[str]:
    return [camel_case(part) for part in path]


def provided(input_obj: object, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a client actually sent (unset ones left out), in snake_case."""
    return {name: value for name, value in vars(input_obj).items() if value is not UNSET and name not in skip}


async def run_mutation(work: Callable[[], Any], payload: Callable[..., Any]) -> Any:
    """Await `work`; turn input failures into a payload with `userErrors` (nothing written)."""
    try:
        result = await work()
    except InputInvalid as invalid:
        return payload(user_errors=[UserError.from_field_error(e) for e in invalid.errors])
    return payload(**result, user_errors=[]) if isinstance(result, dict) else result
