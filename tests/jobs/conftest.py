"""Fixtures of the job tests: a broker bound to the test database and Redis, and in-process workers.

    def test_x(job_broker, run_jobs):
        record_customer.send(tenant.id, "Acme")
        run_jobs()                      # a worker runs until the test queues are drained

Each test run uses its own Redis key namespace (removed at the end); queues are emptied
around every test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker

from saas.jobs.broker import setup
from saas.jobs.worker import start_worker
from saas.plugin_host.host import PluginHost
from saas.runtime import Runtime, load_plugins
from tests.jobs import sample_jobs, sample_plugin
from tests.schema.conftest import cheap_password_hashing  # noqa: F401  (tenants and logins hash cheaply)

# The broker of these tests declares a worker dead after 2 s without a heartbeat (production:
# 30 s). dramatiq's random maintenance is off: only the workers' own upkeep (every few
# seconds, saas.jobs.broker.BrokerUpkeep) hands a dead worker's messages out again, as it
# must in production, where the random kind is too rare to count on.
TEST_HEARTBEAT_TIMEOUT_MS = 2_000
NEVER = 0
TEST_QUEUES = (sample_jobs.QUEUE, sample_plugin.PERIODIC_QUEUE)


@pytest.fixture(scope="session")
def job_namespace(runtime: Runtime) -> Iterator[str]:
    namespace = f"saas-test-{secrets.token_hex(4)}"
    yield namespace
    keys = list(runtime.redis.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        runtime.redis.delete(*keys)


@pytest.fixture(scope="session")
def job_plugins() -> PluginHost:
    """The installed plugins and the test plugin `jobtest`."""
    host = load_plugins()
    assert not host.add(sample_plugin, sample_plugin.NAME).broken
    return host


@pytest.fixture
def job_broker(runtime: Runtime, job_namespace: str, job_plugins: PluginHost) -> Iterator[RedisBroker]:
    """Every declared job bound to a broker on the test Redis (this test's binding wins)."""
    assert runtime.settings.redis_url
    sample_jobs.configure(runtime.settings.redis_url)
    broker = setup(
        runtime,
        plugins=job_plugins,
        namespace=job_namespace,
        heartbeat_timeout_ms=TEST_HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=NEVER,
    )
    broker.flush_all()
    yield broker
    broker.flush_all()
    broker.client.delete(f"{job_namespace}:scheduler:due")


@contextmanager
def running_worker(broker: RedisBroker, threads: int = 2) -> Iterator[Worker]:
    """A worker in this process that polls often; stopped (gracefully) on exit."""
    worker = start_worker(broker, threads=threads, worker_timeout_ms=100)
    try:
        yield worker
    finally:
        worker.stop(timeout=10_000)


def drain(broker: RedisBroker, timeout_ms: int = 20_000) -> None:
    """Wait until the test queues hold nothing: no message waiting, delayed or being processed."""
    for queue in TEST_QUEUES:
        broker.join(queue, timeout=timeout_ms)


@pytest.fixture
def run_jobs(job_broker: RedisBroker) -> Callable[..., None]:
    """Run a worker until the test queues are drained."""

    def run(timeout_ms: int = 20_000) -> None:
        with running_worker(job_broker):
            drain(job_broker, timeout_ms)

    return run


@pytest.fixture
def reports(job_broker: RedisBroker) -> redis.Redis:
    """Where the sample jobs report what they saw."""
    return sample_jobs.reports()
