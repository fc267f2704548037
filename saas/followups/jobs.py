"""The follow-ups' periodic jobs: task reminders every minute, the public pool every hour."""

from __future__ import annotations

from datetime import timedelta

from saas.followups.pool import return_idle_customers
from saas.followups.reminders import send_task_reminders
from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.plugin_host.contributions import PeriodicJob

REMINDER_INTERVAL = timedelta(minutes=1)
PUBLIC_POOL_INTERVAL = timedelta(hours=1)


@tenant_job(name="saas.followups.send_task_reminders", max_retries=3)
def task_reminders(ctx: JobContext) -> None:
    send_task_reminders(ctx.session)


@tenant_job(name="saas.followups.return_idle_customers", max_retries=3)
def public_pool(ctx: JobContext) -> None:
    return_idle_customers(ctx.session, ctx.tenant_id)


register_periodic(PeriodicJob("saas.followups.send_task_reminders", task_reminders, REMINDER_INTERVAL))
register_periodic(PeriodicJob("saas.followups.return_idle_customers", public_pool, PUBLIC_POOL_INTERVAL))
