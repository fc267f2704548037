"""Custom field reads: the definitions of one record type."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.custom_fields import service
from saas.custom_fields.graphql.types import CustomFieldDefinition
from saas.custom_fields.models import CustomFieldEntity
from saas.schema.context import RequestContext


@strawberry.type
class CustomFieldQueries:
    @strawberry.field(description="The custom fields of a record type, in position order (one statement).")
    async def custom_field_definitions(
        self, info: Info[RequestContext, None], entity: CustomFieldEntity, include_archived: bool = False
    ) -> list[CustomFieldDefinition]:
        context = info.context
        rows = await context.read(
            lambda session: service.list_definitions(
                session, context.require_principal(), entity, include_archived=include_archived
            )
        )
        return [CustomFieldDefinition.from_model(row) for row in rows]
