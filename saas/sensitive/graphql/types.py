"""GraphQL types of sensitive fields and re-encryption runs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from saas.custom_fields.models import CustomFieldEntity
from saas.schema.common import Node
from saas.schema.relay import to_global_id
from saas.sensitive import models


@strawberry.type(description="A core field a tenant may store encrypted, and whether it does.")
class SensitiveCoreField:
    entity: CustomFieldEntity
    field: str = strawberry.field(description="The field's name in the API, e.g. `phone` of CONTACT.")
    sensitive: bool = strawberry.field(description="Stored encrypted; masked for callers without `sensitive:read`.")


@strawberry.enum
class ReencryptStatus(Enum):
    RUNNING = "running"
    DONE = "done"
    SUPERSEDED = "superseded"


@strawberry.type(
    description="Bringing every sensitive value of the tenant under one data key version (and core fields in line "
    "with their marking), in batches: its progress."
)
class ReencryptRun(Node):
    key_version: int = strawberry.field(description="The data key version every value ends up under.")
    status: ReencryptStatus
    processed: int = strawberry.field(description="Rows rewritten so far.")
    batches: int = strawberry.field(description="Batches committed so far.")
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(cls, row: models.ReencryptRun) -> ReencryptRun:
        return cls(
            id=strawberry.ID(to_global_id("ReencryptRun", row.id)),
            key_version=row.key_version,
            status=ReencryptStatus(row.status),
            processed=row.processed,
            batches=row.batches,
            started_at=row.started_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
        )
