"""Live fan-out (`saas/schema/fanout.py`): subscribers of one document, variables and principal
share one execution per event; none of them loses or receives twice an event, and a subscriber of
another principal (another tenant, a rep who sees less) keeps its own stream."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from saas.plugin_api.testing import wait_for_listeners
from saas.schema import fanout
from saas.schema.fanout import SharedResult, SharedStreams
from tests.conftest import GraphQLClient, add_member

EVENTS = "subscription { customerEvents { kind customerId } }"


async def _subscribe(client: GraphQLClient, query: str = EVENTS) -> tuple[Any, Any]:
    engine = client.engine
    principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
    stream = await engine.subscribe(engine.prepare(query, None, principal), None, principal, "sub")
    return principal, stream


def _create(client: GraphQLClient, name: str) -> str:
    data = client.data("mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }", {"n": name})
    return str(data["createCustomer"]["customer"]["id"])


@pytest.mark.parametrize("slice_size", [fanout.SLICE, 3])
def test_subscribers_of_one_key_share_each_execution_and_get_every_event_once(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, slice_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with each result handed out over several slices (`slice_size` 3: 7 slices for the
    owner's 20 subscribers), the loop running between them."""
    monkeypatch.setattr(fanout, "SLICE", slice_size)
    rep = add_member(owner, tenant, "sales")
    engine = owner.engine

    async def main() -> dict[str, Any]:
        streams = [await _subscribe(owner) for _ in range(20)]
        _, rep_stream = await _subscribe(rep)
        _, stranger_stream = await _subscribe(other_owner)
        principal = streams[0][0]
        shared = list(engine.shared_streams.streams.values())
        received: list[list[dict[str, Any]]] = [[] for _ in range(len(streams) + 2)]

        async def pump(index: int, stream: Any, stop_after: int | None = None) -> None:
            async for payload in stream:
                received[index].append(payload["data"]["customerEvents"])
                if stop_after is not None and len(received[index]) == stop_after:
                    await stream.aclose()
                    return

        tasks = [asyncio.create_task(pump(i, s, stop_after=2 if i == 0 else None)) for i, (_, s) in enumerate(streams)]
        tasks.append(asyncio.create_task(pump(len(streams), rep_stream)))
        tasks.append(asyncio.create_task(pump(len(streams) + 1, stranger_stream)))
        await wait_for_listeners(engine.runtime, principal.tenant_id, "customers")
        ids = []
        for index in range(5):
            ids.append(await asyncio.to_thread(_create, owner, f"Shared {index}"))
        await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        queues = sorted(len(stream.queues) for stream in shared)
        executions = sorted(stream.executions for stream in shared)
        return {"received": received, "ids": ids, "queues": queues, "executions": executions}

    result = asyncio.run(main())
    received, ids = result["received"], result["ids"]
    expected = [{"kind": "customer.created", "customerId": customer_id} for customer_id in ids]
    assert received[0] == expected[:2]  # left after two: the others went on
    for index in range(1, 20):
        assert received[index] == expected, index  # every event, once, in order
    assert received[20] == expected  # the rep sees unassigned customers, through a stream of its own
    assert received[21] == []  # another tenant: nothing
    # Three streams (the owner's 20 subscriptions, the rep's, the other tenant's): the owner's
    # selection executed once per event, not once per subscriber; each stream stopped with its
    # last subscriber.
    assert result["queues"] == [0, 0, 0]
    assert result["executions"] == [0, 5, 5]
    assert owner.engine.shared_streams.streams == {}


