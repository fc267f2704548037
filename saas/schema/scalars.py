"""Scalar overrides: date-times in one form whether Python or PostgreSQL writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from saas.schema.relay import iso_datetime


def parse_datetime(value: str) -> datetime:
    """ISO 8601; a date-time without an offset is taken as UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date-time. Output is UTC with microseconds (2026-11-25T09:30:00.000000+00:00); input without an offset is taken as UTC.",
    serialize=iso_datetime,
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
