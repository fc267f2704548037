"""Where one customers-page request (or another compiled read) spends its time, measured in-process.

    python -m bench.profile [--database saas_bench] [--iterations 500] [--first 50] [--top 25]
                            [--query 'customers page'|'customer 360'|'opportunities list'|'leads list'|...]
                            [--no-fast-path] [--loop-only [--instr-after-warmup]]

`--query` names one of the read targets (`bench.targets`: the customers page, the customer 360,
the opportunities, leads and tickets lists, each industry plugin's list); `--no-fast-path` runs
every operation through graphql-core's executor (`GraphQLEngine.fast_path = False`), for an A/B
of `saas.schema.fast_path` in one checkout. `--loop-only` runs the measured loop alone (no stage
timers, no cProfile loop): for instruction counts, e.g. `valgrind --tool=callgrind` of two runs
with different `--iterations`, whose difference divided by the difference of iterations is the
cost of one request without the start-up. With `--instr-after-warmup` (and valgrind's
`--instr-atstart=no`) callgrind counts from the end of the warm-up on: the start-up runs at
valgrind's lighter speed, a run takes minutes less, and the difference is the same.

The request runs through the real ASGI application (`saas.http.app.create_app`) driven by
a minimal ASGI caller: no socket, no uvicorn HTTP parsing, no client, one request at a
time. The benchmark's functions are wrapped with wall-clock timers (nothing in `saas/` is
edited), which split each request into:

  auth            `Runtime.authenticate` in its worker thread (token check; the membership
                  lookup is cached 5 s, so it is nearly always a cache hit)
  prepare         `GraphQLEngine.prepare_async`: parse and validation, both cached by query text
  database        `saas.db.reads.fetch_json`, awaited on the event loop (older commits: in a
                  worker thread): pool checkout, one round trip (set tenant + compiled
                  statement), fetch of the JSON text
  budget          the tenant's cost budget: the charge in Redis (`CostBucket.charge` in a
                  worker thread, or `charge_async` awaited on the event loop: one round trip
                  running the bucket's script)
  thread hops     waiting for worker threads (the credential check on a cache miss, the
                  charge, the database) beyond the work done in them, or for the event loop
                  to resume after a non-blocking call (`run_in_threadpool` scheduling, GIL
                  hand-over)
  graphql exec    `GraphQLEngine.execute` minus the awaited budget and database calls: graphql-core's
                  executor, the resolver (permission check, compiled-statement cache lookup,
                  parameters), result formatting
  serialisation   `dumps` of the response (orjson; the compiled JSON passes as a Fragment)
  http layer      the rest: the HTTP path (`GraphQLEndpoint`; older commits: Starlette's
                  routing, middleware and Request/Response objects): request id, log context
                  and client binding, body and parameter parsing, content negotiation, the
                  operation record (metrics and the access log line), the response messages

Then cProfile over the same loop (main thread only: the two worker-thread calls show as
waits) lists the functions with the most own time, grouped by package.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:  # run as a file: do not shadow the standard `profile`
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))

import argparse
import asyncio
import cProfile
import functools
import gc
import pstats
import re
import statistics
import threading
import time
from collections import defaultdict
from typing import Any

import orjson

from bench.common import (
    BIG_SLUG,
    CUSTOMERS_PAGE,
    DEFAULT_DATABASE,
    InProcess,
    bench_url,
    callgrind,
    graphql_post_scope,
    percentile,
    redis_url,
)

CATEGORIES = ("auth", "prepare", "budget", "database", "thread hops", "graphql exec", "serialisation", "http layer")


class Timers:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.totals[name] += seconds

    def reset(self) -> None:
        self.totals.clear()


TIMERS = Timers()


def _timed_sync(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMERS.add(name, time.perf_counter() - started)

    return wrapper


def _timed_async(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            TIMERS.add(name, time.perf_counter() - started)

    return wrapper


def instrument() -> None:
    """Wrap the request path's stages with timers (monkeypatching, in this process only)."""
    import saas.db.reads
    import saas.http.auth
    import saas.http.errors
    import saas.http.graphql_http
    import saas.schema.context
    import saas.schema.engine
    from saas.runtime import Runtime
    from saas.schema.engine import GraphQLEngine

    Runtime.authenticate = _timed_sync("auth:work", Runtime.authenticate)  # type: ignore[method-assign]
    saas.http.graphql_http.authenticate = _timed_async("auth:await", saas.http.auth.authenticate)
    # The HTTP path calls `prepare_async`: a cache hit may answer without calling `prepare`.
    GraphQLEngine.prepare_async = _timed_async("prepare", GraphQLEngine.prepare_async)  # type: ignore[method-assign]
    GraphQLEngine.execute = _timed_async("execute", GraphQLEngine.execute)  # type: ignore[method-assign]
    if asyncio.iscoroutinefunction(saas.db.reads.fetch_json):  # on the event loop: no thread hop
        saas.db.reads.fetch_json = _timed_async("database:work", saas.db.reads.fetch_json)
    else:  # (older commits read in a worker thread)
        saas.db.reads.fetch_json = _timed_sync("database:work", saas.db.reads.fetch_json)
    saas.schema.context.fetch_compiled = _timed_async("database:await", saas.schema.context.fetch_compiled)
    import saas.schema.compiled
    import saas.schema.nodes

    for module in (saas.schema.compiled, saas.schema.nodes):  # where the compiled reads call it
        module.fetch_compiled = saas.schema.context.fetch_compiled  # type: ignore[attr-defined]
    saas.http.errors.dumps = _timed_sync("serialisation", saas.http.errors.dumps)
    from saas.quota.bucket import CostBucket
    from saas.quota.budget import TenantBudget

    TenantBudget.admit = _timed_async("budget:await", TenantBudget.admit)  # type: ignore[method-assign]
    CostBucket.charge = _timed_sync("budget:work", CostBucket.charge)  # type: ignore[method-assign]
    if hasattr(CostBucket, "charge_async"):  # awaited on the loop: the Redis round trip, no thread
        CostBucket.charge_async = _timed_async("budget:work", CostBucket.charge_async)  # type: ignore[method-assign]


