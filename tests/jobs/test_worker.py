"""A worker killed in the middle of a job loses nothing: the job runs again and its effect happens once.

Another worker gets the dead one's messages within the broker's bound, from the workers' own
upkeep alone (the broker of these tests never runs dramatiq's random maintenance).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select

from saas.runtime import Runtime
from saas.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import GraphQLClient, TenantHandle
from tests.events.support import create_customer, create_webhook, in_tenant
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
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver below is on 127.0.0.1
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


@dataclass
class HangingReceiver:
    """A webhook endpoint that never answers its first POST (until the test ends), then answers 200."""

    url: str = ""
    deliveries: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def hanging_receiver(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[HangingReceiver]:
    """A receiver on 127.0.0.1 that never answers; the deployment setting must allow reaching it."""
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", True)
    state = HangingReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.deliveries.append(self.headers["X-Saas-Delivery"])
            if len(state.deliveries) == 1:
                state.release.wait()
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def attempts(runtime: Runtime, tenant_id: Any) -> list[tuple[int, int | None, str | None, int | None]]:
    rows = in_tenant(
        runtime, tenant_id, lambda s: s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt)).all()
    )
    return [(a.attempt, a.status_code, a.error, a.duration_ms) for a in rows]


def test_a_webhook_post_cut_by_a_killed_worker_is_logged_and_sent_again(
    runtime: Runtime,
    job_broker: RedisBroker,
    tenant: TenantHandle,
    owner: GraphQLClient,
    hanging_receiver: HangingReceiver,
    worker_process: subprocess.Popen[bytes],
) -> None:
    create_webhook(owner, hanging_receiver.url, ["customer.created"])
    create_customer(owner, "Interrupted Ltd")

    # The other process dispatched the event and is inside the POST, which gets no answer.
    wait_for(lambda: hanging_receiver.deliveries, 60, "the webhook POST")
    # The attempt was logged, and committed, before the request went out.
    assert attempts(runtime, tenant.id) == [(1, None, None, None)]
    worker_process.send_signal(signal.SIGKILL)
    worker_process.wait(timeout=10)

    with running_worker(job_broker):
        wait_for(lambda: len(hanging_receiver.deliveries) == 2, 30, "the delivery to be sent again")
        wait_for(lambda: attempts(runtime, tenant.id)[-1][1] == 200, 10, "the second attempt to be recorded")

    first, second = attempts(runtime, tenant.id)
    assert first[:2] == (1, None) and first[2] and first[2].startswith("interrupted")
    assert second[:3] == (2, 200, None)
    assert hanging_receiver.deliveries[0] == hanging_receiver.deliveries[1]  # the same delivery
    delivery = in_tenant(runtime, tenant.id, lambda s: s.scalars(select(WebhookDelivery)).one())
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
