"""The tickets' periodic job: SLA breaches flagged every minute (saas/tickets/sla.py)."""

from __future__ import annotations

from datetime import timedelta

from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.plugin_host.contributions import PeriodicJob
from saas.tickets.sla import flag_breaches

SLA_INTERVAL = timedelta(minutes=1)


@tenant_job(name="saas.tickets.flag_sla_breaches", max_retries=3)
def sla_breaches(ctx: JobContext) -> None:
    flag_breaches(ctx.session, ctx.tenant_id)


register_periodic(PeriodicJob("saas.tickets.flag_sla_breaches", sla_breaches, SLA_INTERVAL))
