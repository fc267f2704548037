"""The SQL condition that visibility rules build and both read paths use (services and compiled reads).

It lives at the bottom so that the shared GraphQL kit (`saas/schema/`) and every domain can use it
without importing the domain whose rules fill it (`saas/customers/rules.py` and others).
"""

from __future__ import annotations

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

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"
