"""The jobs layer's own upkeep: forgetting exactly-once records that no delivery can need any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from saas.jobs.models import ProcessedJob
from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.plugin_host.contributions import PeriodicJob

# Far beyond any redelivery: a committed message is redelivered at most
# `broker.REDELIVERY_BOUND_MS` after its worker died; retries and dead letters concern
# uncommitted ones.
PROCESSED_JOBS_KEPT = timedelta(days=30)


@tenant_job(name="saas.jobs.prune_processed_jobs", max_retries=3)
def prune_processed_jobs(ctx: JobContext) -> None:
    cutoff = datetime.now(UTC) - PROCESSED_JOBS_KEPT
    ctx.session.execute(delete(ProcessedJob).where(ProcessedJob.created_at < cutoff))


register_periodic(PeriodicJob("saas.jobs.prune_processed_jobs", prune_processed_jobs, timedelta(days=1)))
