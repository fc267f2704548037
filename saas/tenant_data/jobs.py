"""The export job, its sweep of exports whose message was lost (saas/jobs/stale.py), and the hourly
erasure of tenants deleted longer ago than the grace period."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from saas.jobs.periodic import MaintenanceTask, register_maintenance, register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.jobs.stale import SWEEP_INTERVAL
from saas.plugin_host.contributions import PeriodicJob
from saas.tenant_data.deletion import purge_due_tenants
from saas.tenant_data.exports import run_export, sweep_stale_exports

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


def send_export(tenant_id: uuid.UUID, export_id: uuid.UUID) -> None:
    """Enqueue the export (a no-op in a process whose jobs are not bound to a broker)."""
    if export_tenant_data.actor is not None:
        export_tenant_data.send(tenant_id, str(export_id))


@tenant_job(name="saas.tenant_data.sweep_stale", max_retries=3)
def sweep_stale(ctx: JobContext) -> None:
    sweep_stale_exports(ctx.session, send_export)


register_periodic(PeriodicJob("saas.tenant_data.sweep_stale", sweep_stale, SWEEP_INTERVAL))
