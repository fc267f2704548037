"""Background work: expiring points whose date passed (hourly, per tenant that enabled loyalty)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saas.plugin_api import JobContext, PeriodicJob, tenant_job

from saas_plugin_loyalty.service import expire_due_points


@tenant_job("loyalty.expire_points", max_retries=3)
def expire_points(ctx: JobContext) -> None:
    # One transaction, recorded with the message id: a redelivery books nothing twice.
    expire_due_points(ctx.session, datetime.now(UTC))


EXPIRE_HOURLY = PeriodicJob(name="loyalty.expire_points", job=expire_points, interval=timedelta(hours=1))
