"""Keyset pages in one place: the `Page` every list service returns, the query that fills it
(`keyset_page`) and the one that fills a page per parent for a loader (`pages_per_parent`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, TextClause, func, select, tuple_
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


def pages_per_parent(
    session: Session,
    entity: type[R],
    parent: InstrumentedAttribute[Any],
    parent_ids: Sequence[Any],
    sort: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    after: Sequence[Any] | None = None,
    *,
    where: Sequence[ColumnElement[bool] | TextClause] = (),
    params: Mapping[str, Any] | None = None,
    descending: bool = False,
    count: bool = True,
) -> dict[Any, Page[R]]:
    """A keyset page of `entity`'s rows for each of `parent_ids` (rows whose `parent` column holds
    the id): the page a `keyset_page` of each parent's rows would give, in one statement for all
    the pages (`row_number()` per parent, one row past the page) and, with `count`, one for the
    counts. `where` narrows the rows (the caller's visibility; `params` binds its text clauses);
    the counts count what `where` lets through, before the cursor. Every parent id has a page,
    an empty one for a parent without rows (or one the session's tenant cannot see).
    """
    if not parent_ids:
        return {}
    ids = list(dict.fromkeys(parent_ids))
    bound = dict(params or {})
    order = [c.desc() for c in sort] if descending else list(sort)
    conditions = [parent.in_(ids), *where]
    ranked_query = select(entity, func.row_number().over(partition_by=parent, order_by=order).label("page_row"))
    ranked_query = ranked_query.where(*conditions)
    if after is not None:
        key, values = tuple_(*sort), tuple_(*after)
        ranked_query = ranked_query.where(key < values if descending else key > values)
    ranked = ranked_query.params(**bound).subquery()
    page_rows = select(entity).from_statement(
        select(ranked)
        .where(ranked.c.page_row <= limit + 1)
        .order_by(ranked.c[parent.expression.name], ranked.c.page_row)
    )
    fetched: dict[Any, list[R]] = {parent_id: [] for parent_id in ids}
    for row in session.scalars(page_rows):
        fetched[getattr(row, parent.key)].append(row)
    counts: dict[Any, int] = {}
    if count:
        counted = select(parent, func.count()).where(*conditions).group_by(parent).params(**bound)
        counts = {parent_id: int(n) for parent_id, n in session.execute(counted).all()}
    return {
        parent_id: Page.of(rows, limit, counts.get(parent_id, 0) if count else None)
        for parent_id, rows in fetched.items()
    }
