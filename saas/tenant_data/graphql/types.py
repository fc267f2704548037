"""GraphQL types of the owner's export of the tenant's data."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from saas.schema.common import Payload
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id
from saas.tenant_data import exports
from saas.tenant_data.models import TenantExport as TenantExportRow


@strawberry.enum(description="Where an export stands.")
class TenantExportStatus(Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@strawberry.type(description="An export of all the tenant's data (the owner's), as a tar.gz of JSON Lines files.")
class TenantExport:
    id: strawberry.ID
    status: TenantExportStatus
    tables_total: int = strawberry.field(description="Tables to export (known once the job starts).")
    tables_done: int
    rows_done: int = strawberry.field(description="Rows written so far.")
    error: str | None = strawberry.field(description="Why a FAILED export failed.")
    created_at: datetime
    completed_at: datetime | None
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description="The signed link (a path on this server) that downloads the archive once, within 24 hours. "
        "Given once, to the owner who asked for the export, when COMPLETED; null afterwards."
    )
    async def download_url(self, info: Info[RequestContext, None]) -> str | None:
        context = info.context
        principal = context.require_principal()
        if self.status is not TenantExportStatus.COMPLETED:
            return None

        def issue(session: object) -> str | None:
            export = exports.get_export(session, principal, self.raw_id)  # type: ignore[arg-type]
            return exports.issue_link(session, context.runtime.settings, principal, export)  # type: ignore[arg-type]

        return await context.write(issue)

    @classmethod
    def from_model(cls, row: TenantExportRow) -> TenantExport:
        return cls(
            id=strawberry.ID(to_global_id("TenantExport", row.id)),
            status=TenantExportStatus(row.status),
            tables_total=row.tables_total,
            tables_done=row.tables_done,
            rows_done=row.rows_done,
            error=row.error,
            created_at=row.created_at,
            completed_at=row.completed_at,
            raw_id=row.id,
        )


@strawberry.type(description="Progress of an export, as it happens.")
class TenantExportProgress:
    id: strawberry.ID
    status: TenantExportStatus
    tables_total: int
    tables_done: int
    rows_done: int


@strawberry.type
class ExportTenantDataPayload(Payload):
    export: TenantExport | None = strawberry.field(default=None, description="The export job, PENDING.")
