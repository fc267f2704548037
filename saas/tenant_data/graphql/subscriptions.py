"""`tenantExportProgress`: an export's progress, live, until it ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import TENANT_EXPORT, require
from saas.auth.principal import Principal
from saas.realtime import Listening
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
        global_id = to_global_id("TenantExport", raw_id)
        # Listening starts before the read, so that progress made in between is not missed (an
        # export that ended before the subscription answers once, with its final state).
        async with Listening(context.runtime.redis_url, principal.tenant_id, exports.TOPIC) as messages:
            current = await context.write(_current, principal, raw_id)
            yield _progress(current)
            while current["status"] not in FINISHED:
                message = await messages.next()
                # Only this export's messages that move it on: one the read already saw is not sent again.
                if message.get("id") != global_id or _order(message) <= _order(current):
                    continue
                current = message
                yield _progress(current)


def _current(session: Session, principal: Principal, raw_id: uuid.UUID) -> dict[str, Any]:
    """The export as its live messages carry it, read whole in the request's session."""
    return exports.export_payload(exports.get_export(session, principal, raw_id))


FINISHED = (TenantExportStatus.COMPLETED.name, TenantExportStatus.FAILED.name)
_RANK = {TenantExportStatus.PENDING.name: 0, TenantExportStatus.RUNNING.name: 1}


def _order(message: dict[str, Any]) -> tuple[int, int, int]:
    """Where the export stands: it only moves forward (status, then tables, then rows done)."""
    return (_RANK.get(message["status"], 2), message["tablesDone"] or 0, message["rowsDone"] or 0)


def _progress(message: dict[str, Any]) -> TenantExportProgress:
    return TenantExportProgress(
        id=strawberry.ID(message["id"]),
        status=TenantExportStatus[message["status"]],
        tables_total=message["tablesTotal"],
        tables_done=message["tablesDone"],
        rows_done=message["rowsDone"],
    )
