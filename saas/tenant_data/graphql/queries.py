"""`tenantExport`: an export's status (and its one-time link) for the owner."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.schema.context import RequestContext
from saas.schema.relay import decode_id
from saas.tenant_data import exports
from saas.tenant_data.graphql.types import TenantExport


@strawberry.type
class TenantDataQueries:
    @strawberry.field(description="An export of the tenant's data, for its owner; NOT_FOUND otherwise.")
    async def tenant_export(self, info: Info[RequestContext, None], id: strawberry.ID) -> TenantExport:
        context = info.context
        principal = context.require_principal()
        raw_id = decode_id(id, "TenantExport")
        row = await context.read(exports.get_export, principal, raw_id)
        return TenantExport.from_model(row)
