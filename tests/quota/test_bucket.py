"""The token bucket's Lua script on the real Redis: charges, refusals, refill, atomicity."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

from saas.quota.bucket import CostBucket
from saas.runtime import Runtime


@pytest.fixture
def bucket(runtime: Runtime) -> CostBucket:
    return CostBucket(runtime.redis, key_prefix=f"test:cost:{uuid.uuid4().hex}")


def test_a_charge_spends_and_reports_when_full_again(bucket: CostBucket) -> None:
    tenant = uuid.uuid4()
    charge = bucket.charge(tenant, 600, 6000)  # 100 per second
    assert charge.allowed and charge.retry_after == 0
    assert charge.remaining == 5400
    full_in = charge.reset_at - datetime.now(UTC)
    assert timedelta(seconds=5) < full_in <= timedelta(seconds=6.5)


def test_a_charge_that_does_not_fit_spends_nothing_and_says_when(bucket: CostBucket) -> None:
    tenant = uuid.uuid4()
    assert bucket.charge(tenant, 50, 60).allowed
    refused = bucket.charge(tenant, 30, 60)  # 10 left, refilled at 1 per second
    assert not refused.allowed
    assert refused.remaining == 10
    assert 19 <= refused.retry_after <= 21
    assert bucket.charge(tenant, 10, 60).allowed  # what was left is still there


def test_buckets_are_per_tenant(bucket: CostBucket) -> None:
    noisy, quiet = uuid.uuid4(), uuid.uuid4()
    assert bucket.charge(noisy, 100, 100).allowed
    assert not bucket.charge(noisy, 1, 100).allowed
    assert bucket.charge(quiet, 100, 100).allowed


def test_concurrent_charges_never_spend_the_same_tokens(bucket: CostBucket) -> None:
    """200 charges of 7 from 16 threads on a bucket of 700: 100 fit, plus what refilled while
    they ran (700 per minute), never more: no two charges spent the same tokens."""
    tenant = uuid.uuid4()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: bucket.charge(tenant, 7, 700).allowed, range(200)))
    refilled = (time.monotonic() - started) * 700 / 60
    assert 100 <= sum(results) <= 100 + math.ceil(refilled / 7), (sum(results), refilled)


def test_the_charge_awaited_on_the_loop_spends_from_the_same_bucket(runtime: Runtime, bucket: CostBucket) -> None:
    from saas.quota.bucket import LoopCharger

    tenant = uuid.uuid4()
    assert bucket.charge(tenant, 40, 60).allowed

    async def on_loop() -> tuple[bool, int]:
        charger = LoopCharger(runtime.redis_url)
        try:
            charge = await bucket.charge_async(charger, tenant, 30, 60)
        finally:
            await charger.close()
        return charge.allowed, charge.retry_after

    allowed, retry_after = asyncio.run(on_loop())
    assert not allowed and retry_after >= 10  # 20 left after the blocking client's charge


def test_an_opened_budget_charges_on_its_loop_without_a_thread(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saas.quota.budget import TenantBudget

    budget = TenantBudget(runtime.engine, runtime.redis, runtime.settings)
    budget.bucket.key_prefix = f"test:cost:{uuid.uuid4().hex}"
    tenant = uuid.uuid4()

    def no_thread(*_args: object) -> None:
        raise AssertionError("charged through the blocking client")

    async def served() -> list[bool]:
        await budget.open(runtime.redis_url)
        try:
            return [(await budget._charge(tenant, 50, 60)).allowed for _ in range(2)]  # type: ignore[union-attr]
        finally:
            await budget.close()

    monkeypatch.setattr(budget.bucket, "charge", no_thread)
    assert asyncio.run(served()) == [True, False]
    monkeypatch.undo()
    assert not budget.bucket.charge(tenant, 30, 60).allowed  # the same bucket: about 10 left


def test_the_loop_charger_loads_the_script_when_redis_does_not_know_it(runtime: Runtime, bucket: CostBucket) -> None:
    from saas.quota.bucket import LoopCharger

    tenant = uuid.uuid4()

    async def charges() -> list[bool]:
        charger = LoopCharger(runtime.redis_url)
        charger._sha = "0" * 40  # as after a restart of Redis: EVALSHA answers NOSCRIPT
        try:
            return [(await bucket.charge_async(charger, tenant, 25, 60)).allowed for _ in range(3)]
        finally:
            await charger.close()

    assert asyncio.run(charges()) == [True, True, False]  # one bucket: 60, 35, 10 left
    assert not bucket.charge(tenant, 20, 60).allowed


def test_concurrent_charges_on_one_loop_get_their_own_replies(runtime: Runtime, bucket: CostBucket) -> None:
    from saas.quota.bucket import LoopCharger

    tenants = [uuid.uuid4() for _ in range(12)]

    async def charges() -> list[int]:
        charger = LoopCharger(runtime.redis_url)
        try:
            # Each tenant spends a different amount once: each reply must name its own remainder.
            results = await asyncio.gather(
                *(bucket.charge_async(charger, tenant, index + 1, 600) for index, tenant in enumerate(tenants))
            )
        finally:
            await charger.close()
        return [result.remaining for result in results]

    remaining = asyncio.run(charges())
    assert all(599 - index <= left <= 600 - index for index, left in enumerate(remaining)), remaining


def test_the_loop_charger_takes_its_deadline_from_the_url(runtime: Runtime) -> None:
    from saas.quota.bucket import LoopCharger

    assert LoopCharger(runtime.redis_url)._timeout == redis.asyncio.Connection(host="x").socket_timeout
    assert LoopCharger("redis://127.0.0.1:6379/0?socket_timeout=0.25")._timeout == 0.25
    # Its connections carry none: with one, redis-py would await each send through a Task.
    assert LoopCharger(runtime.redis_url)._kwargs["socket_timeout"] is None


def test_a_charge_sends_without_a_task_of_its_own(
    runtime: Runtime, bucket: CostBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saas.quota.bucket import LoopCharger

    def no_task(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a charge was awaited through asyncio.wait_for")

    async def charges() -> list[int]:
        charger = LoopCharger(runtime.redis_url)
        try:
            return [(await bucket.charge_async(charger, tenant, 10, 60)).remaining for _ in range(3)]
        finally:
            await charger.close()

    tenant = uuid.uuid4()
    monkeypatch.setattr(asyncio, "wait_for", no_task)
    assert asyncio.run(charges()) == [50, 40, 30]


def test_a_charge_past_its_deadline_fails_as_a_redis_timeout_and_drops_the_connection(
    runtime: Runtime, bucket: CostBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis that does not answer: the charge fails within the URL's socket timeout with redis-py's
    `TimeoutError` (a `RedisError`: the budget lets the operation through), and the connection,
    whose reply may still come, is not kept."""
    from saas.quota.bucket import LoopCharger

    tenant = uuid.uuid4()
    url = f"{runtime.redis_url}{'&' if '?' in runtime.redis_url else '?'}socket_timeout=0.2"
    answering = AbstractConnection.read_response

    async def silent(self: AbstractConnection, *args: object, **kwargs: object) -> object:
        if silenced:
            await asyncio.sleep(30)
        return await answering(self, *args, **kwargs)  # type: ignore[arg-type]

    async def charges() -> tuple[float, bool, int]:
        charger = LoopCharger(url)
        try:
            assert (await bucket.charge_async(charger, tenant, 10, 60)).allowed  # connects, handshakes
            assert len(charger._idle) == 1
            silenced.append(True)
            started = time.monotonic()
            with pytest.raises(redis.exceptions.TimeoutError):
                await bucket.charge_async(charger, tenant, 10, 60)
            took = time.monotonic() - started
            kept = bool(charger._idle)
            silenced.clear()
            return took, kept, (await bucket.charge_async(charger, tenant, 10, 60)).remaining
        finally:
            await charger.close()

    silenced: list[bool] = []
    monkeypatch.setattr(AbstractConnection, "read_response", silent)  # TCP and unix sockets alike
    took, kept, remaining = asyncio.run(charges())
    assert 0.15 <= took < 5
    assert not kept
    assert remaining == 30  # on a new connection; Redis ran the timed-out charge too


