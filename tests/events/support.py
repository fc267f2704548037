"""Shared by the events, webhooks and notifications tests: a real worker, a receiver, polling.

The worker is a real dramatiq worker in this process on the real Redis, under a key namespace
of its own, so that concurrent test runs never consume each other's messages.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from dramatiq.brokers.redis import RedisBroker

from saas.jobs.broker import setup
from saas.jobs.worker import start_worker
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from saas.webhooks import delivery

T = TypeVar("T")

FAST_RETRIES = delivery.DeliveryPolicy(timeout_seconds=2.0, max_retries=8, min_backoff_ms=30, max_backoff_ms=200)


@pytest.fixture
def delivery_policy(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Callable[[delivery.DeliveryPolicy], None]:
    """`delivery_policy(policy)`: the runtime's webhook sender retries by `policy` for this test.

    The sender is the runtime's own object, which its job runner holds too: set before or after
    the worker started, the jobs and the messages they send use the same policy."""

    def use(policy: delivery.DeliveryPolicy) -> None:
        monkeypatch.setattr(runtime.webhook_sender, "policy", policy)

    return use


@pytest.fixture
def fast_retries(delivery_policy: Callable[[delivery.DeliveryPolicy], None]) -> delivery.DeliveryPolicy:
    delivery_policy(FAST_RETRIES)
    return FAST_RETRIES


@pytest.fixture
def worker(runtime: Runtime, fast_retries: delivery.DeliveryPolicy) -> Iterator[RedisBroker]:
    """Every job bound to a broker of its own namespace, consumed by a running worker."""
    namespace = f"saas-test-{secrets.token_hex(4)}"
    broker = setup(runtime, namespace=namespace)
    running = start_worker(broker, threads=4, worker_timeout_ms=50)
    try:
        yield broker
    finally:
        running.stop(timeout=5_000)
        broker.close()
        keys = list(runtime.redis.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            runtime.redis.delete(*keys)


def wait_for(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll until `check()` returns something truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)
        value = check()
    return value


def in_tenant(runtime: Runtime, tenant_id: uuid.UUID, work: Callable[[Any], T]) -> T:
    """Run `work(session)` in a committed transaction of a session bound to the tenant."""
    with tenant_session(runtime.engine, tenant_id) as session:
        return work(session)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP endpoint answering POSTs with scripted status codes (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else 200

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def receiver(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1, which the deployment setting must allow webhooks to reach."""
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", True)
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = state.answer(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# -- GraphQL operations ----------------------------------------------------------------------

USER_ERRORS = "userErrors { field code message }"
CREATE_WEBHOOK = f"""mutation($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{ webhook {{ id url events createdAt }} {USER_ERRORS} }}
}}"""
DELETE_WEBHOOK = f"""mutation($input: DeleteWebhookInput!) {{
  deleteWebhook(input: $input) {{ webhook {{ id }} {USER_ERRORS} }}
}}"""
WEBHOOKS = "{ webhooks { id url events } }"
DELIVERIES = """query($webhookId: ID, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $webhookId, first: $first, after: $after) {
    edges { cursor node { id webhookId eventId eventType payload status attemptCount lastStatusCode lastError
      createdAt deliveredAt attempts { attempt statusCode error durationMs at } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_CUSTOMER = """mutation($name: String!) { createCustomer(input: {name: $name}) { customer { id version } } }"""
SECRET = "s3cret-s3cret-s3cret"


def create_webhook(client: Any, url: str, events: list[str], secret: str = SECRET) -> str:
    result = client.data(CREATE_WEBHOOK, {"input": {"url": url, "events": events, "secret": secret}})
    assert result["createWebhook"]["userErrors"] == [], result
    return str(result["createWebhook"]["webhook"]["id"])


def create_customer(client: Any, name: str) -> str:
    return str(client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]["customer"]["id"])


@pytest.fixture
def dispatch_requests(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Record the after-commit dispatch requests instead of enqueueing them (events stay pending)."""
    from saas.events import outbox

    requests: list[uuid.UUID] = []
    monkeypatch.setattr(outbox, "request_dispatch", lambda tenant_id, **_: requests.append(tenant_id))
    return requests
