"""Sensitive field mutations: thin wrappers over saas/sensitive/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.custom_fields.models import CustomFieldEntity
from saas.schema.common import Payload, write_mutation
from saas.schema.context import RequestContext
from saas.sensitive import service
from saas.sensitive.graphql.types import ReencryptRun, SensitiveCoreField


@strawberry.input(description="The whole set of an entity's core fields to store encrypted.")
class SetSensitiveFieldsInput:
    entity: CustomFieldEntity
    fields: list[str] = strawberry.field(description='Field names, e.g. ["phone"] of CONTACT; [] unmarks all.')


@strawberry.type
class SetSensitiveFieldsPayload(Payload):
    sensitive_fields: list[SensitiveCoreField] | None = None
    reencrypt_run: ReencryptRun | None = strawberry.field(
        default=None, description="The run that moves stored values (null when nothing changed)."
    )


def _result(result: Any) -> dict[str, Any]:
    fields, run = result
    return {
        "sensitive_fields": [
            SensitiveCoreField(entity=CustomFieldEntity(entity), field=field, sensitive=marked)
            for entity, field, marked in fields
        ],
        "reencrypt_run": ReencryptRun.from_model(run) if run is not None else None,
    }


@strawberry.type
class SensitiveMutations:
    @strawberry.mutation(
        description="Marks exactly these core fields of the entity sensitive (owners and admins); stored values "
        "are sealed (or opened back) by a background re-encryption run. UNKNOWN_FIELD for a field that cannot be marked."
    )
    async def set_sensitive_fields(
        self, info: Info[RequestContext, None], input: SetSensitiveFieldsInput
    ) -> SetSensitiveFieldsPayload:
        return await write_mutation(
            info.context,
            SetSensitiveFieldsPayload,
            _result,
            service.set_sensitive_fields,
            input.entity.value,
            list(input.fields),
        )