def test_direct_delivery_hands_each_result_once_and_in_order_and_falls_back_to_the_mailbox() -> None:
    """A subscriber's `deliver` gets the results while nothing of its own waits in its mailbox;
    a result it refuses (or fails on) goes to the mailbox, and so do the later ones until the
    subscriber has taken it: each subscriber gets every result once, in order."""

    async def main() -> dict[str, Any]:
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        async def source() -> Any:
            while (event := await events.get()) is not None:
                yield event

        streams = SharedStreams()
        direct: dict[str, list[Any]] = {"always": [], "refuses": [], "fails": []}

        def accept(name: str, refuse: set[int], fail: set[int]) -> Any:
            def deliver(result: SharedResult) -> bool:
                number = result["data"]["n"]
                if number in fail:
                    raise RuntimeError("the socket broke")
                if number in refuse:
                    return False
                direct[name].append(result)
                return True

            return deliver

        started = source()
        always = await streams.subscribe("k", _returning(started), accept("always", set(), set()))
        refuses = await streams.subscribe("k", _returning(started), accept("refuses", {2}, set()))
        fails = await streams.subscribe("k", _returning(started), accept("fails", set(), {1}))
        plain = await streams.subscribe("k", _returning(started))
        (stream,) = streams.streams.values()
        for number in range(1, 5):
            await events.put({"data": {"n": number}})
            while stream.executions < number:
                await asyncio.sleep(0)
        await events.put(None)
        iterated = {}
        for name, iterator in (("always", always), ("refuses", refuses), ("fails", fails), ("plain", plain)):
            iterated[name] = [result async for result in iterator]
        return {"direct": direct, "iterated": iterated, "streams": streams.streams}

    result = asyncio.run(main())
    direct, iterated = result["direct"], result["iterated"]

    def numbers(results: list[Any]) -> list[int]:
        return [r["data"]["n"] for r in results]

    assert numbers(direct["always"]) == [1, 2, 3, 4] and iterated["always"] == []
    # Refused 2: 2 waits in the mailbox, and 3 and 4 queue behind it rather than overtake it.
    assert numbers(direct["refuses"]) == [1] and numbers(iterated["refuses"]) == [2, 3, 4]
    assert numbers(direct["fails"]) == [] and numbers(iterated["fails"]) == [1, 2, 3, 4]
    assert numbers(iterated["plain"]) == [1, 2, 3, 4]
    # One result object per execution, shared, serialised once.
    first = direct["always"][0]
    assert first is iterated["plain"][0] and isinstance(first, SharedResult)
    assert first.text() == orjson.dumps({"data": {"n": 1}}).decode() and first.text() is first.text()
    assert first.json() == orjson.dumps({"data": {"n": 1}}) and first.json() is first.json()
    assert result["streams"] == {}


def _returning(source: Any) -> Any:
    async def start() -> Any:
        return source

    return start


def _handoffs() -> dict[str, float]:
    from prometheus_client import REGISTRY

    counts = {
        stage: REGISTRY.get_sample_value("live_fanout_seconds_count", {"stage": stage}) or 0.0
        for stage in ("start", "end", "commit_to_end")
    }
    for path in ("direct", "mailbox"):
        counts[path] = REGISTRY.get_sample_value("live_fanout_deliveries_total", {"path": path}) or 0.0
    return counts