class AsgiCaller:
    """Calls the ASGI app the way uvicorn would, for one POST at a time."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ]

    async def post(self, body: bytes) -> tuple[int, bytes]:
        scope = graphql_post_scope([*self.headers, (b"content-length", str(len(body)).encode())])
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def _machine_busy(psutil: Any) -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def split(totals: dict[str, float], wall: float) -> dict[str, float]:
    """The categories (seconds, summed over the loop) from the raw timers."""
    # A credential checked moments ago is answered on the event loop: no worker thread, no hop.
    auth_work = totals.get("auth:work", 0.0)
    auth_hop = totals["auth:await"] - auth_work if auth_work else 0.0
    db_hop = totals["database:await"] - totals["database:work"]
    budget_hop = totals.get("budget:await", 0.0) - totals.get("budget:work", 0.0)
    parts = {
        "auth": auth_work or totals["auth:await"],
        "prepare": totals["prepare"],
        "budget": totals.get("budget:work", 0.0),
        "database": totals["database:work"],
        "thread hops": auth_hop + db_hop + budget_hop,
        "graphql exec": totals["execute"] - totals["database:await"] - totals.get("budget:await", 0.0),
        "serialisation": totals["serialisation"],
    }
    parts["http layer"] = wall - totals["auth:await"] - totals["prepare"] - totals["execute"] - totals["serialisation"]
    return parts


def _short(filename: str) -> str:
    """A path from its package on: site-packages/…, the standard library, saas/ or bench/."""
    short = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", filename)
    return re.sub(r"^.*/(saas|bench)/", r"\1/", short)


def package_of(filename: str) -> str:
    for marker, name in (
        ("/graphql/", "graphql-core"),
        ("/strawberry/", "strawberry"),
        ("/starlette/", "starlette"),
        ("/sqlalchemy/", "sqlalchemy"),
        ("/psycopg2/", "psycopg2"),
        ("/structlog/", "structlog"),
        ("/prometheus_client/", "prometheus_client"),
        ("/anyio/", "anyio"),
        ("/asyncio/", "asyncio"),
        ("/saas/", "saas"),
        ("/bench/", "bench (driver)"),
    ):
        if marker in filename:
            return name
    if filename == "~":
        return "builtins (C: orjson, locks, waits…)"
    return "other python"


def profile_summary(profiler: cProfile.Profile, iterations: int, top: int) -> dict[str, Any]:
    """cProfile's figures per request: own time by package, the total, the top functions by own
    time and the `saas` functions by cumulative time (shared with `bench.write_profile`)."""
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, func), (_cc, nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename)] += tottime
        rows.append((tottime, cumtime, nc, f"{_short(filename)}:{line}({func})"))
    rows.sort(reverse=True)
    cumulative = sorted(rows, key=lambda row: -row[1])
    per = 1000 / iterations
    return {
        "cprofile_total_ms": sum(by_package.values()) * per,
        "cprofile_by_package_ms": {k: v * per for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])},
        "cprofile_top": [
            {"own_ms": t * per, "cum_ms": c * per, "calls_per_req": n / iterations, "function": f}
            for t, c, n, f in rows[:top]
        ],
        "cprofile_top_cumulative": [
            {"own_ms": t * per, "cum_ms": c * per, "calls_per_req": n / iterations, "function": f}
            for t, c, n, f in [row for row in cumulative if row[3].startswith("saas/")][: top * 2]
        ],
    }


class GcPauses:
    """Collections and their durations by generation, through `gc.callbacks` (CPU-light: two
    clock reads per collection), while `watching`."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = 0.0
        self._started = 0.0
        self.watching = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.watching:
            took = time.perf_counter() - self._started
            generation = info["generation"]
            self.count[generation] += 1
            self.seconds[generation] += took
            self.longest = max(self.longest, took)

    def summary(self, iterations: int) -> dict[str, Any]:
        return {
            "collections_per_1000_requests": [c * 1000 / iterations for c in self.count],
            "gc_ms_per_request": sum(self.seconds) * 1000 / iterations,
            "gc_ms_by_generation": [s * 1000 for s in self.seconds],
            "longest_gc_pause_ms": self.longest * 1000,
        }


