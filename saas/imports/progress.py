"""An import's progress, live (`importProgress`), and the request for its next chunk.

After each committed chunk the job's live message goes out on the tenant's `imports` topic
(`publish_after_commit`, so never for a chunk rolled back); subscribers read the job afresh.
The next chunk is a message of the `saas.imports.run_step` job (saas/imports/jobs.py); a
process whose jobs are not bound to a broker sends none (tests and the CLI run the steps
themselves).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from saas.realtime import publish_after_commit
from saas.tenancy.session import bound_tenant, on_commit

if TYPE_CHECKING:
    from saas.imports.models import ImportJob

TOPIC = "imports"


def announce(session: Session, job: ImportJob) -> None:
    publish_after_commit(
        session,
        TOPIC,
        {"job_id": str(job.id), "created_by_id": str(job.created_by_id) if job.created_by_id else None},
    )


def send_step(tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Enqueue the job's next chunk now (a no-op without a broker)."""
    from saas.imports.jobs import run_step  # the job module imports the steps, which import this

    if run_step.actor is not None:
        run_step.send(tenant_id, str(job_id))


def request_step(session: Session, job_id: uuid.UUID) -> None:
    """Enqueue the job's next chunk once the session's transaction commits."""
    tenant_id = bound_tenant(session)
    if tenant_id is not None:
        on_commit(session, lambda: send_step(tenant_id, job_id))
