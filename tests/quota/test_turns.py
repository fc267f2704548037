"""The loop charger's charges made in one turn of the event loop: one round trip, each charge
answered as if charged alone, on the real Redis."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

from saas.quota.bucket import BATCH_SCRIPT, CHARGE_SCRIPT, Charge, CostBucket, LoopCharger
from saas.runtime import Runtime


@pytest.fixture
def bucket(runtime: Runtime) -> CostBucket:
    return CostBucket(runtime.redis, key_prefix=f"test:cost:{uuid.uuid4().hex}")


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the commands the chargers send to Redis: one per round trip."""
    count = [0]
    send = LoopCharger._send

    def counted(self: LoopCharger, flush: Any) -> None:
        count[0] += 1
        send(self, flush)

    monkeypatch.setattr(LoopCharger, "_send", counted)
    return count


def on_loop(url: str, work: Callable[[LoopCharger], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        charger = LoopCharger(url)
        try:
            return await work(charger)
        finally:
            await charger.close()

    return asyncio.run(run())


def figures(charge: Charge) -> tuple[bool, int, int]:
    return charge.allowed, charge.remaining, charge.retry_after


def test_charges_of_one_turn_answer_as_the_same_charges_one_after_the_other(
    runtime: Runtime, bucket: CostBucket, round_trips: list[int]
) -> None:
    """Six charges of one tenant in one turn (a bucket of 60, 1 per second): one round trip, and
    each allowed or refused, with its remainder, as six charges awaited one by one on another
    tenant's fresh bucket; the refused ones spent nothing (the 5 after the refused 30 fit)."""
    costs = [20, 15, 30, 5, 25, 20]
    together, alone = uuid.uuid4(), uuid.uuid4()

    async def charges(charger: LoopCharger) -> tuple[list[Charge], int, list[Charge]]:
        batch = await asyncio.gather(*(bucket.charge_async(charger, together, cost, 60) for cost in costs))
        sent = round_trips[0]
        one_by_one = [await bucket.charge_async(charger, alone, cost, 60) for cost in costs]
        return batch, sent, one_by_one

    batch, sent, one_by_one = on_loop(runtime.redis_url, charges)
    assert sent == 1
    assert [figures(c) for c in batch] == [figures(c) for c in one_by_one]
    assert [c.allowed for c in batch] == [True, True, False, True, False, True]
    assert [c.remaining for c in batch] == [40, 25, 25, 20, 20, 0]
    assert [c.retry_after for c in batch] == [0, 0, 5, 0, 5, 0]
    # What Redis kept is what the allowed charges spent: all 60 (plus a second's refill at most).
    assert bucket.charge(together, 0, 60).remaining in (0, 1)


def test_two_tenants_in_one_round_trip_spend_from_their_own_buckets(
    runtime: Runtime, bucket: CostBucket, round_trips: list[int]
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert bucket.charge(first, 90, 100).allowed  # the first tenant has 10 left

    async def charges(charger: LoopCharger) -> list[Charge]:
        return await asyncio.gather(
            bucket.charge_async(charger, first, 50, 100),
            bucket.charge_async(charger, second, 50, 100),
            bucket.charge_async(charger, first, 5, 100),
            bucket.charge_async(charger, second, 40, 1000),
        )

    refused, allowed, small, other_capacity = on_loop(runtime.redis_url, charges)
    assert round_trips[0] == 1
    assert not refused.allowed and refused.remaining == 10
    assert allowed.allowed and allowed.remaining == 50  # the second tenant's bucket was full
    assert small.allowed and small.remaining == 5
    # Each charge names its own capacity: the second tenant's bucket now says 1000 at most.
    assert other_capacity.allowed and other_capacity.remaining in (10, 11)
    assert 5 <= bucket.charge(first, 0, 100).remaining <= 6


def test_a_lone_charge_sends_the_single_charge_command(runtime: Runtime, bucket: CostBucket) -> None:
    sent: list[bytes] = []
    tenant = uuid.uuid4()

    async def charges(charger: LoopCharger) -> list[int]:
        send = charger._send

        def recorded(flush: Any) -> None:
            send(flush)
            sent.append(
                b"".join(charger._batch_command(flush.charges) if len(flush.charges) > 1 else flush.charges[0][3])
            )

        charger._send = recorded  # type: ignore[method-assign]
        return [(await bucket.charge_async(charger, tenant, 10, 60)).remaining for _ in range(3)]

    assert on_loop(runtime.redis_url, charges) == [50, 40, 30]
    single = LoopCharger(runtime.redis_url)._packer.pack_command(
        "EVALSHA", hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest(), 1, bucket.key(tenant), 60, 10
    )
    assert sent == [b"".join(single)] * 3


def test_the_batch_command_is_what_redis_py_would_pack(runtime: Runtime) -> None:
    charger = LoopCharger(runtime.redis_url)
    charges = [charger._charge("k:é", 600, 7), charger._charge("other", 10**12, 0), charger._charge("k:é", 600, 7)]
    packed = b"".join(charger._batch_command(charges))
    expected = charger._packer.pack_command(
        "EVALSHA", charger._batch_sha, 3, "k:é", "other", "k:é", 600, 7, 10**12, 0, 600, 7
    )
    assert packed == b"".join(expected)


def test_charges_of_later_turns_do_not_wait_for_a_round_trip_in_flight(
    runtime: Runtime, bucket: CostBucket, round_trips: list[int]
) -> None:
    """Two charges in one turn, three in the next while the first turn's reply is still on its
    way: two round trips on two connections, each charge answered in order."""
    tenant, other = uuid.uuid4(), uuid.uuid4()

    async def charges(charger: LoopCharger) -> tuple[list[int], int]:
        earlier = [asyncio.ensure_future(bucket.charge_async(charger, tenant, 10, 600)) for _ in range(2)]
        await asyncio.sleep(0)  # the first turn's charges are made
        assert charger._open is not None and len(charger._open.charges) == 2
        later = [asyncio.ensure_future(bucket.charge_async(charger, other, 1, 600)) for _ in range(3)]
        results = await asyncio.gather(*earlier, *later)
        return [result.remaining for result in results], len(charger._idle)

    remaining, connections = on_loop(runtime.redis_url, charges)
    assert round_trips[0] == 2
    assert connections == 2
    assert remaining[:2] == [590, 580]
    assert remaining[2:] == [599, 598, 597]


def test_redis_down_fails_every_charge_of_the_flush(bucket: CostBucket) -> None:
    async def charges(charger: LoopCharger) -> list[object]:
        tenant = uuid.uuid4()
        return await asyncio.gather(
            *(bucket.charge_async(charger, tenant, 1, 60) for _ in range(3)), return_exceptions=True
        )

    failed = on_loop("redis://127.0.0.1:1/0?socket_timeout=2", charges)
    assert [type(error) for error in failed] == [redis.exceptions.ConnectionError] * 3


def test_a_connect_refused_at_once_fails_every_charge_of_the_turn(bucket: CostBucket, tmp_path: Any) -> None:
    """A unix socket that is not there refuses the connect within the first charge's own step:
    the charges made after it in the same turn fail too, none waits for a flush that is over."""

    async def charges(charger: LoopCharger) -> list[object]:
        tenant = uuid.uuid4()
        async with asyncio.timeout(30):  # a charge left waiting would fail the test here, not hang it
            return await asyncio.gather(
                *(bucket.charge_async(charger, tenant, 1, 60) for _ in range(3)), return_exceptions=True
            )

    failed = on_loop(f"unix://{tmp_path}/no-redis.sock", charges)
    assert [type(error) for error in failed] == [redis.exceptions.ConnectionError] * 3


def test_a_flush_past_its_deadline_fails_every_charge_and_drops_the_connection(
    runtime: Runtime, bucket: CostBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{runtime.redis_url}{'&' if '?' in runtime.redis_url else '?'}socket_timeout=0.2"
    answering = AbstractConnection.read_response
    silenced: list[bool] = []

    async def silent(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        if silenced:
            await asyncio.sleep(30)
        return await answering(self, *args, **kwargs)

    async def charges(charger: LoopCharger) -> tuple[list[object], bool, list[int]]:
        tenant = uuid.uuid4()
        await bucket.charge_async(charger, tenant, 10, 60)  # a connection, idle
        silenced.append(True)
        failed = await asyncio.gather(
            *(bucket.charge_async(charger, tenant, 10, 60) for _ in range(3)), return_exceptions=True
        )
        kept = bool(charger._idle)
        silenced.clear()
        after = await asyncio.gather(*(bucket.charge_async(charger, tenant, 1, 60) for _ in range(2)))
        return failed, kept, [charge.remaining for charge in after]

    monkeypatch.setattr(AbstractConnection, "read_response", silent)
    failed, kept, after = on_loop(url, charges)
    assert [type(error) for error in failed] == [redis.exceptions.TimeoutError] * 3
    assert not kept
    assert after == [19, 18]  # on a new connection; Redis ran the timed-out flush too (50 - 30)


def test_a_batch_redis_does_not_know_is_sent_again_with_the_script(
    runtime: Runtime, bucket: CostBucket, round_trips: list[int]
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()

    async def charges(charger: LoopCharger) -> list[int]:
        charger._batch_sha = "0" * 40  # as after a restart of Redis: EVALSHA answers NOSCRIPT
        results = await asyncio.gather(
            bucket.charge_async(charger, first, 25, 60),
            bucket.charge_async(charger, second, 5, 60),
            bucket.charge_async(charger, first, 25, 60),
            bucket.charge_async(charger, first, 25, 60),
        )
        return [result.remaining for result in results]

    assert on_loop(runtime.redis_url, charges) == [35, 55, 10, 10]  # each once: the third refused
    assert round_trips[0] == 2  # NOSCRIPT, then the charges' replies
    assert runtime.redis.script_exists(hashlib.sha1(BATCH_SCRIPT.encode()).hexdigest()) == [True]  # EVAL loaded it


def _unread(connection: Any) -> bool:
    return bool(connection._parser._stream._buffer) or connection._parser._reader.has_data()


@pytest.mark.parametrize("connected", [False, True], ids=["while connecting", "after the send"])
def test_a_cancelled_first_charge_leaves_the_others_answered_and_no_reply_unread(
    runtime: Runtime, bucket: CostBucket, connected: bool
) -> None:
    """The charge that sends the turn's round trip is cancelled (before its connection is open,
    or once the command went): the other charges of the turn still get their own answers, the
    connection goes back idle with nothing left to read, and the next charge reads its own reply."""
    tenant = uuid.uuid4()

    async def charges(charger: LoopCharger) -> tuple[list[object], list[bool], int]:
        if connected:
            await bucket.charge_async(charger, tenant, 0, 600)  # a connection, idle
        tasks = [asyncio.ensure_future(bucket.charge_async(charger, tenant, cost, 600)) for cost in (10, 20, 30)]
        await asyncio.sleep(0)  # all three made, the turn's round trip not yet sent
        tasks[0].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        while charger._handed_off:
            await asyncio.sleep(0.01)
        unread = [_unread(connection) for connection in charger._idle]
        return results, unread, (await bucket.charge_async(charger, tenant, 1, 600)).remaining

    results, unread, after = on_loop(runtime.redis_url, charges)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [r.remaining for r in results[1:]] == [570, 540]  # type: ignore[union-attr]  # Redis ran all three
    assert unread == [False]
    assert after in (539, 540)


def test_a_cancelled_waiting_charge_leaves_the_others_answered_and_no_reply_unread(
    runtime: Runtime, bucket: CostBucket
) -> None:
    tenant = uuid.uuid4()

    async def charges(charger: LoopCharger) -> tuple[list[object], list[bool], int]:
        await bucket.charge_async(charger, tenant, 0, 600)
        tasks = [asyncio.ensure_future(bucket.charge_async(charger, tenant, cost, 600)) for cost in (10, 20, 30)]
        await asyncio.sleep(0)
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        unread = [_unread(connection) for connection in charger._idle]
        return results, unread, (await bucket.charge_async(charger, tenant, 1, 600)).remaining

    results, unread, after = on_loop(runtime.redis_url, charges)
    assert isinstance(results[1], asyncio.CancelledError)
    assert [results[0].remaining, results[2].remaining] == [590, 540]  # type: ignore[union-attr]
    assert unread == [False]
    assert after in (539, 540)


def test_a_lone_charge_cancelled_after_its_send_drops_its_connection(runtime: Runtime, bucket: CostBucket) -> None:
    tenant = uuid.uuid4()

    async def charges(charger: LoopCharger) -> tuple[int, int]:
        await bucket.charge_async(charger, tenant, 0, 600)
        task = asyncio.ensure_future(bucket.charge_async(charger, tenant, 10, 600))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        idle = len(charger._idle)
        return idle, (await bucket.charge_async(charger, tenant, 1, 600)).remaining

    idle, after = on_loop(runtime.redis_url, charges)
    assert idle == 0  # its reply may still come: not kept
    assert after in (589, 590)


def test_the_batch_script_is_the_charge_rule_applied_in_order(runtime: Runtime) -> None:
    """The batch script run directly: a repeated key sees the charges before it, other keys not."""
    prefix = f"test:cost:{uuid.uuid4().hex}"
    replies = runtime.redis.eval(BATCH_SCRIPT, 3, f"{prefix}:a", f"{prefix}:b", f"{prefix}:a", 10, 6, 10, 6, 10, 6)
    assert [(reply[0], reply[1]) for reply in replies] == [(1, b"4"), (1, b"4"), (0, b"4")]
    assert replies[2][3] == 12000  # 2 tokens short, at 10 per minute
