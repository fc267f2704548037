"""The import's background job: one chunk per message, the next message sent before the chunk commits.

Sending the next message first means a worker that dies after its commit cannot leave the import
stalled; a message that finds its chunk already done (the cursor moved) does the next one, and
one that finds the import finished does nothing (saas/imports/steps.py locks and reads the job).
The periodic sweep sends the next step again for an import whose message was lost (saas/jobs/stale.py).
"""

from __future__ import annotations

import uuid

from saas.imports.progress import send_step
from saas.imports.service import sweep_stale_imports
from saas.imports.steps import run_step as run_import_step
from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.jobs.stale import SWEEP_INTERVAL
from saas.plugin_host.contributions import PeriodicJob


@tenant_job(name="saas.imports.run_step", max_retries=10, time_limit_ms=900_000)
def run_step(ctx: JobContext, job_id: str) -> None:
    more = run_import_step(ctx.session, uuid.UUID(job_id))
    if more:
        send_step(ctx.tenant_id, uuid.UUID(job_id))


@tenant_job(name="saas.imports.sweep_stale", max_retries=3)
def sweep_stale(ctx: JobContext) -> None:
    sweep_stale_imports(ctx.session)


register_periodic(PeriodicJob("saas.imports.sweep_stale", sweep_stale, SWEEP_INTERVAL))
