"""A plugin for the job tests: one job and one periodic job, run only for tenants that enabled it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from saas.customers.models import Customer
from saas.plugin_api import JobContext, PeriodicJob, PluginMeta, hookimpl, tenant_job

NAME = "jobtest"
PERIODIC_QUEUE = "tests_periodic"


@tenant_job(name="tests.jobs.plugin_record", queue="tests_jobs", max_retries=0)
def plugin_record(ctx: JobContext, name: str) -> None:
    ctx.session.add(Customer(name=name))


@tenant_job(name="tests.jobs.plugin_tick", queue=PERIODIC_QUEUE, max_retries=0)
def plugin_tick(ctx: JobContext) -> None:
    ctx.session.add(Customer(name="plugin tick"))


TICK = PeriodicJob("tick", plugin_tick, timedelta(seconds=1))


@hookimpl
def saas_plugin_meta() -> PluginMeta:
    return PluginMeta(name=NAME, version="1.0", title="Job tests", api_version="1.0")


@hookimpl
def saas_jobs() -> list[Any]:
    return [plugin_record]


@hookimpl
def saas_periodic_jobs() -> list[PeriodicJob]:
    return [TICK]
