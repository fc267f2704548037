"""`exportTenantData`: the owner asks for an export; the job runs after the commit."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from saas.schema.common import run_mutation
from saas.schema.context import RequestContext
from saas.tenant_data import exports
from saas.tenant_data.graphql.types import (
    ExportTenantDataPayload,
    TenantExport,
)


def _enqueue(tenant_id: uuid.UUID, export_id: uuid.UUID) -> None:
    from saas.tenant_data.jobs import send_export

    send_export(tenant_id, export_id)


@strawberry.type
class TenantDataMutations:
    @strawberry.mutation(
        description="Export every row of the tenant (core and plugin tables) as a background job; the owner only. "
        "Follow it with `tenantExport(id:)` or `tenantExportProgress(id:)`; once COMPLETED, `downloadUrl` "
        "is given once."
    )
    async def export_tenant_data(self, info: Info[RequestContext, None]) -> ExportTenantDataPayload:
        context = info.context
        principal = context.require_principal()

        async def run() -> dict[str, Any]:
            row = await context.write(exports.request_export, principal, _enqueue)
            return {"export": TenantExport.from_model(row)}

        return await run_mutation(run, ExportTenantDataPayload)  # type: ignore[no-any-return]
