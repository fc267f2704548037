"""The export job: `start_export` enqueues it after its commit; it writes the file (saas/exports/service.py).
The periodic sweep sends it again for an export whose message was lost (saas/jobs/stale.py)."""

from __future__ import annotations

import uuid

from saas.exports.service import run_export, sweep_stale_exports
from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.jobs.stale import SWEEP_INTERVAL
from saas.plugin_host.contributions import PeriodicJob


@tenant_job(name="saas.exports.run", max_retries=3, time_limit_ms=3_600_000)
def run_export_job(ctx: JobContext, job_id: str) -> None:
    run_export(ctx.session, uuid.UUID(job_id))


@tenant_job(name="saas.exports.sweep_stale", max_retries=3)
def sweep_stale(ctx: JobContext) -> None:
    sweep_stale_exports(ctx.session)


register_periodic(PeriodicJob("saas.exports.sweep_stale", sweep_stale, SWEEP_INTERVAL))
