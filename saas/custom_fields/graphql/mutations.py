"""Custom field mutations: thin wrappers over saas/custom_fields/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.custom_fields import service
from saas.custom_fields.graphql.types import CustomFieldDefinition
from saas.custom_fields.models import CustomFieldEntity, CustomFieldType
from saas.schema.common import Payload, provided, write_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


@strawberry.input
class DefineCustomFieldInput:
    entity: CustomFieldEntity
    key: str = strawberry.field(description="camelCase letters and digits, starting with a lowercase letter.")
    label: str
    type: CustomFieldType
    required: bool | None = strawberry.field(default=strawberry.UNSET, description="False when left out.")
    unique: bool | None = strawberry.field(default=strawberry.UNSET, description="False when left out.")
    options: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Required for SELECT and MULTI_SELECT, refused for the other types."
    )


@strawberry.input(description="Fields left out stay as they are; `version` must be the current one.")
class UpdateCustomFieldInput:
    id: strawberry.ID
    version: int
    label: str | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    options: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole new list; removing an option a record uses is refused."
    )


@strawberry.input
class ArchiveCustomFieldInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.type
class CustomFieldPayload(Payload):
    custom_field_definition: CustomFieldDefinition | None = None


@strawberry.type
class DefineCustomFieldPayload(CustomFieldPayload):
    pass


@strawberry.type
class UpdateCustomFieldPayload(CustomFieldPayload):
    pass


@strawberry.type
class ArchiveCustomFieldPayload(CustomFieldPayload):
    pass


def _definition(row: Any) -> dict[str, Any]:
    return {"custom_field_definition": CustomFieldDefinition.from_model(row)}


@strawberry.type
class CustomFieldMutations:
    @strawberry.mutation(
        description="A new custom field (owners and admins). Refused with INCOMPATIBLE_VALUES, VALUES_MISSING or "
        "DUPLICATE_VALUES when records already hold values under the key that the definition would not allow."
    )
    async def define_custom_field(
        self, info: Info[RequestContext, None], input: DefineCustomFieldInput
    ) -> DefineCustomFieldPayload:
        return await write_mutation(
            info.context, DefineCustomFieldPayload, _definition, service.define_custom_field, provided(input)
        )

    @strawberry.mutation(
        description="Changes the label, options, required or unique flag; refused when stored values would not "
        "satisfy the change (VALUES_MISSING, DUPLICATE_VALUES, INCOMPATIBLE_VALUES)."
    )
    async def update_custom_field(
        self, info: Info[RequestContext, None], input: UpdateCustomFieldInput
    ) -> UpdateCustomFieldPayload:
        raw_id = decode_id(input.id, "CustomFieldDefinition")
        return await write_mutation(
            info.context,
            UpdateCustomFieldPayload,
            _definition,
            service.update_custom_field,
            raw_id,
            input.version,
            provided(input, skip=("id", "version")),
        )

    @strawberry.mutation(description="Retires a field: values can then only be cleared; stored ones stay readable.")
    async def archive_custom_field(
        self, info: Info[RequestContext, None], input: ArchiveCustomFieldInput
    ) -> ArchiveCustomFieldPayload:
        raw_id = decode_id(input.id, "CustomFieldDefinition")
        return await write_mutation(
            info.context, ArchiveCustomFieldPayload, _definition, service.archive_custom_field, raw_id, input.version
        )
