"""Running services from resolvers: the actor is resolved inside the request's session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.plugin_api import RequestContext, page_arguments
from saas_manufacturing.service.common import Actor, actor_for

T = TypeVar("T")


def _bound(context: RequestContext, work: Callable[..., T], args: tuple[Any, ...]) -> Callable[[Session], T]:
    principal = context.require_principal()

    def run(session: Session) -> T:
        return work(session, actor_for(session, principal), *args)

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


def page_args(
    info: Info[RequestContext, None], first: int | None, after: str | None, types: tuple[str, ...]
) -> tuple[int, list[Any] | None]:
    """`first` and `after` checked against the host's page limit: the page size and the cursor's sort key."""
    return page_arguments(first, after, types, info.context.runtime.settings.max_page_size)