def _tune_gc_as_served(enabled: bool) -> bool:
    """The serving process's GC settings (`saas.http.gc_tuning`, when the profiled code has it)."""
    if not enabled:
        return False
    try:
        from saas.http.gc_tuning import tune_for_serving
    except ImportError:  # older commits
        return False
    tune_for_serving()
    return True


QUERY_NAMES = (
    "customers page",
    "customer 360",
    "opportunities list",
    "leads list",
    "tickets list",
    "vehicles list (automotive)",
    "instruments list (finance)",
    "policies list (insurance)",
    "orders list (manufacturing)",
)


def workload(client: InProcess, name: str, first: int) -> tuple[str, dict[str, Any]]:
    """The document and variables of the read target `name` (`QUERY_NAMES`)."""
    if name == "customers page":
        return CUSTOMERS_PAGE, {"first": first}
    if name == "customer 360":
        from bench.sales import CUSTOMER_360, KEY_ACCOUNT_ID

        return CUSTOMER_360, {"id": client.data(KEY_ACCOUNT_ID)["customers"]["edges"][0]["node"]["id"]}
    from bench.targets import OPPORTUNITIES, PLUGIN_TARGETS

    lists = {"opportunities list": OPPORTUNITIES, **{target: ours for target, ours, _ in PLUGIN_TARGETS}}
    return lists[name], {"first": first}


