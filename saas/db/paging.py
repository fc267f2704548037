"""Keyset pages in one place: the `Page` every list service returns and the query that fills it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of rows in sort order; `has_next_page` when a row exists past the last one.

    `total_count` is the number of rows the whole list holds, or None for lists that do not count.
    """

    rows: list[R]
    has_next_page: bool
    total_count: int | None = None

    @classmethod
    def of(cls, fetched: list[R], limit: int, total_count: int | None = None) -> Page[R]:
        """The page from `limit + 1` fetched rows: the extra row only says that a next page exists."""
        return cls(rows=fetched[:limit], has_next_page=len(fetched) > limit, total_count=total_count)


def keyset_page(
    session: Session,
    query: Select[Any],
    sort: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    after: Sequence[Any] | None,
    *,
    descending: bool = False,
    count: bool = True,
) -> Page[Any]:
    """One page of `query` by the unique key `sort`, after the cursor's values: two statements (one without `count`).

    The key is compared as a row value (`(a, b) > (:a, :b)`), so a page never skips or repeats a
    row however many rows share a leading value, provided `sort` is unique. `total_count` counts
    the whole of `query`, before the cursor, so it is the same on every page.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0 if count else None
    if after is not None:
        key, values = tuple_(*sort), tuple_(*after)
        query = query.where(key < values if descending else key > values)
    order = [c.desc() for c in sort] if descending else list(sort)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    return Page.of(rows, limit, total)
