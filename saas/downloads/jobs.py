"""The hourly purge of every tenant's expired and downloaded files."""

from __future__ import annotations

from datetime import timedelta

from saas.downloads.service import purge_downloads
from saas.jobs.periodic import register_periodic
from saas.jobs.registry import JobContext, tenant_job
from saas.plugin_host.contributions import PeriodicJob


@tenant_job(name="saas.downloads.purge", max_retries=3)
def purge_expired_downloads(ctx: JobContext) -> None:
    purge_downloads(ctx.session)


register_periodic(PeriodicJob("saas.downloads.purge", purge_expired_downloads, timedelta(hours=1)))
