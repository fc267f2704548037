"""Import reads: the list and `importJob(id)` compiled into one SQL statement each; a job's rows keyset-paged."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.db.conditions import SqlCondition
from saas.imports import models, rules, service
from saas.imports.graphql.loaders import import_job_loader
from saas.imports.graphql.sql import IMPORT_JOB, IMPORT_SORT
from saas.imports.graphql.types import ImportJob, ImportJobConnection, ImportRow, ImportRowFilterInput, row_sort_key
from saas.imports.models import ImportEntity
from saas.schema.compiled import compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.nodes import single_object
from saas.schema.relay import decode_id

ROW_CURSOR_TYPES = ("bigint",)


def import_condition(context: RequestContext) -> SqlCondition:
    principal = context.require_principal()
    rules.require_import_reader(principal)
    return rules.import_conditions(principal, "r")


async def load_import_job(context: RequestContext, raw_id: uuid.UUID) -> ImportJob | None:
    return await import_job_loader(context).load(raw_id)


async def import_rows(
    info: Info[RequestContext, None],
    job_id: uuid.UUID,
    entity: ImportEntity,
    first: int | None,
    after: str | None,
    filter: ImportRowFilterInput | None,
) -> object:
    context = info.context
    principal = context.require_principal()
    limit, position = page_arguments(first, after, ROW_CURSOR_TYPES, context.runtime.settings.max_page_size)
    outcome = filter.outcome if filter is not None else None
    page = await context.read(service.list_rows, principal, job_id, outcome, limit, position)
    return connection(
        page, lambda row: ImportRow.from_model(row, entity.value), row_sort_key, has_previous_page=after is not None
    )


@strawberry.type
class ImportQueries:
    @strawberry.field(description="The caller's imports (every import for roles that see all customers), newest first.")
    async def import_jobs(
        self, info: Info[RequestContext, None], first: int | None = 20, after: str | None = None
    ) -> ImportJobConnection:
        condition = import_condition(info.context)
        return await compiled_page(  # type: ignore[no-any-return]
            info, IMPORT_JOB, models.ImportJob, ImportJob.from_model, condition, IMPORT_SORT, first, after
        )

    @strawberry.field(description="One import with its counts and rows; NOT_FOUND for one the caller does not see.")
    async def import_job(self, info: Info[RequestContext, None], id: strawberry.ID) -> ImportJob:
        raw_id = decode_id(id, "ImportJob")
        return await single_object(  # type: ignore[no-any-return]
            info, IMPORT_JOB, raw_id, import_condition(info.context), load_import_job
        )
