"""The dispatch request after a commit (`saas.events.dispatch.ask_for_dispatch`): no second job while
one of the tenant's is queued and not started, a job of its own once it has started; per tenant;
an enqueue that fails leaves no mark; every event dispatched, once."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from dramatiq.brokers.redis import RedisBroker
from redis import Redis
from redis.connection import AbstractConnection, ConnectionPool
from sqlalchemy import text

from saas import realtime
from saas.auth.permissions import ALL_PERMISSIONS
from saas.auth.principal import Principal
from saas.customers import service as customers
from saas.events import dispatch
from saas.jobs.broker import setup
from saas.runtime import Runtime
from saas.tenancy.session import AFTER_COMMIT_FAILURES, tenant_session
from tests.events.support import Receiver, create_webhook, wait_for


@pytest.fixture
def idle_broker(runtime: Runtime) -> Iterator[RedisBroker]:
    """Every job bound to a broker of its own namespace that no worker consumes."""
    namespace = f"saas-test-{secrets.token_hex(4)}"
    broker = setup(runtime, namespace=namespace)
    try:
        yield broker
    finally:
        broker.close()
        keys = list(runtime.redis.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            runtime.redis.delete(*keys)


def _create(runtime: Runtime, tenant_id: Any, name: str) -> None:
    principal = Principal(tenant_id=tenant_id, label="test", permissions=ALL_PERMISSIONS)
    with tenant_session(runtime.engine, tenant_id) as session:
        customers.create_customer(session, principal, {"name": name})


def _dispatch_jobs(broker: RedisBroker, tenant_id: Any) -> int:
    """The tenant's dispatch messages queued on the broker."""
    queue = f"{broker.namespace}:{dispatch.dispatch_events.queue}.msgs"
    messages = [orjson.loads(m) for m in broker.client.hvals(queue)]
    return sum(1 for m in messages if m["actor_name"] == "events.dispatch" and m["args"] == [str(tenant_id)])


def _mark(broker: RedisBroker, tenant_id: Any) -> str:
    return dispatch.QUEUED_KEY.format(namespace=broker.namespace, tenant_id=tenant_id)


def _pending(runtime: Runtime, tenant_id: Any) -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(session.execute(text("SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL")).scalar_one())


def test_commits_while_a_job_is_queued_enqueue_no_second_one(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any
) -> None:
    _create(runtime, tenant.id, "First Ltd")
    _create(runtime, tenant.id, "Second Ltd")
    _create(runtime, tenant.id, "Third Ltd")
    assert _dispatch_jobs(idle_broker, tenant.id) == 1
    ttl = idle_broker.client.pttl(_mark(idle_broker, tenant.id))
    assert 0 < ttl <= dispatch.QUEUED_TTL_MS
    assert _pending(runtime, tenant.id) == 3  # all three wait for the one queued job


def test_another_tenants_queued_job_does_not_stand_for_this_tenants(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any, other_tenant: Any
) -> None:
    _create(runtime, tenant.id, "Mine Ltd")
    _create(runtime, other_tenant.id, "Theirs Ltd")
    _create(runtime, other_tenant.id, "Theirs Too Ltd")
    assert (_dispatch_jobs(idle_broker, tenant.id), _dispatch_jobs(idle_broker, other_tenant.id)) == (1, 1)


def test_a_started_job_clears_the_mark_so_the_next_commit_enqueues_its_own(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any
) -> None:
    _create(runtime, tenant.id, "Before Ltd")
    dispatch._started(tenant.id)  # what the job does first, before it reads the outbox
    assert not idle_broker.client.exists(_mark(idle_broker, tenant.id))
    _create(runtime, tenant.id, "After Ltd")
    assert _dispatch_jobs(idle_broker, tenant.id) == 2


def test_an_enqueue_that_fails_leaves_no_mark_and_never_fails_the_write(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any) -> None:
        raise ConnectionError("broker down")

    failures = AFTER_COMMIT_FAILURES._value.get()
    with monkeypatch.context() as patched:
        patched.setattr(dispatch.dispatch_events, "send", refuse)
        _create(runtime, tenant.id, "Unannounced Ltd")  # committed: the sweep dispatches its event
    assert AFTER_COMMIT_FAILURES._value.get() == failures + 1
    assert not idle_broker.client.exists(_mark(idle_broker, tenant.id))
    _create(runtime, tenant.id, "Announced Ltd")
    assert _dispatch_jobs(idle_broker, tenant.id) == 1
    assert _pending(runtime, tenant.id) == 2


