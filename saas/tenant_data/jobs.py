"""The export job, and the hourly erasure of tenants deleted longer ago than the grace period."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from saas.jobs.periodic import MaintenanceTask, register_maintenance
from saas.jobs.registry import JobContext, tenant_job
from saas.tenant_data.deletion import purge_due_tenants
from saas.tenant_data.exports import run_export

PURGE_INTERVAL = timedelta(hours=1)


# No retries: a failed export is recorded FAILED (its owner asks again), never half written.
@tenant_job(name="saas.tenant_data.export", max_retries=0, time_limit_ms=4 * 3_600_000)
def export_tenant_data(ctx: JobContext, export_id: str) -> None:
    run_export(ctx.session, uuid.UUID(export_id), ctx.plugins)


def purge_deleted_tenants(engine: Any) -> None:
    from saas.config import load_settings
    from saas.runtime import load_plugins

    grace = timedelta(days=load_settings().tenant_deletion_grace_days)
    purge_due_tenants(engine, grace, load_plugins())


register_maintenance(MaintenanceTask("saas.tenant_data.purge_deleted", purge_deleted_tenants, PURGE_INTERVAL))
