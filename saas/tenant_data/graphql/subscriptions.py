"""`tenantExportProgress`: an export's progress, live, until it ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.permissions import TENANT_EXPORT, require
from saas.realtime import listen
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.tenant_data import exports
from saas.tenant_data.graphql.types import (
    TenantExportProgress,
    TenantExportStatus,
)


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
