"""GraphQL types of data imports (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.exports.graphql.types import ImportEntity as EntityKind
from saas.imports import models
from saas.imports.models import DuplicatePolicy, ImportEntity, ImportStatus, RowOutcome
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

strawberry.enum(
    DuplicatePolicy,
    name="DuplicatePolicy",
    description="A row matching an existing record: SKIP it, UPDATE the record, or CREATE another.",
)
strawberry.enum(
    ImportStatus,
    name="ImportStatus",
    description="QUEUED → PARSING → PREVIEWING → PREVIEWED (a dry run; commitImport) → COMMITTING → COMPLETED; "
    "FAILED when the file cannot be read.",
)
strawberry.enum(RowOutcome, name="ImportRowOutcome", description="What a row does (a dry run) or did (committed).")


@strawberry.type(description="A problem of one cell or row: the file's column (if any), a code and a message.")
class ImportRowError:
    column: str | None
    code: str
    message: str


@strawberry.type(description="One data row of the file and its outcome.")
class ImportRow:
    row_number: int = strawberry.field(description="As in the file: the header is row 1 (blank rows not counted).")
    outcome: RowOutcome | None
    errors: list[ImportRowError]
    matched_id: strawberry.ID | None = strawberry.field(description="The existing record the row matched, if any.")
    record_id: strawberry.ID | None = strawberry.field(description="The record the commit created or updated.")
    values: JSON = strawberry.field(description="The row's cleaned values, by field.")
    diff: JSON | None = strawberry.field(description="An UPDATE's changes: {field: {from, to}}.")

    @classmethod
    def from_model(cls, row: models.ImportRow, entity: str) -> ImportRow:
        type_name = ENTITY_TYPES[ImportEntity(entity)]
        values = {k: v for k, v in row.values.items() if not k.endswith("Id")}
        return cls(
            row_number=row.row_number,
            outcome=RowOutcome(row.outcome) if row.outcome else None,
            errors=[ImportRowError(column=e.get("column"), code=e["code"], message=e["message"]) for e in row.errors],
            matched_id=strawberry.ID(to_global_id(type_name, row.matched_id)) if row.matched_id else None,
            record_id=strawberry.ID(to_global_id(type_name, row.record_id)) if row.record_id else None,
            values=cast(JSON, values),
            diff=cast(JSON, row.diff),
        )


ENTITY_TYPES = {ImportEntity.CUSTOMER: "Customer", ImportEntity.CONTACT: "Contact", ImportEntity.LEAD: "Lead"}


@strawberry.input(description="Rows with this outcome only.")
class ImportRowFilterInput:
    outcome: RowOutcome | None = None


@strawberry.type(description="A data import: a dry run to preview, or an import that applies itself.")
class ImportJob(Node):
    entity: EntityKind
    status: ImportStatus
    dry_run: bool
    duplicate_policy: DuplicatePolicy
    file_name: str
    file_format: str = strawberry.field(description="CSV or XLSX.")
    encoding: str | None = strawberry.field(description="The text encoding a CSV was read in.")
    mapping: JSON = strawberry.field(description="Which column fills which field: {header: field}.")
    total_rows: int
    processed_rows: int = strawberry.field(description="Rows done in the current phase (preview, then commit).")
    created: int
    updated: int
    skipped: int
    failed: int
    error: str | None = strawberry.field(description="Why a FAILED import stopped.")
    committed_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The rows by row number, keyset-paged; `filter.outcome` picks one outcome.")
    async def rows(
        self,
        info: Info[RequestContext, None],
        first: int | None = 50,
        after: str | None = None,
        filter: ImportRowFilterInput | None = None,
    ) -> CountedConnection[ImportRow]:
        from saas.imports.graphql.queries import import_rows

        entity = ImportEntity(self.entity.value.lower())
        return await import_rows(info, self.raw_id, entity, first, after, filter)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.ImportJob) -> ImportJob:
        return cls(
            id=strawberry.ID(to_global_id("ImportJob", row.id)),
            entity=EntityKind(row.entity.upper()),
            status=ImportStatus(row.status),
            dry_run=row.dry_run,
            duplicate_policy=DuplicatePolicy(row.duplicate_policy),
            file_name=row.file_name,
            file_format=row.file_format.upper(),
            encoding=row.encoding,
            mapping=cast(JSON, row.mapping),
            total_rows=row.total_rows,
            processed_rows=row.processed_rows,
            created=row.created,
            updated=row.updated,
            skipped=row.skipped,
            failed=row.failed,
            error=row.error,
            committed_at=row.committed_at,
            finished_at=row.finished_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
        )


ImportJobConnection = CountedConnection[ImportJob]


def row_sort_key(row: Any) -> list[Any]:
    return [row.row_number]
