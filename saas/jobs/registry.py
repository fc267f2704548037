"""Declaring tenant jobs: `@tenant_job` turns a function into a job that runs for one tenant.

    @tenant_job(max_retries=5)
    def recount_stock(ctx: JobContext, product_id: str) -> None:
        ...  # ctx.session is bound to the message's tenant

    recount_stock.send(tenant_id, product_id)

The function runs in one transaction with a record of the message id: if the worker dies
before the commit, the message is delivered again and nothing was half done; if it dies
after, the record makes the second delivery a no-op. So a job's database effect happens
exactly once. Effects outside the database (HTTP calls) must be idempotent themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from saas.plugin_host.host import PluginHost
    from saas.webhooks.delivery import WebhookSender

JOBS: dict[str, TenantJob] = {}


class JobRejected(Exception):
    """Raised by a job for a message that can never succeed: dead-lettered at once, not retried."""


@dataclass
class JobContext:
    """What a job gets: its tenant, a session bound to it (committed when the job returns), and
    the runtime's plugin host and webhook sender."""

    tenant_id: uuid.UUID
    session: Session
    message_id: str
    attempt: int = 0
    plugins: PluginHost | None = None  # set by the runner (saas.jobs.runner)
    webhook_sender: WebhookSender | None = None  # set by the runner, as `plugins`


@dataclass
class TenantJob:
    function: Callable[..., Any]
    name: str
    queue: str = "default"
    max_retries: int = 5
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 300_000
    time_limit_ms: int = 600_000
    options: dict[str, Any] = field(default_factory=dict)
    actor: Any = None  # the dramatiq actor, once a broker is bound (saas.jobs.broker)

    def send(self, tenant_id: uuid.UUID, *args: Any, **kwargs: Any) -> Any:
        """Enqueue the job for `tenant_id`; arguments must be JSON values."""
        if self.actor is None:
            raise RuntimeError(f"job {self.name} is not bound to a broker (saas.jobs.broker.setup)")
        return self.actor.send(str(tenant_id), *args, **kwargs)

    def send_with_options(self, tenant_id: uuid.UUID, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> Any:
        if self.actor is None:
            raise RuntimeError(f"job {self.name} is not bound to a broker (saas.jobs.broker.setup)")
        return self.actor.send_with_options(args=(str(tenant_id), *args), kwargs=kwargs, delay=delay_ms)


def tenant_job(
    name: str | None = None,
    *,
    queue: str = "default",
    max_retries: int = 5,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 300_000,
    time_limit_ms: int = 600_000,
) -> Callable[[Callable[..., Any]], TenantJob]:
    def declare(function: Callable[..., Any]) -> TenantJob:
        job_name = name or f"{function.__module__}.{function.__qualname__}"
        if job_name in JOBS:
            raise ValueError(f"a job named {job_name} is already declared")
        job = TenantJob(function, job_name, queue, max_retries, min_backoff_ms, max_backoff_ms, time_limit_ms)
        JOBS[job_name] = job
        return job

    return declare
