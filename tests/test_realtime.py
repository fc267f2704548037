"""The process's live subscriptions share one Redis subscriber connection, routed per channel."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from saas import realtime
from saas.db.engine import create_app_engine
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session


def _numsub(runtime: Runtime, name: str) -> int:
    return int(dict(runtime.redis.pubsub_numsub(name)).get(name.encode(), 0))


def test_listeners_share_one_subscription_and_get_only_their_channel(runtime: Runtime) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    url = runtime.redis_url

    async def main() -> tuple[list[Any], list[Any], list[Any], int, int]:
        got: tuple[list[Any], list[Any], list[Any]] = ([], [], [])

        async def consume(tenant_id: uuid.UUID, box: list[Any], count: int) -> None:
            async for message in realtime.listen(url, tenant_id, "t"):
                box.append(message)
                if len(box) == count:
                    return

        tasks = [
            asyncio.create_task(consume(tenant, got[0], 2)),
            asyncio.create_task(consume(tenant, got[1], 2)),
            asyncio.create_task(consume(other, got[2], 1)),
        ]
        name = realtime.channel(tenant, "t")
        while realtime.local_listeners(url, name) < 2 or _numsub(runtime, realtime.channel(other, "t")) < 1:
            await asyncio.sleep(0.01)
        shared = _numsub(runtime, name)
        for n in range(2):
            await asyncio.to_thread(realtime.publish, runtime.redis, tenant, "t", {"n": n})
        await asyncio.to_thread(realtime.publish, runtime.redis, other, "t", {"n": "other"})
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return (*got, shared, _numsub(runtime, name))

    first, second, third, shared, after = asyncio.run(main())
    assert first == second == [{"n": 0}, {"n": 1}]
    assert third == [{"n": "other"}]
    assert shared == 1  # two listeners, one Redis subscription
    assert after == 0  # the last listener left: unsubscribed


def test_a_consumer_that_falls_behind_is_ended(runtime: Runtime, monkeypatch: Any) -> None:
    monkeypatch.setattr(realtime, "QUEUE_SIZE", 2)
    tenant = uuid.uuid4()

    async def main() -> BaseException | None:
        stream = realtime.listen(runtime.redis_url, tenant, "slow")
        first = asyncio.create_task(anext(stream))
        name = realtime.channel(tenant, "slow")
        while realtime.local_listeners(runtime.redis_url, name) < 1:
            await asyncio.sleep(0.01)
        for n in range(5):
            await asyncio.to_thread(realtime.publish, runtime.redis, tenant, "slow", {"n": n})
        await first
        await asyncio.sleep(0.3)
        try:
            while True:
                await asyncio.wait_for(anext(stream), 2)
        except realtime.SubscriptionLost as lost:
            return lost
        finally:
            await stream.aclose()

    assert isinstance(asyncio.run(main()), realtime.SubscriptionLost)


def _next_message(pubsub: Any, timeout: float = 5.0) -> Any:
    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    assert message is not None, "nothing was published"
    return orjson.loads(message["data"])


def test_a_session_publishes_through_its_engines_publisher_after_commit_only(runtime: Runtime, tenant: Any) -> None:
    """`publish_after_commit`: on the session's tenant channel, once it commits, on its engine's Redis;
    a rolled-back session, and a session of an engine with no publisher, publish nothing."""
    unbound = create_app_engine(runtime.settings, runtime.database_url)
    pubsub = runtime.redis.pubsub()
    pubsub.subscribe(realtime.channel(tenant.id, "t"))
    assert pubsub.get_message(timeout=5.0)["type"] == "subscribe"
    try:
        with tenant_session(unbound, tenant.id) as session:
            realtime.publish_after_commit(session, "t", {"n": "unbound engine"})
        with pytest.raises(RuntimeError), tenant_session(runtime.engine, tenant.id) as session:
            realtime.publish_after_commit(session, "t", {"n": "rolled back"})
            raise RuntimeError("the change failed")
        with tenant_session(runtime.engine, tenant.id) as session:
            realtime.publish_after_commit(session, "t", {"n": "committed"})
            assert pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None  # not before the commit
        assert _next_message(pubsub) == {"n": "committed"}
    finally:
        pubsub.close()
        unbound.dispose()


def test_a_stamped_message_carries_the_moment_its_transaction_committed(runtime: Runtime, tenant: Any) -> None:
    """`stamp=True`: the message published carries `committed_at`, read once the commit returned
    (after everything the transaction did, not when the message was made); one moment for a batch;
    an unstamped message is published as given."""
    pubsub = runtime.redis.pubsub()
    pubsub.subscribe(realtime.channel(tenant.id, "t"))
    assert pubsub.get_message(timeout=5.0)["type"] == "subscribe"
    try:
        with tenant_session(runtime.engine, tenant.id) as session:
            realtime.publish_after_commit(session, "t", {"n": 1}, stamp=True)
            realtime.publish_many_after_commit(session, "t", [{"n": 2}, {"n": 3}], stamp=True)
            realtime.publish_after_commit(session, "t", {"n": 4})
            queued = datetime.now(UTC)  # after the messages were made, before the commit
        committed = datetime.now(UTC)
        received = [_next_message(pubsub) for _ in range(4)]
    finally:
        pubsub.close()
    assert [m["n"] for m in received] == [1, 2, 3, 4]
    assert received[3] == {"n": 4}
    stamps = {datetime.fromisoformat(m[realtime.COMMITTED_AT]) for m in received[:3]}
    assert len(stamps) == 1, stamps  # one commit, one moment
    (stamp,) = stamps
    assert queued <= stamp <= committed
    assert stamp.utcoffset() == timedelta(0)


def test_a_listener_knows_when_its_message_was_read_and_a_stamped_ones_lag_is_observed(runtime: Runtime) -> None:
    """`take_message_read` gives the consuming task the moment the process read the message it
    was last handed (and how long after its commit), once; `live_message_lag_seconds` observes stamped messages only (from their
    commit), and a bad stamp is ignored, not raised."""
    from prometheus_client import REGISTRY

    tenant = uuid.uuid4()
    url = runtime.redis_url

    def lags() -> float:
        return REGISTRY.get_sample_value("live_message_lag_seconds_count") or 0.0

    async def main() -> tuple[list[Any], float]:
        seen: list[Any] = []
        before = lags()
        assert realtime.take_message_read() is None

        async def consume() -> None:
            async for message in realtime.listen(url, tenant, "lag"):
                read = realtime.take_message_read()
                assert read is not None and read.at <= time.monotonic()
                since = None if read.since_commit is None else read.since_commit >= 0.2
                seen.append((message["n"], since, realtime.take_message_read()))
                if len(seen) == 3:
                    return

        task = asyncio.create_task(consume())
        while realtime.local_listeners(url, realtime.channel(tenant, "lag")) < 1:
            await asyncio.sleep(0.01)
        stamp = (datetime.now(UTC) - timedelta(seconds=0.2)).isoformat()
        for message in ({"n": 1, realtime.COMMITTED_AT: stamp}, {"n": 2}, {"n": 3, realtime.COMMITTED_AT: "never"}):
            await asyncio.to_thread(realtime.publish, runtime.redis, tenant, "lag", message)
        await asyncio.wait_for(task, 5)
        return seen, lags() - before

    seen, observed = asyncio.run(main())
    # Read once each; the stamped one 0.2 s or more after its commit, the others without a stamp.
    assert seen == [(1, True, None), (2, None, None), (3, None, None)]
    assert observed == 1  # the one well-stamped message
