"""Running services from resolvers: the actor is resolved inside the request's session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.plugin_api import RequestContext, decode_cursor, page_size
from saas_manufacturing.service.common import Actor, actor_for

T = TypeVar("T")


def _bound(context: RequestContext, work: Callable[..., T], args: tuple[Any, ...]) -> Callable[[Session], T]:
    principal = context.require_principal()

    def run(session: Session) -> T:
        return work(session, actor_for(session, principal, context.runtime.redis), *args)

    return run


async def read(info: Info[RequestContext, None], work: Callable[..., T], *args: Any) -> T:
    """`work(session, actor, *args)` on the request's read session."""
    return await info.context.read(_bound(info.context, work, args))


async def write(info: Info[RequestContext, None], work: Callable[..., T], *args: Any) -> T:
    """`work(session, actor, *args)` in its own transaction (committed when it returns)."""
    return await info.context.write(_bound(info.context, work, args))


async def subscriber(info: Info[RequestContext, None]) -> Actor:
    """The actor of a subscription, checked in a short transaction that returns its connection at once
    (a subscription lives long; it must not hold a connection or an open transaction meanwhile)."""
    return await write(info, lambda session, actor: actor)


def limit(info: Info[RequestContext, None], first: int | None) -> int:
    return page_size(first, info.context.runtime.settings.max_page_size)


def after_values(after: str | None, types: tuple[str, ...]) -> list[Any] | None:
    """The sort key in a cursor, as Python values (BAD_USER_INPUT when it does not decode)."""
    if after is None:
        return None
    values = decode_cursor(after, types)
    converted: list[Any] = []
    for value, sql_type in zip(values, types, strict=True):
        if sql_type == "uuid":
            converted.append(UUID(value))
        elif sql_type == "timestamptz":
            converted.append(datetime.fromisoformat(value))
        else:
            converted.append(value)
    return converted
