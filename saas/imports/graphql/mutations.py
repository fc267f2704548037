"""Import mutations: thin wrappers over saas/imports/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.exports.graphql.types import ImportEntity
from saas.imports import service
from saas.imports.graphql.types import ImportJob
from saas.imports.models import DuplicatePolicy
from saas.schema.common import Payload, provided, referenced_id, run_mutation, write_mutation
from saas.schema.context import RequestContext


@strawberry.input
class StartImportInput:
    entity: ImportEntity = strawberry.field(
        description="CUSTOMER, CONTACT or LEAD (the others are exported only: INVALID)."
    )
    file_name: str
    content: str = strawberry.field(
        description="The file (CSV or XLSX), base64; or a multipart upload's file (GraphQL multipart request spec)."
    )
    content_encoding: str | None = strawberry.field(
        default=None, description='"base64" (the default) or "utf-8" for a CSV given as text.'
    )
    mapping: JSON | None = strawberry.field(
        default=None, description="Overrides of the guessed column mapping: {header: field}, null to ignore a column."
    )
    dry_run: bool
    duplicate_policy: DuplicatePolicy


@strawberry.input
class CommitImportInput:
    id: strawberry.ID


@strawberry.type
class ImportJobPayload(Payload):
    job: ImportJob | None = None


def _result(row: Any) -> dict[str, Any]:
    return {"job": ImportJob.from_model(row)}


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Queue an import of a CSV or XLSX file: the header and mapping are checked now "
        "(userErrors, nothing stored), the rows by a background job in chunks (importProgress)."
    )
    async def start_import(self, info: Info[RequestContext, None], input: StartImportInput) -> ImportJobPayload:
        data = provided(input)
        data["entity"] = input.entity.value
        data["duplicate_policy"] = input.duplicate_policy.value
        max_bytes = info.context.runtime.settings.import_max_bytes
        return await write_mutation(  # type: ignore[no-any-return]
            info.context, ImportJobPayload, _result, service.start_import, data, max_bytes
        )

    @strawberry.mutation(
        description="Apply a PREVIEWED dry run exactly as previewed (INVALID_TRANSITION otherwise, or when "
        "already committed); rows changed since the preview fail with STALE."
    )
    async def commit_import(self, info: Info[RequestContext, None], input: CommitImportInput) -> ImportJobPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "ImportJob", "id")
            return _result(await info.context.write(service.commit_import, info.context.require_principal(), raw_id))

        return await run_mutation(run, ImportJobPayload)  # type: ignore[no-any-return]
