"""Sensitive field reads: which core fields are marked, and the latest re-encryption runs."""

from __future__ import annotations

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import CUSTOM_FIELDS_MANAGE, CUSTOMERS_READ, require
from saas.custom_fields.models import CustomFieldEntity
from saas.schema.context import RequestContext
from saas.sensitive import service
from saas.sensitive.graphql.types import ReencryptRun, SensitiveCoreField


def core_fields(session: Session) -> list[SensitiveCoreField]:
    return [
        SensitiveCoreField(entity=CustomFieldEntity(entity), field=field, sensitive=marked)
        for entity, field, marked in service.sensitive_core_fields(session)
    ]


@strawberry.type
class SensitiveQueries:
    @strawberry.field(description="The core fields the tenant may mark sensitive, and whether each is (one statement).")
    async def sensitive_fields(self, info: Info[RequestContext, None]) -> list[SensitiveCoreField]:
        require(info.context.require_principal().permissions, CUSTOMERS_READ)
        return await info.context.read(core_fields)

    @strawberry.field(
        description="The latest re-encryption runs, newest first, with their progress (owners and admins)."
    )
    async def reencrypt_runs(self, info: Info[RequestContext, None], first: int = 10) -> list[ReencryptRun]:
        require(info.context.require_principal().permissions, CUSTOM_FIELDS_MANAGE)
        limit = max(1, min(first, 50))
        rows = await info.context.read(lambda session: service.latest_runs(session, limit))
        return [ReencryptRun.from_model(row) for row in rows]