def test_a_budget_whose_charge_times_out_lets_the_operation_through(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saas.quota.budget import TenantBudget

    budget = TenantBudget(runtime.engine, runtime.redis, runtime.settings)
    budget.bucket.key_prefix = f"test:cost:{uuid.uuid4().hex}"
    url = f"{runtime.redis_url}{'&' if '?' in runtime.redis_url else '?'}socket_timeout=0.2"

    async def silent(self: AbstractConnection, *args: object, **kwargs: object) -> object:
        await asyncio.sleep(30)

    async def served() -> object:
        await budget.open(url)
        try:
            return await budget._charge(uuid.uuid4(), 10, 60)
        finally:
            await budget.close()

    monkeypatch.setattr(AbstractConnection, "read_response", silent)  # TCP and unix sockets alike
    assert asyncio.run(served()) is None  # let through, as when Redis is down


def test_the_loop_charger_charges_over_a_unix_socket(tmp_path: Path) -> None:
    """The embedded Redis listens on a unix socket only (`unix://…`): the charger's connections
    are of the URL's kind, so a server on the embedded defaults charges as one on TCP does."""
    from saas.embedded import start_redis, stop_redis
    from saas.quota.bucket import LoopCharger

    data_dir = tmp_path
    url = start_redis(data_dir)
    try:
        bucket = CostBucket(redis.Redis.from_url(url))
        bucket.key_prefix = f"test:cost:{uuid.uuid4().hex}"
        tenant = uuid.uuid4()

        async def charges() -> tuple[int | None, int | None]:
            charger = LoopCharger(url)
            try:
                first = await bucket.charge_async(charger, tenant, 10, 60)
                second = await bucket.charge_async(charger, tenant, 10, 60)
                return first.remaining, second.remaining
            finally:
                await charger.close()

        assert asyncio.run(charges()) == (50, 40)
    finally:
        stop_redis(data_dir)
