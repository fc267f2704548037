"""The dramatiq broker on Redis, and the binding of every declared tenant job to an actor.

    broker = setup(runtime)                # in `saas worker`, `saas scheduler`, `saas serve`, tests
    recount_stock.send(tenant_id, "p-1")   # any declared job can now be sent

`setup` creates a `RedisBroker` for the Redis URL (TCP or the embedded Redis's `unix://`
socket) under a key namespace, makes it dramatiq's global broker, records the binding on the
runtime (`Runtime.jobs`), and binds each job of
`saas.jobs.registry.JOBS` — the core's (the modules of `CORE_JOB_MODULES`) and the plugins'
(declared when their package was imported) — to an actor that runs it through `JobRunner`:
a session bound to the message's tenant, the plugin check, the exactly-once record.
Retries back off exponentially with the job's own limits; messages out of retries are
dead-lettered (kept `dead_message_ttl_ms`) and indexed per tenant (saas.jobs.deadletters).

A worker killed outright (kill -9, a lost machine) leaves its fetched messages unacknowledged.
dramatiq hands them out again during queue maintenance, once the dead worker's heartbeat is
older than `heartbeat_timeout_ms`; but it runs that maintenance only on a random one in
`MAINTENANCE_CHANCE / 1,000,000` broker commands, per queue, which on a quiet queue can take
many minutes. So every worker also runs it itself (`BrokerUpkeep`): every
`UPKEEP_INTERVAL_MS` it refreshes its own heartbeat and runs maintenance on every declared
queue and delay queue. A dead worker's messages are therefore handed out again within
`REDELIVERY_BOUND_MS` (heartbeat timeout plus one upkeep interval), whatever the traffic,
and a busy worker whose threads are all inside long jobs still heartbeats.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Middleware, default_middleware
from sqlalchemy import Engine

from saas.jobs.deadletters import DeadLetterIndex
from saas.jobs.registry import JOBS, JobRejected, TenantJob
from saas.jobs.runner import JobRunner, plugin_owners
from saas.plugin_host.host import PluginHost

if TYPE_CHECKING:
    from saas.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "saas-jobs"
DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000
# A worker silent this long is dead. Live workers heartbeat every UPKEEP_INTERVAL_MS (and on
# every poll), so this leaves room for pauses and for clock differences between machines.
HEARTBEAT_TIMEOUT_MS = 30_000
# How often each worker heartbeats and requeues dead workers' messages (BrokerUpkeep).
UPKEEP_INTERVAL_MS = 5_000
# The longest a dead worker's unacknowledged message waits before another worker gets it.
REDELIVERY_BOUND_MS = HEARTBEAT_TIMEOUT_MS + UPKEEP_INTERVAL_MS
# Out of a million broker commands, how many also run maintenance at random (dramatiq's own).
MAINTENANCE_CHANCE = 1000
# Modules that declare the core's jobs and periodic jobs; imported before binding.
CORE_JOB_MODULES: list[str] = [
    "saas.jobs.maintenance",
    "saas.events.dispatch",
    "saas.events.sweep",
    "saas.webhooks.delivery",
    "saas.followups.jobs",
    "saas.tickets.jobs",
    "saas.downloads.jobs",
    "saas.imports.jobs",
    "saas.sensitive.jobs",
    "saas.tenant_data.jobs",
    "saas.exports.jobs",
]


class MaintainedRedisBroker(RedisBroker):
    """dramatiq's `RedisBroker`, whose queue maintenance can also be run on demand (`maintain`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._forced = threading.local()

    def _should_do_maintenance(self, command: str) -> int:
        if getattr(self._forced, "on", False):
            return 1
        return int(super()._should_do_maintenance(command))

    def maintain(self) -> None:
        """Heartbeat, and run maintenance on every declared queue and delay queue now.

        dramatiq's maintenance (in its dispatch script) requeues the unacknowledged messages of
        workers whose heartbeat is older than `heartbeat_timeout`, and drops expired dead
        letters. It runs within a broker command on that command's queue; `qsize` is the
        command that changes nothing else, and every command records this process's heartbeat.
        """
        self._forced.on = True
        try:
            for queue in sorted(self.get_declared_queues() | self.get_declared_delay_queues()):
                self.do_qsize(queue)
        finally:
            self._forced.on = False