def run(
    database: str,
    iterations: int,
    first: int,
    top: int,
    warmup: int = 100,
    serving_gc: bool = True,
    query: str = "customers page",
    fast_path: bool = True,
    loop_only: bool = False,
    instr_after_warmup: bool = False,
) -> dict[str, Any]:
    from saas.cli import create_asgi_app  # noqa: F401  (imports the app's modules first)
    from saas.http.app import create_app
    from saas.http.logs import configure_logging

    url = bench_url(database)
    client = InProcess.create(url, redis_url())
    token = client.login(BIG_SLUG)
    try:  # as the serving process does (`saas.cli.create_asgi_app`)
        configure_logging(client.engine.runtime.settings, cache_loggers=True)
    except TypeError:  # older commits: loggers rebuilt on every call
        configure_logging(client.engine.runtime.settings)
    if not loop_only:
        instrument()
    app = create_app(client.engine.runtime, client.engine)
    runtime = client.engine.runtime
    opens = getattr(runtime.budget, "open", None)  # (older commits charge in a worker thread)
    if opens is not None:
        client.loop.run_until_complete(opens(runtime.redis_url))  # as the app's lifespan does
    if not fast_path:
        client.engine.fast_path = False  # (older commits have no fast path)
    caller = AsgiCaller(app, token)
    document, variables = workload(client, query, first)
    body = orjson.dumps({"query": document, "variables": variables})
    loop = client.loop

    async def one() -> float:
        started = time.perf_counter()
        status, payload = await caller.post(body)
        elapsed = time.perf_counter() - started
        if status != 200 or b'"errors"' in payload[:20]:
            raise RuntimeError(f"bad response {status}: {payload[:300]!r}")
        return elapsed

    async def loop_of(n: int) -> list[float]:
        return [await one() for _ in range(n)]

    async def measured(n: int) -> tuple[list[float], list[dict[str, float]]]:
        latencies, splits = [], []
        for _ in range(n):
            TIMERS.reset()
            latency = await one()
            latencies.append(latency)
            if not loop_only:
                splits.append(split(dict(TIMERS.totals), latency))
        return latencies, splits

    loop.run_until_complete(loop_of(warmup))
    gc_tuned = _tune_gc_as_served(serving_gc)
    if instr_after_warmup:  # under `valgrind --tool=callgrind --instr-atstart=no`: count from here on
        callgrind("on")
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    import psutil

    pauses.watching = True
    started, cpu_started, busy_started = time.perf_counter(), time.process_time(), _machine_busy(psutil)
    latencies, splits = loop.run_until_complete(measured(iterations))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    pauses.watching = False
    # What a full (generation 2) collection costs now: the pause one would put into a request.
    full_started = time.process_time()
    gc.collect()
    full_collection_ms = (time.process_time() - full_started) * 1000
    others = (_machine_busy(psutil) - busy_started - cpu) / wall
    parts_mean = {name: statistics.fmean(s[name] for s in splits) if splits else 0.0 for name in CATEGORIES}
    parts_median = {name: statistics.median(s[name] for s in splits) if splits else 0.0 for name in CATEGORIES}

    profiled: dict[str, Any] = {}
    if not loop_only:
        # CPU time, not wall time: a busy machine descheduling the process does not count as work.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        loop.run_until_complete(loop_of(iterations))
        profiler.disable()
        profiled = profile_summary(profiler, iterations, top)
    if opens is not None:
        loop.run_until_complete(runtime.budget.close())
    client.close()

    latencies.sort()
    return {
        "query": query,
        "fast_path": fast_path,
        "iterations": iterations,
        "first": first,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "req_per_s_one_at_a_time": iterations / wall,
        "process_cpu_ms": cpu / iterations * 1000,
        "other_cpu_cores": others,
        "split_mean_ms": {k: v * 1000 for k, v in parts_mean.items()},
        "split_median_ms": {k: v * 1000 for k, v in parts_median.items()},
        "gc_tuned_as_served": gc_tuned,
        "full_collection_cpu_ms": full_collection_ms,
        **pauses.summary(iterations),
        "loop_only": loop_only,
        **profiled,
    }


