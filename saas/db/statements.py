"""Counts SQL statements, per request (tests assert it) and per process (`/metrics`)."""

from __future__ import annotations

from contextvars import ContextVar, Token
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


class counting:  # entered as `with counting() as box`, as the function it was
    """Count the statements run inside the block (also in threads it starts with copied context).

    `with counting() as box`: `box[0]` is the count. The block's context variable is set on
    entry and reset on exit whatever the block raised (the exception goes on), as a generator's
    `try`/`finally` would, without the generator and its context-manager wrapper per block."""

    __slots__ = ("_token", "box")

    _token: Token[list[int] | None]

    def __init__(self) -> None:
        self.box = [0]

    def __enter__(self) -> list[int]:
        self._token = _request_count.set(self.box)
        return self.box

    def __exit__(self, *exc_info: object) -> None:
        _request_count.reset(self._token)


@event.listens_for(Engine, "before_cursor_execute")
def _on_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    count_statement()
