"""The export's roots: the mutation that asks for it, the query of its status, the live progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.permissions import TENANT_EXPORT, require
from saas.realtime import listen
from saas.schema.common import run_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.tenant_data import exports
from saas.tenant_data.graphql.types import (
    ExportTenantDataPayload,
    TenantExport,
    TenantExportProgress,
    TenantExportStatus,
)


def _enqueue(tenant_id: uuid.UUID, export_id: uuid.UUID) -> None:
    from saas.tenant_data.jobs import export_tenant_data

    export_tenant_data.send(tenant_id, str(export_id))


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


@strawberry.type
class TenantDataQueries:
    @strawberry.field(description="An export of the tenant's data, for its owner; NOT_FOUND otherwise.")
    async def tenant_export(self, info: Info[RequestContext, None], id: strawberry.ID) -> TenantExport:
        context = info.context
        principal = context.require_principal()
        raw_id = decode_id(id, "TenantExport")
        row = await context.write(exports.get_export, principal, raw_id)
        return TenantExport.from_model(row)


@strawberry.type
class TenantDataSubscriptions:
    @strawberry.subscription(description="The progress of an export of the tenant's data, until it ends (the owner).")
    async def tenant_export_progress(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> AsyncGenerator[TenantExportProgress, None]:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, TENANT_EXPORT)
        raw_id = decode_id(id, "TenantExport")
        row = await context.write(exports.get_export, principal, raw_id)
        global_id = to_global_id("TenantExport", raw_id)

        def progress(message: dict[str, Any]) -> TenantExportProgress:
            return TenantExportProgress(
                id=strawberry.ID(message["id"]),
                status=TenantExportStatus[message["status"]],
                tables_total=message["tablesTotal"],
                tables_done=message["tablesDone"],
                rows_done=message["rowsDone"],
            )

        current = progress(exports.export_payload(row))
        yield current
        if current.status in (TenantExportStatus.COMPLETED, TenantExportStatus.FAILED):
            return
        async for message in listen(context.runtime.redis_url, principal.tenant_id, exports.TOPIC):
            if message.get("id") != global_id:
                continue
            update = progress(message)
            yield update
            if update.status in (TenantExportStatus.COMPLETED, TenantExportStatus.FAILED):
                return
