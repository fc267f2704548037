"""The process's live subscriptions share one Redis subscriber connection, routed per channel."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from saas import realtime
from saas.runtime import Runtime


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
