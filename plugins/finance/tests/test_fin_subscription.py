"""`quotesUpdated`: the tenant's changes of the chosen symbols only, coalesced to at most one message
per symbol per 100 ms per subscriber, the last one always the newest price."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fin_helpers import QUOTES_UPDATED, ingest, instrument
from saas_finance.coalesce import coalesce
from saas_finance.graphql import subscriptions

from saas.plugin_api.testing import collect_events, wait_for_listeners

TOPIC = "fin.quotes"


def _at(seconds: int) -> str:
    return (datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(seconds=seconds)).isoformat()


def test_subscribers_get_their_symbols_of_their_tenant_only(fin: Any, other_fin: Any) -> None:
    for symbol in ("ACME", "GLBX"):
        instrument(fin, symbol)
        instrument(other_fin, symbol)

    def act() -> None:
        ingest(fin, [("ACME", "10", _at(0)), ("GLBX", "20", _at(0))])

    mine = collect_events(fin, QUOTES_UPDATED, {"s": ["acme"]}, TOPIC, act)
    assert [m["data"]["quotesUpdated"] for m in mine] == [
        {
            "symbol": "ACME",
            "lastPrice": "10.00000000",
            "lastPriceAt": "2026-03-02T12:00:00.000000+00:00",
            "previousClose": None,
        }
    ]
    theirs = collect_events(other_fin, QUOTES_UPDATED, {"s": ["ACME", "GLBX"]}, TOPIC, act)
    assert theirs == []


def test_an_out_of_order_quote_is_not_streamed(fin: Any) -> None:
    instrument(fin, "ACME")
    ingest(fin, [("ACME", "10", _at(10))])

    def act() -> None:
        ingest(fin, [("ACME", "9", _at(5))])  # older: the last price does not change
        ingest(fin, [("ACME", "11", _at(20))])

    got = collect_events(fin, QUOTES_UPDATED, {"s": ["ACME"]}, TOPIC, act)
    assert [m["data"]["quotesUpdated"]["lastPrice"] for m in got] == ["11.00000000"]


def test_the_subscription_needs_symbols_and_the_plugin(fin: Any, other_tenant: Any) -> None:
    from saas.plugin_api.testing import GraphQLClient

    client: GraphQLClient = fin
    result = client.execute(QUOTES_UPDATED, {"s": []})
    assert result.get("errors"), result


def test_a_burst_reaches_each_subscriber_coalesced_with_the_newest_price_last(
    fin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    instrument(fin, "ACME")
    instrument(fin, "GLBX")
    engine = fin.engine
    # When the coalescer let each item go: the interval is kept there. At the receiver a
    # message delayed on its way (a loaded machine) can arrive closer to the next one than 100 ms.
    sent: list[list[tuple[float, Any]]] = []  # per coalescer: (when, key)

    async def recorded(source: Any, key: Any, interval: float) -> AsyncIterator[Any]:
        mine: list[tuple[float, Any]] = []
        sent.append(mine)
        async for item in coalesce(source, key, interval):
            mine.append((asyncio.get_running_loop().time(), key(item)))
            yield item

    monkeypatch.setattr(subscriptions, "coalesce", recorded)

    async def main() -> list[list[tuple[float, dict[str, Any]]]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {fin.token}")
        prepared = engine.prepare(QUOTES_UPDATED, None, principal)
        streams = [await engine.subscribe(prepared, {"s": ["ACME", "GLBX"]}, principal, f"sub-{n}") for n in range(3)]
        received: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in streams]
        loop = asyncio.get_running_loop()

        async def pump(index: int, stream: Any) -> None:
            async for payload in stream:
                received[index].append((loop.time(), payload["data"]["quotesUpdated"]))

        tasks = [asyncio.create_task(pump(i, s)) for i, s in enumerate(streams)]
        await wait_for_listeners(engine.runtime, principal.tenant_id, TOPIC)

        def burst() -> None:
            for n in range(30):  # 30 separate commits, each a new price of both symbols
                ingest(fin, [("ACME", str(100 + n), _at(n)), ("GLBX", str(200 + n), _at(n))])

        await asyncio.to_thread(burst)

        def newest_everywhere() -> bool:
            return all(
                {(m["symbol"], m["lastPrice"]) for _, m in got} >= {("ACME", "129.00000000"), ("GLBX", "229.00000000")}
                for got in received
            )

        for _ in range(100):  # the trailing messages: until each subscriber has the newest prices (10 s at most)
            if newest_everywhere():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # nothing may follow the newest price
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return received

    received = asyncio.run(main())
    for messages in received:
        for symbol, newest in (("ACME", "129.00000000"), ("GLBX", "229.00000000")):
            mine = [(t, m["lastPrice"]) for t, m in messages if m["symbol"] == symbol]
            assert mine and mine[-1][1] == newest, mine
            assert len(mine) < 30, mine  # coalesced: 30 changes, fewer messages
            prices = [price for _, price in mine]
            assert prices == sorted(prices)  # never an older price after a newer one
    # Subscribers of one (document, variables, visibility) share one run of the subscription, so one
    # coalescer may serve all three: each subscriber got what one of them let go.
    assert sent and {len(messages) for messages in received} <= {len(items) for items in sent}
    for items in sent:  # at most one per symbol per 100 ms, as each subscriber's coalescer let them go
        for symbol in ("ACME", "GLBX"):
            times = [when for when, key in items if key == symbol]
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert all(gap >= 0.1 - 1e-6 for gap in gaps), gaps


# -- the coalescer alone, on a scripted source ----------------------------------------------------


async def _scripted(script: list[tuple[float, str, int]]) -> AsyncIterator[tuple[str, int]]:
    """Yields (key, value) at the given offsets (seconds from the start)."""
    start = asyncio.get_running_loop().time()
    for offset, key, value in script:
        await asyncio.sleep(max(0.0, start + offset - asyncio.get_running_loop().time()))
        yield key, value


def _run(script: list[tuple[float, str, int]], interval: float = 0.1) -> list[tuple[float, str, int]]:
    async def main() -> list[tuple[float, str, int]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        key: Callable[[tuple[str, int]], str] = lambda item: item[0]  # noqa: E731
        return [(loop.time() - start, k, v) async for k, v in coalesce(_scripted(script), key, interval)]

    return asyncio.run(main())


def test_coalesce_sends_the_first_at_once_and_the_newest_of_a_burst_when_the_interval_ends() -> None:
    script = [(0.0, "A", 1), (0.01, "A", 2), (0.02, "B", 1), (0.03, "A", 3), (0.25, "A", 4)]
    got = _run(script)
    assert [(k, v) for _, k, v in got] == [("A", 1), ("B", 1), ("A", 3), ("A", 4)]
    times = {(k, v): t for t, k, v in got}
    assert times[("A", 1)] < 0.05 and times[("B", 1)] < 0.07  # no waiting for a first change
    assert 0.095 <= times[("A", 3)] < 0.2  # held until A's 100 ms ended
    assert times[("A", 4)] >= times[("A", 3)] + 0.095


def test_coalesce_limits_a_long_burst_to_one_per_interval_per_key() -> None:
    script = [(n * 0.005, "A", n) for n in range(100)]  # 100 changes in 0.5 s
    got = _run(script)
    assert got[-1][1:] == ("A", 99)
    assert len(got) <= 7  # 0.5 s / 100 ms + the first + the trailing one
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(got)]
    assert all(gap >= 0.095 for gap in gaps), gaps


def test_coalesce_passes_on_the_sources_error() -> None:
    async def failing() -> AsyncIterator[tuple[str, int]]:
        yield "A", 1
        raise RuntimeError("redis went away")

    async def main() -> list[tuple[str, int]]:
        return [item async for item in coalesce(failing(), lambda item: item[0], 0.1)]

    with pytest.raises(RuntimeError, match="redis went away"):
        asyncio.run(main())
