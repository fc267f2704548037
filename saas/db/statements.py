"""Counts SQL statements, per request (tests assert it) and per process (`/metrics`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.engine import Engine

STATEMENTS = Counter("db_statements", "SQL statements sent to PostgreSQL")
_request_count: ContextVar[list[int] | None] = ContextVar("statement_count", default=None)


def count_statement() -> None:
    STATEMENTS.inc()
    box = _request_count.get()
    if box is not None:
        box[0] += 1


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count the statements run inside the block (also in threads it starts with copied context)."""
    box = [0]
    token = _request_count.set(box)
    try:
        yield box
    finally:
        _request_count.reset(token)


@event.listens_for(Engine, "before_cursor_execute")
def _on_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    count_statement()
