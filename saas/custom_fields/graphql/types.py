"""GraphQL types of custom field definitions."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from saas.custom_fields import models
from saas.custom_fields.models import CustomFieldEntity, CustomFieldType
from saas.schema.common import Node
from saas.schema.relay import to_global_id

# The domain's enums are the GraphQL enums: each is exposed once, here, under its own name.
strawberry.enum(CustomFieldEntity, name="CustomFieldEntity")
strawberry.enum(CustomFieldType, name="CustomFieldType")


@strawberry.type(
    description="A field a tenant added to one record type; its values are in the records' `customFields` JSON under `key`."
)
class CustomFieldDefinition(Node):
    entity: CustomFieldEntity
    key: str = strawberry.field(description="The field's name in `customFields`; never changes.")
    label: str
    type: CustomFieldType = strawberry.field(description="Never changes.")
    required: bool
    unique: bool = strawberry.field(
        description="No two records of the entity share a value (text compared in any case)."
    )
    options: list[str] = strawberry.field(description="The allowed values of a SELECT or MULTI_SELECT field.")
    position: int = strawberry.field(description="Fields are listed by position: the order they were defined in.")
    version: int = strawberry.field(description="Pass it back to updates; a stale one fails with CONFLICT.")
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = strawberry.field(
        description="Set when archived: values can only be cleared, and stay readable."
    )

    @classmethod
    def from_model(cls, row: models.CustomFieldDefinition) -> CustomFieldDefinition:
        return cls(
            id=strawberry.ID(to_global_id("CustomFieldDefinition", row.id)),
            entity=CustomFieldEntity(row.entity),
            key=row.key,
            label=row.label,
            type=CustomFieldType(row.type),
            required=row.required,
            unique=row.unique,
            options=list(row.options or []),
            position=row.position,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            archived_at=row.archived_at,
        )


@strawberry.input(description="Records whose custom field `key` has the value `equals`.")
class CustomFieldFilterInput:
    key: str
    equals: JSON = strawberry.field(
        description="A string, number or boolean; a string also matches a MULTI_SELECT holding it, a list of strings one holding all of them."
    )