def print_report(result: dict[str, Any]) -> None:
    mean, median = result["split_mean_ms"], result["split_median_ms"]
    total = sum(mean.values())
    print(
        f"\nProfile: {result.get('query', 'customers page')} (first: {result['first']}"
        f"{'' if result.get('fast_path', True) else ', fast path off'}), "
        f"{result['iterations']} requests one at a time, in-process ASGI"
    )
    print(
        f"  latency mean {result['mean_ms']:.2f} ms, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
        f"({result['req_per_s_one_at_a_time']:.0f} req/s sequential)"
    )
    print(f"  CPU of this process per request (all threads, timers included): {result['process_cpu_ms']:.2f} ms")
    print(f"  CPU used meanwhile by everything else (PostgreSQL included): {result['other_cpu_cores']:.2f} cores")
    print(
        f"  GC ({'as served: frozen, thresholds raised' if result['gc_tuned_as_served'] else 'CPython defaults'}): "
        f"{result['gc_ms_per_request']:.3f} ms per request, collections per 1,000 requests by generation "
        f"{' / '.join(f'{c:.0f}' for c in result['collections_per_1000_requests'])}, "
        f"by generation {' / '.join(f'{ms:.1f}' for ms in result['gc_ms_by_generation'])} ms in all, "
        f"longest pause {result['longest_gc_pause_ms']:.2f} ms; a full collection takes "
        f"{result['full_collection_cpu_ms']:.1f} ms CPU"
    )
    if result.get("loop_only"):
        return
    print(f"\n  {'stage':<15} {'mean ms':>8} {'share':>7} {'median ms':>10}")
    for name in CATEGORIES:
        print(f"  {name:<15} {mean[name]:>8.3f} {mean[name] / total:>7.1%} {median[name]:>10.3f}")
    print(f"  {'total':<15} {total:>8.3f} {'':>7} {sum(median.values()):>10.3f}")
    print(
        f"\n  cProfile (CPU time), main thread, own time by package (profiler overhead inflates it: {result['cprofile_total_ms']:.2f} ms/request)"
    )
    for name, ms in result["cprofile_by_package_ms"].items():
        if ms >= 0.005:
            print(f"  {name:<40} {ms:>8.3f} ms")
    print(
        "\n  top functions by own time (ms per request; calls per request, a coroutine's resumptions count as calls):"
    )
    for row in result["cprofile_top"]:
        print(f"  {row['own_ms']:>7.3f} own {row['cum_ms']:>7.3f} cum {row['calls_per_req']:>6.0f}x  {row['function']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile a compiled read (the customers page) in-process.")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    parser.add_argument("--query", default="customers page", choices=QUERY_NAMES, help="the read target to profile")
    parser.add_argument(
        "--no-fast-path",
        action="store_true",
        help="run every operation through graphql-core's executor (GraphQLEngine.fast_path = False)",
    )
    parser.add_argument(
        "--loop-only",
        action="store_true",
        help="the measured loop alone: no stage timers, no cProfile loop (for instruction counts)",
    )
    parser.add_argument(
        "--instr-after-warmup",
        action="store_true",
        help="under valgrind --tool=callgrind --instr-atstart=no: switch callgrind's instrumentation on "
        "after the warm-up (callgrind_control), so that start-up runs at valgrind's lighter speed",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's GC settings (by default: the serving process's, saas.http.gc_tuning)",
    )
    parser.add_argument("--commit", help="profile the saas code of this commit (e.g. HEAD) instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.profile", argv)
    from bench.seed import seed

    # As `bench.run`'s server: the default per-tenant budget would refuse most of the loop (429).
    os.environ.setdefault("TENANT_COST_PER_MINUTE", "1000000000")
    seed(args.database)
    result = run(
        args.database,
        args.iterations,
        args.first,
        args.top,
        serving_gc=not args.default_gc,
        query=args.query,
        fast_path=not args.no_fast_path,
        loop_only=args.loop_only,
        instr_after_warmup=args.instr_after_warmup,
    )
    print_report(result)
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
