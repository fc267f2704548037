"""Retries back off exponentially, then succeed; the failed attempts leave nothing behind."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable

import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.connection import UnixDomainSocketConnection

from saas.jobs.broker import (
    DEAD_MESSAGE_TTL_MS,
    DEFAULT_NAMESPACE,
    REDELIVERY_BOUND_MS,
    BrokerUpkeep,
    MaintainedRedisBroker,
    dead_message_ttl_ms,
    enqueuing_broker,
    namespace,
    setup,
)
from saas.jobs.registry import JOBS
from saas.runtime import Runtime, create_runtime
from tests.conftest import TenantHandle
from tests.jobs import sample_jobs
from tests.jobs.helpers import customers_named


def test_a_failing_job_is_retried_with_backoff_then_succeeds_once(
    runtime: Runtime, job_broker: RedisBroker, run_jobs: Callable[..., None], tenant: TenantHandle, job_namespace: str
) -> None:
    key = f"{job_namespace}:flaky:{secrets.token_hex(4)}"
    sample_jobs.flaky.send(tenant.id, key, 2)
    run_jobs()

    attempts = [json.loads(a) for a in sample_jobs.reports().lrange(key, 0, -1)]
    assert [a["attempt"] for a in attempts] == [0, 1, 2]
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(attempts)]
    # min_backoff 200 ms, doubled per retry (dramatiq adds up to 100% jitter).
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    assert customers_named(runtime, tenant.id, key) == 1


def test_every_declared_job_is_bound_with_its_limits(runtime: Runtime, job_broker: RedisBroker) -> None:
    for name, job in JOBS.items():
        actor = job_broker.get_actor(name)
        assert job.actor is actor and actor.queue_name == job.queue
    options = job_broker.get_actor("tests.jobs.flaky").options
    assert (options["max_retries"], options["min_backoff"], options["max_backoff"]) == (5, 200, 2_000)
    assert job_broker.namespace.startswith("saas-test-")


def test_setup_needs_an_engine_with_a_bare_url() -> None:
    with pytest.raises(ValueError, match="engine"):
        setup("redis://127.0.0.1:6379/0")


def test_setup_accepts_the_embedded_redis_socket_url(runtime: Runtime) -> None:
    broker = setup("unix:///tmp/saas-test-redis.sock?db=0", runtime.engine, namespace="saas-test-unix")
    pool = broker.client.connection_pool
    assert pool.connection_class is UnixDomainSocketConnection
    assert pool.connection_kwargs["path"] == "/tmp/saas-test-redis.sock"


def test_a_production_broker_hands_out_a_dead_workers_messages_within_a_minute(runtime: Runtime) -> None:
    """The defaults `saas worker` runs with: a dead worker is noticed after its heartbeat timeout,
    and every worker's upkeep requeues its messages at least once per interval after that."""
    broker = setup(runtime, namespace=f"saas-test-{secrets.token_hex(4)}")
    [upkeep] = [m for m in broker.middleware if isinstance(m, BrokerUpkeep)]
    assert isinstance(broker, MaintainedRedisBroker)
    assert broker.heartbeat_timeout + upkeep.interval_ms == REDELIVERY_BOUND_MS <= 60_000


def test_the_binding_lives_on_the_runtime_it_was_set_up_for(runtime: Runtime) -> None:
    """Another runtime of the process (e.g. an API runtime) keeps its own: none until set up."""
    other = create_runtime(runtime.settings, runtime.database_url, runtime.redis_url, plugins=runtime.plugins)
    try:
        name = f"saas-test-{secrets.token_hex(4)}"
        broker = setup(other, namespace=name, dead_message_ttl_ms=60_000)
        assert other.jobs is not None and other.jobs.broker is broker
        assert (namespace(other), dead_message_ttl_ms(other), enqueuing_broker(other)) == (name, 60_000, broker)
        fresh = create_runtime(runtime.settings, runtime.database_url, runtime.redis_url, plugins=runtime.plugins)
        try:
            assert fresh.jobs is None
            assert (namespace(fresh), dead_message_ttl_ms(fresh)) == (DEFAULT_NAMESPACE, DEAD_MESSAGE_TTL_MS)
            assert enqueuing_broker(fresh).namespace == DEFAULT_NAMESPACE
        finally:
            fresh.close()
    finally:
        other.close()
