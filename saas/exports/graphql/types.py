"""GraphQL types of export jobs, and the enums an import shares with them (`ImportEntity`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from saas.downloads.models import Download
from saas.exports import models
from saas.exports.entities import ExportFormat, ImportEntity
from saas.exports.models import ExportStatus
from saas.schema.common import Node
from saas.schema.relay import to_global_id

strawberry.enum(
    ImportEntity,
    name="ImportEntity",
    description="A kind of record to import or export; imports take CUSTOMER, CONTACT and LEAD.",
)
strawberry.enum(ExportFormat, name="ExportFormat", description="CSV (UTF-8 with a byte order mark) or XLSX.")
strawberry.enum(ExportStatus, name="ExportJobStatus")


@strawberry.type(description="An export of records to a file, made in the background.")
class ExportJob(Node):
    entity: ImportEntity
    format: ExportFormat
    status: ExportStatus
    row_count: int | None = strawberry.field(description="Rows written, once COMPLETED.")
    download_url: str | None = strawberry.field(
        description="The path (under the API's origin) that serves the file once, while it has not "
        "expired or been downloaded; null otherwise."
    )
    expires_at: datetime | None = strawberry.field(description="When the file is deleted.")
    error: str | None = strawberry.field(description="Why a FAILED export failed.")
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_model(cls, row: models.ExportJob, download: Download | None, url: str | None) -> ExportJob:
        return cls(
            id=strawberry.ID(to_global_id("ExportJob", row.id)),
            entity=ImportEntity(row.entity),
            format=ExportFormat(row.format),
            status=ExportStatus(row.status),
            row_count=row.row_count,
            download_url=url,
            expires_at=download.expires_at if download is not None else None,
            error=row.error,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )
