"""`startExport`: a thin wrapper over saas/exports/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.exports import service
from saas.exports.entities import ExportFormat, ImportEntity
from saas.exports.graphql.types import ExportJob
from saas.schema.common import Payload, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class StartExportInput:
    entity: ImportEntity
    format: ExportFormat
    filter: JSON | None = strawberry.field(
        default=None,
        description="The entity list's `filter` input as JSON (contacts: the customers list's, for their "
        'customers), e.g. {"lifecycleStage": "CUSTOMER"}.',
    )


@strawberry.type
class StartExportPayload(Payload):
    job: ExportJob | None = None


@strawberry.type
class ExportMutations:
    @strawberry.mutation(
        description="Export the records the caller's list shows (with `filter`) to a file, in the background; "
        "read `exportJob(id)` for its status and download link."
    )
    async def start_export(self, info: Info[RequestContext, None], input: StartExportInput) -> StartExportPayload:
        data: dict[str, Any] = {"entity": input.entity.value, "format": input.format.value, "filter": input.filter}
        return await write_mutation(  # type: ignore[no-any-return]
            info.context,
            StartExportPayload,
            lambda job: {"job": ExportJob.from_model(job, None, None)},
            service.start_export,
            data,
        )
