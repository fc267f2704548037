"""The export job: `start_export` enqueues it after its commit; it writes the file (saas/exports/service.py)."""

from __future__ import annotations

import uuid

from saas.exports.service import run_export
from saas.jobs.registry import JobContext, tenant_job


@tenant_job(name="saas.exports.run", max_retries=3, time_limit_ms=3_600_000)
def run_export_job(ctx: JobContext, job_id: str) -> None:
    run_export(ctx.session, uuid.UUID(job_id))
