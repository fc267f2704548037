"""The budget's charges under concurrent requests, in-process: Redis round trips per request and
latency with several requests in flight.

    python -m bench.charge_turns [--database saas_bench] [--query 'customers page'] [--concurrency 8]
                                 [--requests 2000] [--warmup 200] [--commit C]

`--concurrency` callers share one event loop and the real ASGI application (`bench.profile`'s
caller: no socket, no uvicorn), each posting the read target's request again as soon as its
answer is in, until `--requests` answers (after `--warmup`). Reports the latency (p50/p99 of
every request, wall time), this process's CPU per request, the charges and the round trips to
Redis that carried them (`LoopCharger._send` where the code has it, else one per charge), and
how many charges each round trip carried. With `--instr-after-warmup` under `valgrind
--tool=callgrind --instr-atstart=no`, callgrind counts the measured requests alone (its total
divided by `--requests` is one request's instructions at that concurrency). `--charger-only K` measures the charger alone (K charges per turn, `--requests` turns, asyncio's
loop or `--uvloop`) and counts the connections it opened. `--commit` runs the `saas` code of a commit (alternate
it with the work tree's to compare on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from typing import Any

import orjson

from bench.common import BIG_SLUG, DEFAULT_DATABASE, InProcess, bench_url, callgrind, percentile, redis_url
from bench.profile import QUERY_NAMES, AsgiCaller, _tune_gc_as_served, workload


def _count_round_trips(sizes: Counter[int]) -> None:
    """Counts each round trip the charger sends, by the number of charges it carries."""
    from saas.quota.bucket import LoopCharger

    send = getattr(LoopCharger, "_send", None)
    if send is not None:

        def counted(self: Any, flush: Any) -> None:
            sizes[len(flush.charges)] += 1
            send(self, flush)

        LoopCharger._send = counted  # type: ignore[method-assign]
        return
    run = LoopCharger.run  # (older code: one round trip per charge)

    async def one_each(self: Any, *args: Any) -> Any:
        sizes[1] += 1
        return await run(self, *args)

    LoopCharger.run = one_each  # type: ignore[method-assign]


def run(
    database: str, query: str, concurrency: int, requests: int, warmup: int, first: int, instr: bool = False
) -> dict[str, Any]:
    from saas.cli import create_asgi_app  # noqa: F401  (imports the app's modules first)
    from saas.http.app import create_app
    from saas.http.logs import configure_logging

    client = InProcess.create(bench_url(database), redis_url())
    token = client.login(BIG_SLUG)
    configure_logging(client.engine.runtime.settings, cache_loggers=True)
    runtime = client.engine.runtime
    # The credential and tenant-limit caches kept for the whole run: their reloads every few
    # seconds (in worker threads) would count in an instruction count whose run takes minutes.
    runtime.credentials.ttl_seconds = 3600
    runtime.budget.limits.ttl_seconds = 3600
    app = create_app(runtime, client.engine)
    loop = client.loop
    loop.run_until_complete(runtime.budget.open(runtime.redis_url))
    caller = AsgiCaller(app, token)
    document, variables = workload(client, query, first)
    body = orjson.dumps({"query": document, "variables": variables})
    sizes: Counter[int] = Counter()
    _count_round_trips(sizes)

    async def callers(total: int) -> list[float]:
        latencies: list[float] = []
        left = [total]

        async def one_caller() -> None:
            while left[0] > 0:
                left[0] -= 1
                started = time.perf_counter()
                status, payload = await caller.post(body)
                latencies.append(time.perf_counter() - started)
                if status != 200 or b'"errors"' in payload[:20]:
                    raise RuntimeError(f"bad response {status}: {payload[:300]!r}")

        await asyncio.gather(*(one_caller() for _ in range(concurrency)))
        return latencies

    loop.run_until_complete(callers(warmup))
    _tune_gc_as_served(True)
    sizes.clear()
    if instr:
        callgrind("on")
    started, cpu_started = time.perf_counter(), time.process_time()
    latencies = loop.run_until_complete(callers(requests))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if instr:
        callgrind("off")
    loop.run_until_complete(runtime.budget.close())
    client.close()
    latencies.sort()
    round_trips = sum(sizes.values())
    charges = sum(size * count for size, count in sizes.items())
    return {
        "code": os.environ.get("SAAS_BENCH_CODE", "work tree"),
        "query": query,
        "concurrency": concurrency,
        "requests": requests,
        "req_per_s": requests / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "process_cpu_ms": cpu / requests * 1000,
        "charges_per_request": charges / requests,
        "round_trips_per_request": round_trips / requests,
        "charges_per_round_trip": {str(size): count for size, count in sorted(sizes.items())},
    }


def charger_only(per_turn: int, turns: int, uvloop: bool, instr: bool) -> dict[str, Any]:
    """`LoopCharger.run` alone, `per_turn` charges made in each turn (`asyncio.gather`), `turns`
    times after 200 turns of warm-up, on one bucket with room for all: no application, no
    database. Counts the connections the charger opened."""
    import redis.asyncio.connection

    from saas.quota.bucket import LoopCharger

    opened = [0]
    connect = redis.asyncio.connection.AbstractConnection.connect_check_health

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        return await connect(self, *args, **kwargs)

    redis.asyncio.connection.AbstractConnection.connect_check_health = counted  # type: ignore[method-assign]

    async def measured() -> dict[str, Any]:
        charger = LoopCharger(redis_url())
        key = f"bench:cost:{os.getpid()}"

        async def rounds(count: int) -> None:
            for _ in range(count):
                if per_turn == 1:
                    await charger.run(key, 10**12, 1)
                else:
                    await asyncio.gather(*(charger.run(key, 10**12, 1) for _ in range(per_turn)))

        await rounds(200)
        opened[0] = 0
        if instr:
            callgrind("on")
        started = time.process_time()
        await rounds(turns)
        cpu = time.process_time() - started
        if instr:
            callgrind("off")
        await charger.close()
        charges = turns * per_turn
        return {"charges": charges, "cpu_us_per_charge": cpu / charges * 1e6, "connections_opened": opened[0]}

    if uvloop:
        import uvloop as uv

        return uv.run(measured())  # type: ignore[no-any-return]
    return asyncio.run(measured())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redis round trips and latency of the budget's charges, in-process.")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--query", default="customers page", choices=QUERY_NAMES)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument(
        "--instr-after-warmup",
        action="store_true",
        help="under valgrind --tool=callgrind --instr-atstart=no: count the measured requests only "
        "(callgrind_control switches the instrumentation on after the warm-up and off after them)",
    )
    parser.add_argument(
        "--charger-only",
        type=int,
        metavar="K",
        help="no application: LoopCharger.run alone, K charges per turn, --requests turns",
    )
    parser.add_argument("--uvloop", action="store_true", help="with --charger-only: on uvloop (the server's loop)")
    parser.add_argument("--commit", help="run the saas code of this commit instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.charge_turns", argv)
    if args.charger_only:
        result = charger_only(args.charger_only, args.requests, args.uvloop, args.instr_after_warmup)
        print(orjson.dumps(result).decode())
        return 0
    from bench.seed import seed

    os.environ.setdefault("TENANT_COST_PER_MINUTE", "1000000000")  # as bench.run's server
    seed(args.database)
    result = run(
        args.database, args.query, args.concurrency, args.requests, args.warmup, args.first, args.instr_after_warmup
    )
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
