"""`saas scheduler`: enqueues periodic jobs, once per tenant that should run them, every interval.

Core periodic jobs (saas.jobs.periodic) run for every tenant; a plugin's for the tenants that
enabled it (listed by the SQL function `enabled_plugin_tenants()`, see migration 0004).

Several schedulers may run (replicas, restarts): each tick happens under a Redis lock with an
expiry, so one acts at a time, and the next due time of each job lives in Redis, so a restart
or another scheduler continues the same schedule instead of running everything again. Time
is Redis's clock, shared by all. A scheduler that was down runs a missed job once, not once
per missed interval. The message of (job, tenant, due time) has a fixed id, so should two
schedulers ever enqueue the same run (a tick outliving its lock), the exactly-once record
makes the second delivery a no-op.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from redis.exceptions import LockError
from sqlalchemy import Engine, select, text

from saas.accounts.models import Tenant
from saas.jobs import broker as job_broker
from saas.jobs.periodic import MAINTENANCE, PERIODIC
from saas.jobs.registry import TenantJob
from saas.plugin_host.contributions import PeriodicJob
from saas.plugin_host.host import PluginHost
from saas.tenancy.session import tenant_session

if TYPE_CHECKING:
    from saas.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
LOCK_TIMEOUT_SECONDS = 60.0
MESSAGE_ID_NAMESPACE = uuid.UUID("5d0f8a56-4c1e-4b8e-9a55-2f7c3c1d9e10")


@dataclass(frozen=True)
class ScheduledJob:
    """A periodic job with its schedule key; `plugin` is None for the core's."""

    key: str
    periodic: PeriodicJob
    plugin: str | None = None

    @property
    def interval_ms(self) -> int:
        return int(self.periodic.interval.total_seconds() * 1000)


def scheduled_jobs(plugins: PluginHost | None) -> list[ScheduledJob]:
    """The core's periodic jobs and those of the healthy plugins."""
    jobs = [ScheduledJob(f"core:{p.name}", p) for p in PERIODIC.values()]
    for plugin in plugins.healthy() if plugins is not None else ():
        jobs.extend(ScheduledJob(f"{plugin.name}:{p.name}", p, plugin.name) for p in plugin.periodic_jobs)
    return jobs


def all_tenants(engine: Engine) -> list[uuid.UUID]:
    with tenant_session(engine, None) as session:
        return list(session.scalars(select(Tenant.id).where(Tenant.deleted_at.is_(None)).order_by(Tenant.id)))


def tenants_by_plugin(engine: Engine) -> dict[str, list[uuid.UUID]]:
    """Plugin name → the tenants that enabled it."""
    with tenant_session(engine, None) as session:
        rows = session.execute(text("SELECT tenant_id, plugin FROM enabled_plugin_tenants()"))
        listing: dict[str, list[uuid.UUID]] = defaultdict(list)
        for tenant_id, plugin in rows:
            listing[plugin].append(tenant_id)
    return listing


def run_message_id(key: str, tenant_id: uuid.UUID, due_ms: int) -> str:
    """The fixed id of one run of a periodic job for one tenant."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{key}|{tenant_id}|{due_ms}"))


class Scheduler:
    """Decides, tick by tick, which periodic jobs are due and enqueues them."""

    def __init__(
        self,
        engine: Engine,
        broker: RedisBroker,
        jobs: Sequence[ScheduledJob],
        *,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self.engine = engine
        self.client: redis.Redis = broker.client
        self.broker = broker
        self.jobs = list(jobs)
        self.due_key = f"{broker.namespace}:scheduler:due"
        self.lock = self.client.lock(f"{broker.namespace}:scheduler:lock", timeout=lock_timeout, blocking=False)

    def now_ms(self) -> int:
        seconds, micros = self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def tick(self) -> int:
        """Enqueue what is due, if no other scheduler is ticking; returns the messages enqueued."""
        if not self.lock.acquire(blocking=False):
            return 0
        try:
            return self._enqueue_due(self.now_ms())
        finally:
            try:
                self.lock.release()
            except LockError:
                log.warning("scheduler tick outlived its lock; another scheduler may have ticked too")

    def _enqueue_due(self, now: int) -> int:
        schedule = cast(dict[bytes, bytes], self.client.hgetall(self.due_key))
        stored = {key.decode(): int(due) for key, due in schedule.items()}
        self._run_maintenance(now, stored)
        due = [job for job in self.jobs if stored.get(job.key, now) <= now]
        if not due:
            return 0
        everyone = all_tenants(self.engine) if any(job.plugin is None for job in due) else []
        by_plugin = tenants_by_plugin(self.engine) if any(job.plugin for job in due) else {}
        sent = 0
        for job in due:
            slot = stored.get(job.key, now)
            tenants = everyone if job.plugin is None else by_plugin.get(job.plugin, [])
            sent += self._enqueue(job, slot, tenants)
            # Keep the phase; skip the intervals missed while no scheduler ran.
            missed = (now - slot) // job.interval_ms + 1
            self.client.hset(self.due_key, job.key, slot + missed * job.interval_ms)
        return sent

    def _run_maintenance(self, now: int, stored: dict[str, int]) -> None:
        for task in MAINTENANCE.values():
            key = f"maintenance:{task.name}"
            if stored.get(key, now) > now:
                continue
            interval_ms = int(task.interval.total_seconds() * 1000)
            self.client.hset(self.due_key, key, now + interval_ms)
            try:
                task.run(self.engine)
            except Exception:
                log.exception("maintenance task %s failed; it runs again next interval", task.name)

    def _enqueue(self, job: ScheduledJob, slot: int, tenants: Iterable[uuid.UUID]) -> int:
        target = job.periodic.job
        if not isinstance(target, TenantJob):
            log.error("periodic job %s does not name a tenant job; skipped", job.key)
            return 0
        count = 0
        for tenant_id in tenants:
            message: Message[None] = Message(
                queue_name=target.queue,
                actor_name=target.name,
                args=(str(tenant_id),),
                kwargs={},
                options={},
                message_id=run_message_id(job.key, tenant_id, slot),
            )
            self.broker.enqueue(message)
            count += 1
        log.info("scheduled %s for %d tenants", job.key, count)
        return count


def run_scheduler(
    runtime: Runtime,
    stop_event: threading.Event,
    *,
    broker: RedisBroker | None = None,
    jobs: Sequence[ScheduledJob] | None = None,
    tick_seconds: float = TICK_SECONDS,
) -> None:
    """Tick until `stop_event` is set; a failing tick is logged and the next one tries again."""
    if broker is None:
        broker = runtime.jobs.broker if runtime.jobs is not None else job_broker.setup(runtime)
    scheduler = Scheduler(runtime.engine, broker, jobs if jobs is not None else scheduled_jobs(runtime.plugins))
    log.info("scheduler started with %d periodic jobs", len(scheduler.jobs))
    while not stop_event.is_set():
        try:
            scheduler.tick()
        except Exception:
            log.exception("scheduler tick failed")
        stop_event.wait(tick_seconds)
    log.info("scheduler stopped")
