"""The scheduler enqueues a periodic job once per tenant that should run it, per interval, however many run."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text

from saas.jobs.periodic import PERIODIC, register_periodic
from saas.jobs.scheduler import ScheduledJob, Scheduler, all_tenants, run_scheduler, scheduled_jobs, tenants_by_plugin
from saas.plugin_host.contributions import PeriodicJob
from saas.plugin_host.host import PluginHost
from saas.plugin_host.models import TenantPlugin
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import TenantHandle
from tests.jobs import sample_plugin
from tests.jobs.helpers import customers_named, switch_plugin

PLUGIN_TICK = ScheduledJob(f"{sample_plugin.NAME}:tick", sample_plugin.TICK, sample_plugin.NAME)
CORE_TICK = ScheduledJob("core:tests.tick", PeriodicJob("tests.tick", sample_plugin.plugin_tick, timedelta(hours=1)))


def queued(broker: RedisBroker) -> list[Message]:
    """The messages waiting in the periodic test queue (no worker runs)."""
    data = broker.client.hvals(f"{broker.namespace}:{sample_plugin.PERIODIC_QUEUE}.msgs")
    return [Message.decode(d) for d in data]


def test_a_plugin_job_is_scheduled_once_per_enabled_tenant_per_interval_with_two_schedulers(
    runtime: Runtime,
    job_broker: RedisBroker,
    make_tenant: Callable[[], TenantHandle],
) -> None:
    enabled, also_enabled, disabled, never = (make_tenant() for _ in range(4))
    for handle in (enabled, also_enabled, disabled):
        switch_plugin(runtime, handle.id, sample_plugin.NAME, enabled=True)
    switch_plugin(runtime, disabled.id, sample_plugin.NAME, enabled=False)

    stop = threading.Event()
    schedulers = [
        threading.Thread(
            target=run_scheduler,
            args=(runtime, stop),
            kwargs={"broker": job_broker, "jobs": [PLUGIN_TICK], "tick_seconds": 0.01},
        )
        for _ in range(2)
    ]
    for thread in schedulers:
        thread.start()
    time.sleep(2.5)  # the interval is 1 s: two or three runs
    stop.set()
    for thread in schedulers:
        thread.join(5)

    messages = queued(job_broker)
    per_tenant = Counter(m.args[0] for m in messages)
    runs = per_tenant[str(enabled.id)]
    assert 2 <= runs <= 4, per_tenant
    assert per_tenant[str(also_enabled.id)] == runs
    assert per_tenant[str(disabled.id)] == per_tenant[str(never.id)] == 0
    # Never the same run twice: one message id per (job, tenant, due time).
    assert len({m.message_id for m in messages}) == len(messages)
    assert {m.actor_name for m in messages} == {"tests.jobs.plugin_tick"}


def test_a_core_job_is_scheduled_for_every_tenant_and_not_again_before_its_interval(
    runtime: Runtime, job_broker: RedisBroker, tenant: TenantHandle
) -> None:
    first, second = (Scheduler(runtime.engine, job_broker, [CORE_TICK]) for _ in range(2))
    everyone = all_tenants(runtime.engine)
    assert tenant.id in everyone

    assert first.tick() == len(everyone)
    assert second.tick() == 0  # shares the schedule: not due for an hour
    assert Scheduler(runtime.engine, job_broker, [CORE_TICK]).tick() == 0  # a restart neither
    assert sorted(m.args[0] for m in queued(job_broker)) == sorted(str(t) for t in everyone)


def test_only_one_scheduler_ticks_at_a_time(runtime: Runtime, job_broker: RedisBroker) -> None:
    first, second = (Scheduler(runtime.engine, job_broker, [CORE_TICK]) for _ in range(2))
    assert first.lock.acquire(blocking=False)
    try:
        assert second.tick() == 0
        assert queued(job_broker) == []
    finally:
        first.lock.release()
    assert second.tick() > 0


def test_scheduled_messages_run_for_enabled_tenants(
    runtime: Runtime,
    job_broker: RedisBroker,
    run_jobs: Callable[..., None],
    tenant: TenantHandle,
    other_tenant: TenantHandle,
) -> None:
    switch_plugin(runtime, tenant.id, sample_plugin.NAME, enabled=True)
    assert Scheduler(runtime.engine, job_broker, [PLUGIN_TICK]).tick() >= 1
    run_jobs()
    assert customers_named(runtime, tenant.id, "plugin tick") == 1
    assert customers_named(runtime, other_tenant.id, "plugin tick") == 0


def test_tenants_are_listed_per_plugin_across_tenants(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    switch_plugin(runtime, tenant.id, sample_plugin.NAME, enabled=True)
    switch_plugin(runtime, other_tenant.id, sample_plugin.NAME, enabled=False)
    listing = tenants_by_plugin(runtime.engine)
    assert tenant.id in listing[sample_plugin.NAME]
    assert other_tenant.id not in listing[sample_plugin.NAME]
    # The listing leaves the caller's transaction bound to the caller's tenant.
    with tenant_session(runtime.engine, other_tenant.id) as session:
        session.execute(text("SELECT count(*) FROM enabled_plugin_tenants()")).scalar_one()
        assert session.execute(text("SELECT current_setting('app.tenant_id')")).scalar_one() == str(other_tenant.id)
        assert session.scalars(select(TenantPlugin.tenant_id)).all() == [other_tenant.id]


def test_the_schedule_holds_core_and_healthy_plugin_jobs(job_plugins: PluginHost) -> None:
    keys = {job.key: job.plugin for job in scheduled_jobs(job_plugins)}
    assert keys["core:saas.jobs.prune_processed_jobs"] is None
    assert keys[f"{sample_plugin.NAME}:tick"] == sample_plugin.NAME
    name = f"tests.once-{uuid.uuid4()}"
    register_periodic(PeriodicJob(name, sample_plugin.plugin_tick, timedelta(minutes=5)))
    try:
        assert f"core:{name}" in {job.key for job in scheduled_jobs(None)}
    finally:
        del PERIODIC[name]
