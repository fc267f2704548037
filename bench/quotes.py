"""The finance plugin's quote benchmark: ingestion throughput, and quote-to-subscriber latency.

    python -m bench.quotes [--instruments 500] [--batches 10] [--subscribers 100]
                           [--rounds 50] [--interval 0.2] [--symbols 10] [--json FILE]

Everything runs in this one process, through the real GraphQL engine (parse, validate,
execute, serialise) as a server process runs it, on a fresh database (on the server of
`DATABASE_URL`, default the local PostgreSQL) migrated with every installed plugin and
dropped at the end, and real Redis (`REDIS_URL`, default redis://127.0.0.1:6379/0):

1. Ingestion: a tenant with the finance plugin and `--instruments` instruments; `ingestQuotes`
   mutations of 5,000, 500 and 50 quotes (each quote a new, later price of an instrument),
   `--batches` of each size one after the other; quotes/s = quotes accepted / wall time. Then
   the same batches of 5,000 through the service alone (as the feed job ingests, no GraphQL).
2. Latency: `--subscribers` subscriptions `quotesUpdated(symbols: [10 symbols])` open on this
   process's event loop (one Redis connection for all, as in a server); then `--rounds`
   mutations, one every `--interval` seconds (longer than the 100 ms coalescing window, so no
   message waits for it), each a new price of the `--symbols` (10) symbols. Each message is matched to its
   mutation by its price; latency = receipt - the mutation's start (its commit is before the
   publication), over every (subscriber, symbol, round). Completeness: every subscriber must
   receive every round's price of every symbol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
INGEST = "mutation($input: FinIngestQuotesInput!) { ingestQuotes(input: $input) { accepted rejected { reason } userErrors { code } } }"
CREATE = "mutation($input: FinCreateInstrumentInput!) { createInstrument(input: $input) { instrument { id } userErrors { code } } }"
SUBSCRIPTION = "subscription($s: [String!]!) { quotesUpdated(symbols: $s) { symbol lastPrice } }"


def log(message: str) -> None:
    print(f"[bench.quotes] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _execute(engine: Any, principal: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    prepared = engine.prepare(query, None, principal)
    outcome = await engine.execute(prepared, variables, principal, secrets.token_hex(4))
    payload: dict[str, Any] = json.loads(json.dumps(outcome.payload, default=str))
    if payload.get("errors"):
        raise RuntimeError(payload["errors"])
    return payload["data"]


def _quotes(symbols: list[str], count: int, start: datetime, price: int) -> list[dict[str, str]]:
    return [
        {
            "symbol": symbols[n % len(symbols)],
            "price": f"{price}.{n % 100:02d}",
            "at": (start + timedelta(microseconds=n)).isoformat(),
        }
        for n in range(count)
    ]


async def ingestion(engine: Any, runtime: Any, principal: Any, symbols: list[str], batches: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    start = datetime.now(UTC) - timedelta(days=1)
    for size in (5_000, 500, 50):
        accepted, began = 0, time.perf_counter()
        for b in range(batches):
            moment = start + timedelta(seconds=b + size)
            data = await _execute(
                engine, principal, INGEST, {"input": {"quotes": _quotes(symbols, size, moment, 100 + b)}}
            )
            accepted += data["ingestQuotes"]["accepted"]
        elapsed = time.perf_counter() - began
        results[str(size)] = {
            "quotes": accepted,
            "seconds": round(elapsed, 3),
            "quotes_per_second": round(accepted / elapsed),
        }
        log(f"batches of {size}: {accepted} quotes in {elapsed:.2f} s = {accepted / elapsed:,.0f} quotes/s")
    results["service_5000"] = await asyncio.to_thread(service_ingestion, runtime, principal, symbols, batches, start)
    return results


def service_ingestion(
    runtime: Any, principal: Any, symbols: list[str], batches: int, start: datetime
) -> dict[str, Any]:
    """The same batches of 5,000 through the service alone, as the feed job ingests (no GraphQL):
    a tenant session per batch, committed."""
    from decimal import Decimal

    from saas_finance.service import quotes as service

    from saas.tenancy.session import tenant_session

    accepted, began = 0, time.perf_counter()
    for b in range(batches):
        raw = _quotes(symbols, 5_000, start + timedelta(hours=2, seconds=b), 200 + b)
        batch = [service.Quote(q["symbol"], Decimal(q["price"]), datetime.fromisoformat(q["at"])) for q in raw]
        with tenant_session(runtime.engine, principal.tenant_id) as session:
            accepted += service.ingest(session, principal, batch).accepted
    elapsed = time.perf_counter() - began
    log(f"service alone, batches of 5000: {accepted} quotes in {elapsed:.2f} s = {accepted / elapsed:,.0f} quotes/s")
    return {"quotes": accepted, "seconds": round(elapsed, 3), "quotes_per_second": round(accepted / elapsed)}


async def latency(
    engine: Any, runtime: Any, principal: Any, symbols: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    from saas.realtime import channel, local_listeners

    watched = symbols[: args.symbols]
    prepared = engine.prepare(SUBSCRIPTION, None, principal)
    loop = asyncio.get_running_loop()
    received: list[list[tuple[float, str, str]]] = [[] for _ in range(args.subscribers)]

    async def pump(index: int) -> None:
        stream = await engine.subscribe(prepared, {"s": watched}, principal, f"sub-{index}")
        async for payload in stream:
            message = payload["data"]["quotesUpdated"]
            received[index].append((loop.time(), message["symbol"], message["lastPrice"]))

    tasks = [asyncio.create_task(pump(i)) for i in range(args.subscribers)]
    name = channel(principal.tenant_id, "fin.quotes")
    deadline = loop.time() + 30
    while local_listeners(runtime.settings.redis_url, name) < args.subscribers and loop.time() < deadline:
        await asyncio.sleep(0.05)
    log(f"{local_listeners(runtime.settings.redis_url, name)} subscribers listening")
    sent: dict[str, float] = {}
    started = datetime.now(UTC)
    for r in range(args.rounds):
        price = f"{1000 + r}.00000000"
        quotes = [{"symbol": s, "price": price, "at": (started + timedelta(seconds=r)).isoformat()} for s in watched]
        sent[price] = loop.time()
        await _execute(engine, principal, INGEST, {"input": {"quotes": quotes}})
        await asyncio.sleep(max(0.0, sent[price] + args.interval - loop.time()))
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(at - sent[price]) * 1000 for messages in received for at, _, price in messages if price in sent]
    expected = args.subscribers * args.rounds * len(watched)
    delivered = sum(len(m) for m in received)
    result = {
        "subscribers": args.subscribers,
        "rounds": args.rounds,
        "symbols": len(watched),
        "expected_messages": expected,
        "delivered_messages": delivered,
        "latency_ms": {
            "p50": round(pct(latencies, 0.5), 1),
            "p90": round(pct(latencies, 0.9), 1),
            "p99": round(pct(latencies, 0.99), 1),
            "max": round(max(latencies), 1),
            "mean": round(statistics.fmean(latencies), 1),
        },
    }
    log(f"latency: {result}")
    return result


async def measure(engine: Any, runtime: Any, token: str, args: argparse.Namespace) -> dict[str, Any]:
    principal = await asyncio.to_thread(runtime.authenticate, f"Bearer {token}")
    symbols = [f"Q{n:04d}" for n in range(args.instruments)]
    for symbol in symbols:
        variables = {"input": {"symbol": symbol, "name": symbol, "assetClass": "EQUITY", "currency": "EUR"}}
        await _execute(engine, principal, CREATE, variables)
    log(f"{len(symbols)} instruments")
    return {
        "ingestion": await ingestion(engine, runtime, principal, symbols, args.batches),
        "latency": await latency(engine, runtime, principal, symbols, args),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """A fresh database, a runtime and a tenant with the plugin; the measurements; everything dropped."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_SERVER_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    from saas.accounts.service import create_tenant
    from saas.plugin_api.testing import GraphQLClient, enable_plugin, fresh_database, migrate_database, settings_for
    from saas.runtime import create_runtime, load_plugins
    from saas.schema.engine import GraphQLEngine

    host = load_plugins()
    with fresh_database() as url:
        settings = settings_for(url)
        migrate_database(url, settings, host)
        runtime = create_runtime(settings, url, settings.redis_url or DEFAULT_REDIS_URL, plugins=host)
        try:
            engine = GraphQLEngine(runtime)
            slug = f"bench-{secrets.token_hex(3)}"
            email = f"owner@{slug}.example.com"
            create_tenant(runtime.engine, slug, "Quotes bench", email, "bench-password-123")
            client = GraphQLClient(engine).login(email, "bench-password-123", slug)
            enable_plugin(client, "finance")
            assert client.token
            result = asyncio.run(measure(engine, runtime, client.token, args))
        finally:
            runtime.close()
    return result | {"cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quotes", description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument(
        "--symbols", type=int, default=10, help="symbols each subscriber watches, all changed per round"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