def test_a_live_streams_hand_off_is_timed_from_the_messages_read_and_commit(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    """`live_fanout_seconds` times each result of a stream fed by live messages, from the
    moment the process read the message (start of the hand-off, end of it) and from its commit;
    another tenant's subscriber gets none of it."""
    engine = owner.engine

    async def main() -> dict[str, Any]:
        delivered: dict[str, list[Any]] = {"mine": [], "stranger": []}

        async def joined(client: GraphQLClient, name: str) -> Any:
            principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
            prepared = engine.prepare(EVENTS, None, principal)
            return principal, await engine.subscribe(
                prepared, None, principal, "sub", lambda result: delivered[name].append(result) or True
            )

        (principal, mine), (_, stranger) = await joined(owner, "mine"), await joined(other_owner, "stranger")
        before = _handoffs()
        tasks = [asyncio.create_task(anext(stream, None)) for stream in (mine, stranger)]
        await wait_for_listeners(engine.runtime, principal.tenant_id, "customers")
        ids = [await asyncio.to_thread(_create, owner, f"Timed {n}") for n in range(3)]
        for _ in range(200):
            if len(delivered["mine"]) == 3:
                break
            await asyncio.sleep(0.01)
        after = _handoffs()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in (mine, stranger):
            await stream.aclose()
        return {"delivered": delivered, "ids": ids, "before": before, "after": after}

    result = asyncio.run(main())
    mine = result["delivered"]["mine"]
    assert [r["data"]["customerEvents"]["customerId"] for r in mine] == result["ids"]
    assert result["delivered"]["stranger"] == []
    # Each of the three results timed from its read and (customer events are stamped) from its commit.
    stages = ("start", "end", "commit_to_end")
    assert {k: result["after"][k] - result["before"][k] for k in stages} == dict.fromkeys(stages, 3)
    # Each handed to the one subscriber by its `deliver`, none through a mailbox.
    assert {k: result["after"][k] - result["before"][k] for k in ("direct", "mailbox")} == {"direct": 3, "mailbox": 0}
    assert all(r.json() is r.json() and orjson.loads(r.json()) == dict(r) for r in mine)


def test_a_stream_not_fed_by_live_messages_is_not_timed() -> None:
    async def main() -> tuple[dict[str, float], dict[str, float], list[Any]]:
        async def source() -> Any:
            yield {"data": {"n": 1}}

        got: list[Any] = []
        streams = SharedStreams()
        before = _handoffs()
        iterator = await streams.subscribe("plain", _returning(source()), lambda r: got.append(r) or True)
        async for _ in iterator:
            pass
        return before, _handoffs(), got

    before, after, got = asyncio.run(main())
    assert len(got) == 1
    assert {k: after[k] - before[k] for k in ("start", "end", "commit_to_end", "direct")} == {
        "start": 0,
        "end": 0,
        "commit_to_end": 0,
        "direct": 1,
    }


def test_a_result_is_handed_out_in_slices_with_the_loop_running_between_them() -> None:
    """Handing one result to more than `SLICE` subscribers lets other tasks run between slices;
    each subscriber still gets every result once and in order, one that leaves during a pause
    gets nothing more, and one that joins during a pause gets the next result on."""

    async def main() -> dict[str, Any]:
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        async def source() -> Any:
            while (event := await events.get()) is not None:
                yield event

        streams = SharedStreams()
        order: list[Any] = []  # (subscriber, n) for each delivery, "other" when the other task ran
        got: dict[int, list[int]] = {}
        started = source()
        iterators = []

        def deliver_to(j: int) -> Any:
            def deliver(result: SharedResult) -> bool:
                order.append((j, result["data"]["n"]))
                got.setdefault(j, []).append(result["data"]["n"])
                return True

            return deliver

        count = 2 * fanout.SLICE + 10
        for j in range(count):
            iterators.append(await streams.subscribe("k", _returning(started), deliver_to(j)))
        (stream,) = streams.streams.values()

        # Join the drains so each subscriber is registered and leaves when its task is cancelled.
        async def drain(iterator: Any) -> Any:
            return await anext(iterator, None)

        drains = [asyncio.create_task(drain(iterator)) for iterator in iterators]
        await asyncio.sleep(0)
        leaver = drains[-1]
        late: list[Any] = []

        async def other() -> None:
            await asyncio.sleep(0)  # runs once the stream has begun handing out the first result
            order.append("other")
            leaver.cancel()
            late.append(await streams.subscribe("k", _returning(started), deliver_to(count)))

        side = asyncio.create_task(other())
        await events.put({"data": {"n": 1}})
        while stream.executions < 1 or not side.done():
            await asyncio.sleep(0)
        while len(order) < count:  # the first result's last slice
            await asyncio.sleep(0)
        await events.put({"data": {"n": 2}})
        while stream.executions < 2:
            await asyncio.sleep(0)
        for _ in range(10):
            await asyncio.sleep(0)
        for task in drains:
            task.cancel()
        await asyncio.gather(*drains, return_exceptions=True)
        return {"order": order, "got": got}

    result = asyncio.run(main())
    order, got = result["order"], result["got"]
    first = [entry for entry in order if entry == "other" or entry[1] == 1]
    other_at = first.index("other")
    assert 0 < other_at < len(first) - 1  # the other task ran while the first result was being handed out
    leaver, joiner = 2 * fanout.SLICE + 9, 2 * fanout.SLICE + 10
    assert got.pop(joiner) == [2]  # joined during the first hand-off: the next result on
    assert got.pop(leaver, []) in ([], [1])  # left during it: nothing after
    assert all(numbers == [1, 2] for numbers in got.values()) and len(got) == 2 * fanout.SLICE + 9


def test_what_a_transport_derives_from_a_shared_result_is_made_once_per_key() -> None:
    result = SharedResult({"data": {"n": 1}})
    made: list[bytes] = []

    def frame(prefix: bytes) -> Any:
        def make(shared: SharedResult) -> bytes:
            made.append(prefix)
            return prefix + shared.json() + b"}"

        return make

    one = result.derived(b'{"id":"1",', frame(b'{"id":"1",'))
    assert result.derived(b'{"id":"1",', frame(b'{"id":"1",')) is one
    two = result.derived(b'{"id":"2",', frame(b'{"id":"2",'))
    assert one == b'{"id":"1",{"data":{"n":1}}}' and two == b'{"id":"2",{"data":{"n":1}}}'
    assert made == [b'{"id":"1",', b'{"id":"2",']