def test_concurrent_writers_events_are_all_delivered_once(
    worker: RedisBroker, receiver: Receiver, owner: Any, runtime: Runtime, tenant: Any
) -> None:
    """Writers in threads while the worker runs jobs: whichever commits find a queued job, every
    event is dispatched, and each reaches the webhook exactly once."""
    create_webhook(owner, receiver.url, ["customer.created"])
    writers, each = 4, 5
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for n in range(each):
                _create(runtime, tenant.id, f"Writer {index}-{n} Ltd")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    wait_for(lambda: receiver.count() >= writers * each and _pending(runtime, tenant.id) == 0, timeout=30)
    bodies = [orjson.loads(r.body) for r in receiver.received]
    event_ids = [body["event"]["id"] for body in bodies]
    assert len(event_ids) == len(set(event_ids)) == writers * each
    names = sorted(body["event"]["data"]["customer"]["name"] for body in bodies)
    assert names == sorted(f"Writer {i}-{n} Ltd" for i in range(writers) for n in range(each))
    # Every mark is cleared by the job it stood for (that job may find nothing left to dispatch).
    wait_for(lambda: not worker.client.exists(_mark(worker, tenant.id)), timeout=10)


class _RoundTrips:
    """Counts what the runtime's Redis client sends: commands packed together in one write (a
    pipeline's round trip, however it is sent) and single commands."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pipelines: list[list[str]] = []
        self.commands: list[str] = []
        original_pack = AbstractConnection.pack_commands
        original_command = Redis.execute_command

        def pack(connection: AbstractConnection, commands: Any) -> Any:
            commands = list(commands)
            self.pipelines.append([str(command[0]) for command in commands])
            return original_pack(connection, commands)

        def command(client: Redis, *args: Any, **options: Any) -> Any:
            self.commands.append(str(args[0]))
            return original_command(client, *args, **options)

        monkeypatch.setattr(AbstractConnection, "pack_commands", pack)
        monkeypatch.setattr(Redis, "execute_command", command)


def test_the_live_message_and_the_dispatch_mark_share_one_round_trip(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker talks through the runtime's client, which the sessions publish on: after a
    commit, the PUBLISH and the mark's SET NX go in one pipeline; the enqueue follows only when
    this commit set the mark."""
    assert idle_broker.client is runtime.redis
    _create(runtime, tenant.id, "Marked Ltd")  # sets the mark and enqueues the job
    trips = _RoundTrips(monkeypatch)
    with listening(runtime, tenant.id) as received:
        _create(runtime, tenant.id, "Shared Ltd")
        assert trips.pipelines == [["SET", "PUBLISH"]]  # in the order the change asked for them
        assert trips.commands == []  # no enqueue: the queued job reads this commit's event
        message = received()
    assert message["kind"] == "customer.created"
    assert _dispatch_jobs(idle_broker, tenant.id) == 1
    assert _pending(runtime, tenant.id) == 2


def test_a_failed_shared_round_trip_is_each_steps_failure_and_never_fails_the_write(
    idle_broker: RedisBroker, runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down after the commit: the live message and the dispatch request each count as failed
    work after commit (logged and counted); the change stands, the sweep dispatches its event."""

    def down(*_: Any, **__: Any) -> Any:
        raise ConnectionError("redis down")

    failures = AFTER_COMMIT_FAILURES._value.get()
    with monkeypatch.context() as patched:
        patched.setattr(ConnectionPool, "get_connection", down)
        _create(runtime, tenant.id, "Unheard Ltd")
    assert AFTER_COMMIT_FAILURES._value.get() == failures + 2
    assert not idle_broker.client.exists(_mark(idle_broker, tenant.id))
    assert _pending(runtime, tenant.id) == 1
    _create(runtime, tenant.id, "Heard Ltd")  # Redis is back: the next commit enqueues a job
    assert _dispatch_jobs(idle_broker, tenant.id) == 1


@contextmanager
def listening(runtime: Runtime, tenant_id: Any) -> Iterator[Any]:
    """The tenant's `customers` channel, subscribed; `received()` waits for its next message."""
    pubsub = runtime.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(realtime.channel(tenant_id, "customers"))
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation

    def received() -> dict[str, Any]:
        message = pubsub.get_message(timeout=5.0)
        assert message is not None, "nothing was published"
        return dict(orjson.loads(message["data"]))

    try:
        yield received
    finally:
        pubsub.close()
