"""Running one tenant job message: the tenant's session, the plugin check, and the exactly-once record.

Everything happens in one transaction of a session bound to the message's tenant:

1. the tenant must exist and not be deleted (`saas tenant delete`): else the message is dropped;
2. a plugin's job does nothing for a tenant that has not enabled the plugin (or when the plugin
   is broken here): nothing is written, not even a record, so the message has had no effect and
   a later delivery decides afresh;
3. `INSERT INTO processed_jobs … ON CONFLICT DO NOTHING` claims the message id: if the row
   exists the message already took effect and is skipped; if another delivery of the same
   message is running right now, the insert waits for it and then skips (or runs, if it rolled back);
4. the job's function runs with a `JobContext`;
5. the commit makes the effect and the record durable together.

A worker killed before the commit leaves nothing behind (PostgreSQL rolls the transaction
back), and the broker delivers the message again; killed after it, the record turns the
redelivery into a no-op. So the database effect of a message happens exactly once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dramatiq.middleware import CurrentMessage
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.accounts.models import Tenant
from saas.jobs.models import ProcessedJob
from saas.jobs.registry import JobContext, JobRejected, TenantJob
from saas.plugin_host.enabled import enabled_plugins
from saas.plugin_host.host import PluginHost
from saas.tenancy.session import tenant_session

if TYPE_CHECKING:
    from saas.webhooks.delivery import WebhookSender

log = logging.getLogger(__name__)


def plugin_owners(host: PluginHost | None) -> dict[str, str]:
    """Job name → the plugin that contributed it (broken plugins included: their jobs never run)."""
    owners: dict[str, str] = {}
    for plugin in host.plugins.values() if host is not None else ():
        jobs = [*plugin.jobs, *(periodic.job for periodic in plugin.periodic_jobs)]
        for job in jobs:
            if isinstance(job, TenantJob):
                owners[job.name] = plugin.name
    return owners


def parse_tenant(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def claim_message(session: Session, tenant_id: uuid.UUID, message_id: str, job_name: str) -> bool:
    """Record that the message takes effect in this transaction; False when it already did."""
    statement = (
        insert(ProcessedJob)
        .values(tenant_id=tenant_id, message_id=message_id, job=job_name)
        .on_conflict_do_nothing()
        .returning(ProcessedJob.message_id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def plugin_enabled(session: Session, host: PluginHost | None, plugin: str) -> bool:
    """The plugin is healthy in this process and the session's tenant has it enabled."""
    return host is not None and plugin in enabled_plugins(session, host)


class JobRunner:
    """Runs the messages of tenant jobs against one database, knowing which plugin owns which job;
    hands each job its runtime's plugin host and webhook sender (`JobContext`)."""

    def __init__(
        self,
        engine: Engine,
        plugins: PluginHost | None,
        owners: Mapping[str, str],
        webhook_sender: WebhookSender | None = None,
    ) -> None:
        self.engine = engine
        self.plugins = plugins if plugins is not None else PluginHost()  # none: a host without plugins
        self.owners = dict(owners)
        self.webhook_sender = webhook_sender  # none: webhook jobs refuse to run

    def run(self, job: TenantJob, tenant: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        tenant_id = parse_tenant(tenant)
        if tenant_id is None:
            raise JobRejected(f"job {job.name}: {tenant!r} is not a tenant id")
        message = CurrentMessage.get_current_message()
        # Called outside a worker (e.g. `job.actor(...)` in a script): a fresh message each time.
        message_id = message.message_id if message is not None else str(uuid.uuid4())
        attempt = int(message.options.get("retries", 0)) if message is not None else 0
        with tenant_session(self.engine, tenant_id) as session:
            tenant = session.get(Tenant, tenant_id)
            if tenant is None or tenant.deleted_at is not None:
                log.warning("job %s: tenant %s does not exist; message %s dropped", job.name, tenant_id, message_id)
                return
            plugin = self.owners.get(job.name)
            if plugin is not None and not plugin_enabled(session, self.plugins, plugin):
                log.info("job %s: plugin %s not enabled for tenant %s; skipped", job.name, plugin, tenant_id)
                return
            if not claim_message(session, tenant_id, message_id, job.name):
                log.info("job %s: message %s already took effect; skipped", job.name, message_id)
                return
            context = JobContext(tenant_id, session, message_id, attempt, self.plugins, self.webhook_sender)
            job.function(context, *args, **kwargs)
