"""Relay connections in one place: the generic `Connection[T]` / `Edge[T]` and the helpers that fill them.

A domain declares no Edge or Connection class of its own: a field typed `Connection[Customer]`
(or `CountedConnection[Customer]`, with `totalCount`) is named `CustomerConnection` in the schema,
its edges `CustomerEdge`, because Strawberry names a specialised generic type after its type
argument's GraphQL name followed by the generic's name (`MfgWarehouse` gives `MfgWarehouseConnection`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry

from saas.db.paging import Page
from saas.schema.common import PageInfo
from saas.schema.relay import decode_cursor, encode_cursor, page_size

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    """A list without a count: edges and page information."""

    edges: list[Edge[T]]
    page_info: PageInfo


@strawberry.type(name="Connection")
class CountedConnection(Connection[T]):
    """A list that also counts all its rows (`totalCount`); named `<Node>Connection` like `Connection`."""

    total_count: int


_AS_PYTHON: dict[str, Callable[[Any], Any]] = {"uuid": uuid.UUID, "timestamptz": datetime.fromisoformat}


def page_arguments(
    first: int | None, after: str | None, sql_types: tuple[str, ...], maximum: int
) -> tuple[int, list[Any] | None]:
    """`first` and `after` checked: the page size and the sort key inside the cursor (None without one).

    A negative `first`, one above `maximum` or a cursor that does not hold values of `sql_types`
    is BAD_USER_INPUT, raised before anything is read. The key's values come back as Python
    values to compare columns with: `uuid` as UUID, `timestamptz` as an aware datetime.
    """
    limit = page_size(first, maximum)
    if after is None:
        return limit, None
    values = decode_cursor(after, sql_types)
    return limit, [_AS_PYTHON.get(t, _same)(v) for v, t in zip(values, sql_types, strict=True)]


def _same(value: Any) -> Any:
    return value


def edges_of(rows: list[R], node: Callable[[R], T], sort_key: Callable[[R], list[Any]]) -> list[Edge[T]]:
    """An edge per row, its cursor the row's sort key (`encode_cursor`), in the rows' order."""
    return [Edge(node=node(row), cursor=encode_cursor(sort_key(row))) for row in rows]


def connection(
    page: Page[R],
    node: Callable[[R], T],
    sort_key: Callable[[R], list[Any]],
    *,
    has_previous_page: bool,
    kind: type[Connection[Any]] | None = None,
    **extra: Any,
) -> Any:
    """The connection of a keyset page: a `CountedConnection` when the page counted its rows, else a `Connection`.

    `has_previous_page` is whether the client paged on from a cursor (`after` given); `extra`
    fills the fields that `kind`, a subclass declaring a connection of its own, adds (e.g. `unreadCount`).
    """
    edges = edges_of(page.rows, node, sort_key)
    page_info = PageInfo.of(edges, has_next_page=page.has_next_page, has_previous_page=has_previous_page)
    if page.total_count is None:
        return (kind or Connection)(edges=edges, page_info=page_info, **extra)
    counted: type[Any] = kind or CountedConnection
    return counted(edges=edges, page_info=page_info, total_count=page.total_count, **extra)
