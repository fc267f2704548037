"""The SQL condition that visibility rules build and both read paths use (services and compiled reads).

It lives at the bottom so that the shared GraphQL kit (`saas/schema/`) and every domain can use it
without importing the domain whose rules fill it (`saas/customers/rules.py` and others).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SqlCondition:
    """A SQL boolean expression over a table alias, with its bind parameters."""

    parts: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, sql: str, **params: Any) -> None:
        self.parts.append(sql)
        self.params.update(params)

    def given(
        self,
        column: str,
        param: str,
        value: Any,
        *,
        op: str = "=",
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        """An optional filter: `<column> <op> :<param>` when `value` is given (not None), bound to
        `convert(value)` (or `value`); nothing when it is None. `param` must be unique in the
        condition (and in a `Within` beside it)."""
        if value is None:
            return
        if param in self.params:
            raise ValueError(f"parameter {param!r} is already bound in this condition")
        self.add(f"{column} {op} :{param}", **{param: convert(value) if convert is not None else value})

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"