class BrokerUpkeep(Middleware):
    """In every worker: `maintain()` the broker every `interval_ms` while the worker runs."""

    def __init__(self, interval_ms: int = UPKEEP_INTERVAL_MS) -> None:
        self.interval_ms = interval_ms
        self._stops: dict[int, threading.Event] = {}

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        if not isinstance(broker, MaintainedRedisBroker):
            return
        stop = self._stops[id(worker)] = threading.Event()
        threading.Thread(target=self._run, args=(broker, stop), name="broker-upkeep", daemon=True).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        stop = self._stops.pop(id(worker), None)
        if stop is not None:
            stop.set()

    def _run(self, broker: MaintainedRedisBroker, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                broker.maintain()
            except Exception:
                # Redis unreachable: the consumers notice too; try again next interval.
                log.warning("broker upkeep failed; retrying in %d ms", self.interval_ms, exc_info=True)
            stop.wait(self.interval_ms / 1000)


@dataclass(frozen=True)
class Binding:
    broker: RedisBroker
    runner: JobRunner
    dead_message_ttl_ms: int

    @property
    def namespace(self) -> str:
        return str(self.broker.namespace)


def setup(
    target: Runtime | str,
    engine: Engine | None = None,
    plugins: PluginHost | None = None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
    maintenance_chance: int = MAINTENANCE_CHANCE,
    dead_message_ttl_ms: int = DEAD_MESSAGE_TTL_MS,
    upkeep_interval_ms: int = UPKEEP_INTERVAL_MS,
) -> RedisBroker:
    """Create the broker for a runtime (or a Redis URL with an engine and plugins) and bind every job.

    Given a runtime, the binding is kept there (`runtime.jobs`) for the code that enqueues or
    reads dead letters with it, its jobs get its webhook sender (a URL alone: none), and the
    broker talks to Redis through the runtime's client: the one its sessions publish live
    messages on, so that the work after a commit sends both in one round trip
    (`saas.tenancy.session.RedisStep`)."""
    webhook_sender = None
    client = None
    if isinstance(target, str):
        redis_url = target
    else:
        redis_url = target.redis_url
        client = target.redis
        webhook_sender = target.webhook_sender
        engine = engine or target.engine
        plugins = plugins if plugins is not None else target.plugins
    if engine is None:
        raise ValueError("setup needs the application engine that jobs run against")
    for module in CORE_JOB_MODULES:
        importlib.import_module(module)
    middleware = [m() for m in default_middleware] + [
        CurrentMessage(),
        DeadLetterIndex(dead_message_ttl_ms),
        BrokerUpkeep(upkeep_interval_ms),
    ]
    broker = MaintainedRedisBroker(
        url=None if client is not None else redis_url,
        client=client,
        namespace=namespace,
        middleware=middleware,
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
        dead_message_ttl=dead_message_ttl_ms,
    )
    runner = JobRunner(engine, plugins, plugin_owners(plugins), webhook_sender)
    for job in list(JOBS.values()):
        bind(broker, runner, job)
    dramatiq.set_broker(broker)
    if not isinstance(target, str):
        target.jobs = Binding(broker, runner, dead_message_ttl_ms)
    return broker


def bind(broker: RedisBroker, runner: JobRunner, job: TenantJob) -> Any:
    """Declare the actor of `job` on `broker`; its messages are `(tenant_id, *args)`."""

    def perform(tenant_id: str, *args: Any, **kwargs: Any) -> None:
        runner.run(job, tenant_id, args, kwargs)

    perform.__module__ = getattr(job.function, "__module__", __name__)
    perform.__qualname__ = perform.__name__ = job.name
    declare = dramatiq.actor(
        broker=broker,
        actor_name=job.name,
        queue_name=job.queue,
        max_retries=job.max_retries,
        min_backoff=job.min_backoff_ms,
        max_backoff=job.max_backoff_ms,
        time_limit=job.time_limit_ms,
        throws=(JobRejected,),
        **job.options,
    )
    job.actor = declare(perform)
    return job.actor


def jobs_bound() -> bool:
    """Whether a `setup` in this process bound the jobs to a broker (dramatiq's actors are global)."""
    return any(job.actor is not None for job in JOBS.values())


def namespace(runtime: Runtime) -> str:
    """The runtime's key namespace (the default when it set up no broker)."""
    return runtime.jobs.namespace if runtime.jobs is not None else DEFAULT_NAMESPACE


def dead_message_ttl_ms(runtime: Runtime) -> int:
    return runtime.jobs.dead_message_ttl_ms if runtime.jobs is not None else DEAD_MESSAGE_TTL_MS


def enqueuing_broker(runtime: Runtime) -> RedisBroker:
    """A broker to enqueue with: the runtime's, or a bare one on its Redis (a process that only sends)."""
    if runtime.jobs is not None:
        return runtime.jobs.broker
    return RedisBroker(client=runtime.redis, namespace=DEFAULT_NAMESPACE, middleware=[])
