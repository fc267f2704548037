"""Scalar overrides: date-times in one form whether Python or PostgreSQL writes them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from saas.schema.relay import iso_datetime

DateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date-time in UTC with microseconds, e.g. 2026-11-25T09:30:00.000000+00:00.",
    serialize=iso_datetime,
    parse_value=lambda value: datetime.fromisoformat(value),
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
