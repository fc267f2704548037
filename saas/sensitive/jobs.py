"""The re-encryption job: one batch of the tenant's running run per message (`service.run_batch`).

Each message sends the next one before its own transaction commits: the next waits on the run's
row lock until this batch is committed, then carries on from the moved cursor. A worker killed
mid-batch rolls the batch back and the broker delivers the message again; so the chain never
breaks, and a batch never runs twice. `saas keys reencrypt --tenant S` on a tenant whose run is
still running sends a message again (resume).
"""

from __future__ import annotations

import uuid

from saas.jobs.registry import JobContext, tenant_job
from saas.sensitive import keys
from saas.sensitive.service import RUNNING, run_batch


@tenant_job(name="saas.sensitive.reencrypt", max_retries=10)
def reencrypt(ctx: JobContext) -> None:
    run = run_batch(ctx.session, ctx.tenant_id, keys.batch_size())
    if run is not None and run.status == RUNNING:
        request_reencrypt(ctx.tenant_id)


def request_reencrypt(tenant_id: uuid.UUID) -> bool:
    """Enqueue the next batch; False in a process whose jobs are not bound to a broker."""
    if reencrypt.actor is None:
        return False
    reencrypt.send(tenant_id)
    return True
