"""A worker killed in the middle of a job loses nothing: the job runs again and its effect happens once."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.redis import RedisBroker

from saas.runtime import Runtime
from tests.conftest import TenantHandle
from tests.jobs import sample_jobs
from tests.jobs.conftest import drain, running_worker
from tests.jobs.helpers import customers_named, processed

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def worker_process(runtime: Runtime, job_namespace: str) -> Iterator[subprocess.Popen[bytes]]:
    """`tests.jobs.worker_process` in its own process, on the test database, Redis and namespace."""
    env = {
        **os.environ,
        "DATABASE_URL": runtime.database_url,
        "REDIS_URL": runtime.redis_url,
        "SAAS_JOBS_NAMESPACE": job_namespace,
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen([sys.executable, "-m", "tests.jobs.worker_process"], cwd=ROOT, env=env)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_a_worker_killed_mid_job_loses_nothing_and_acts_once(
    runtime: Runtime,
    job_broker: RedisBroker,
    tenant: TenantHandle,
    worker_process: subprocess.Popen[bytes],
    job_namespace: str,
    when: str,
) -> None:
    marker = f"{job_namespace}:kill:{secrets.token_hex(4)}"
    reports = sample_jobs.reports()
    message = sample_jobs.effect_then_block.send(tenant.id, marker, when)

    # The other process took the message, wrote its effect, and now waits inside the job.
    wait_for(lambda: reports.get(f"{marker}:reached"), 60, "the job to reach its blocking point")
    worker_process.send_signal(signal.SIGKILL)
    worker_process.wait(timeout=10)
    committed = customers_named(runtime, tenant.id, marker)
    assert committed == (1 if when == "after_commit" else 0)

    # A new worker: once the dead one's heartbeat is older than the timeout, the broker
    # hands its unacknowledged message out again.
    with running_worker(job_broker):
        drain(job_broker, timeout_ms=30_000)

    assert customers_named(runtime, tenant.id, marker) == 1
    assert processed(runtime, tenant.id, message.message_id) == 1
