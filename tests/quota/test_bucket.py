"""The token bucket's Lua script on the real Redis: charges, refusals, refill, atomicity."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

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
