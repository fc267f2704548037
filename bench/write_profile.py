"""Where one write (`createCustomer`, `moveOpportunity`) spends its CPU, measured in-process.

    python -m bench.write_profile --database saas_bench_writes [--mutation create|move|both]
        [--iterations 400] [--warmup 100] [--top 30] [--commit REV]
    python -m bench.write_profile --small       # a small database of its own (`saas_writes_small`)
    python -m bench.write_profile --database saas_bench_writes --without-service --cpu-only

`--without-service`: each kind's first mutation runs its service call (`RequestContext.write`)
and keeps what it returned; every later one is answered that result without a transaction, so
the CPU measured is the request path around the service alone (HTTP, the budget charge in Redis,
GraphQL execution, the payload), with less of the database's noise in it.

Writes go into the database: run it on a copy of the benchmark's (`createdb -T saas_bench
saas_bench_writes`), never on `saas_bench` itself. `--small` seeds (once) a database of 2 tenants
whose `bench-big` has 3,000 customers and their opportunities, enough for these two mutations.

Each mutation runs through the real ASGI application (`saas.http.app.create_app`) driven by
`bench.profile.AsgiCaller`: no socket, one request at a time, as the owner of `bench-big`, with
the bodies `bench/writes.py` sends under wrk: `createCustomer` with a name unique to the run and the
request, `moveOpportunity` over open opportunities of the tenant, each into the other of two open
stages than the one it is in. After the warm-up:

1. **CPU per mutation**: `time.process_time()` of the process (every thread) over the loop, divided
   by the mutations, with no timer and no profiler installed. The number to compare (the machine is
   shared: wall time and requests/s are not). Beside it, the CPU of the PostgreSQL backends
   connected to the database over the same loop (`/proc`, when PostgreSQL runs on this machine):
   what the statements cost the server, which shares the machine's cores.
2. **The split** (wall clock, with timers, functions wrapped in this process only):

   auth            the credential check (a cache hit)
   prepare         parse and validation (cache hits)
   budget          the tenant's cost charge in Redis
   graphql exec    `GraphQLEngine.execute` minus the write and the budget: the executor, the
                   resolver's input handling, the payload's fields
   thread hop      waiting for the write's worker thread and for the loop to resume
   service         the transaction in its thread minus its SQL and its commit: validation, the
                   ORM, the audit snapshot, the event payload (the Python of the write)
   sql             the statements' `cursor.execute` (mostly waiting for PostgreSQL)
   commit          `Session.commit` minus the work after it: the COMMIT round trip
   after commit    the work run after the commit: the live message (Redis), the dispatch request
                   (a job enqueued on the broker, set up as `saas serve` sets it up)
   serialisation   `dumps` of the response
   http layer      the rest: the HTTP path (older commits: Starlette and its middleware), the
                   operation record and access log line

3. **cProfile** over the same loop with the write run on the event loop's thread (so the
   profiler, which sees one thread, sees all of it): own time by package and the top functions.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:  # run as a file: do not shadow the standard `profile`
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))

import argparse
import cProfile
import secrets
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.common import BIG_SLUG, InProcess, bench_url, redis_url
from bench.profile import TIMERS, AsgiCaller, _timed_async, _timed_sync, profile_summary
from bench.writes import CREATE, MOVE, owner_connection

SMALL_DATABASE = "saas_writes_small"
CATEGORIES = (
    "auth", "prepare", "budget", "graphql exec", "thread hop", "service", "sql", "commit", "after commit",
    "serialisation", "http layer",
)  # fmt: skip
MOVE_OPPORTUNITIES = 500


def instrument() -> None:
    """Wrap the write path's stages with timers (monkeypatching, in this process only)."""
    from sqlalchemy import Engine, event
    from sqlalchemy.orm import Session

    import saas.http.auth
    import saas.http.errors
    import saas.http.graphql_http
    import saas.tenancy.session
    from saas.quota.bucket import CostBucket
    from saas.quota.budget import TenantBudget
    from saas.runtime import Runtime
    from saas.schema.context import RequestContext
    from saas.schema.engine import GraphQLEngine

    Runtime.authenticate = _timed_sync("auth:work", Runtime.authenticate)  # type: ignore[method-assign]
    saas.http.graphql_http.authenticate = _timed_async("auth:await", saas.http.auth.authenticate)
    GraphQLEngine.prepare = _timed_sync("prepare", GraphQLEngine.prepare)  # type: ignore[method-assign]
    GraphQLEngine.execute = _timed_async("execute", GraphQLEngine.execute)  # type: ignore[method-assign]
    RequestContext.write = _timed_async("write:await", RequestContext.write)  # type: ignore[method-assign]
    RequestContext._write_sync = _timed_sync("write:work", RequestContext._write_sync)  # type: ignore[method-assign]
    Session.commit = _timed_sync("commit", Session.commit)  # type: ignore[method-assign]
    saas.tenancy.session.run_after_commit = _timed_sync("after commit", saas.tenancy.session.run_after_commit)
    if hasattr(saas.tenancy.session, "_shared_round_trips"):  # the work after commit's shared Redis round trips
        saas.tenancy.session._shared_round_trips = _timed_sync(  # type: ignore[attr-defined]
            "after commit", saas.tenancy.session._shared_round_trips
        )
    saas.http.errors.dumps = _timed_sync("serialisation", saas.http.errors.dumps)
    TenantBudget.admit = _timed_async("budget:await", TenantBudget.admit)  # type: ignore[method-assign]
    CostBucket.charge = _timed_sync("budget:work", CostBucket.charge)  # type: ignore[method-assign]
    if hasattr(CostBucket, "charge_async"):
        CostBucket.charge_async = _timed_async("budget:work", CostBucket.charge_async)  # type: ignore[method-assign]

    started: dict[int, float] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, *args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, *args: Any) -> None:
        begun = started.pop(id(cursor), None)
        if begun is not None:
            TIMERS.add("sql", time.perf_counter() - begun)


def split(totals: dict[str, float], wall: float) -> dict[str, float]:
    """The categories (seconds, for one request) from the raw timers."""
    get = totals.get
    auth_work = get("auth:work", 0.0)
    budget_await = get("budget:await", 0.0)
    commit_round_trip = get("commit", 0.0) - get("after commit", 0.0)
    parts = {
        "auth": auth_work or get("auth:await", 0.0),
        "prepare": get("prepare", 0.0),
        "budget": get("budget:work", 0.0),
        "graphql exec": get("execute", 0.0) - get("write:await", 0.0) - budget_await,
        "thread hop": (get("write:await", 0.0) - get("write:work", 0.0))
        + (get("auth:await", 0.0) - auth_work if auth_work else 0.0)
        + (budget_await - get("budget:work", 0.0)),
        "service": get("write:work", 0.0) - get("sql", 0.0) - get("commit", 0.0),
        "sql": get("sql", 0.0),
        "commit": commit_round_trip,
        "after commit": get("after commit", 0.0),
        "serialisation": get("serialisation", 0.0),
    }
    parts["http layer"] = (
        wall - get("auth:await", 0.0) - get("prepare", 0.0) - get("execute", 0.0) - get("serialisation", 0.0)
    )
    return parts


class Mutations:
    """The request bodies: distinct names for creates, the next opportunity into its other stage for moves."""

    def __init__(self, database: str, tenant: str) -> None:
        from saas.schema.relay import to_global_id

        self.prefix = f"wprofile-{secrets.token_hex(4)}"
        self.counter = 0
        conn = owner_connection(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM pipeline_stages WHERE tenant_id = %s AND kind = 'open' "
                    "ORDER BY position, created_at LIMIT 2",
                    (tenant,),
                )
                self.stages = [row[0] for row in cursor.fetchall()]
                cursor.execute(
                    "SELECT id, stage_id FROM opportunities WHERE tenant_id = %s AND status = 'open' "
                    "AND stage_id = ANY(%s::uuid[]) ORDER BY id DESC LIMIT %s",
                    (tenant, self.stages, MOVE_OPPORTUNITIES),
                )
                self.opportunities = [[row[0], row[1]] for row in cursor.fetchall()]
        finally:
            conn.close()
        if len(self.stages) != 2 or not self.opportunities:
            raise RuntimeError("bench-big needs 2 open stages and open opportunities in them")
        self.global_id = to_global_id
        self.move_index = 0

    def body(self, kind: str) -> tuple[bytes, str]:
        """The request body and the text a good response holds."""
        self.counter += 1
        if kind == "create":
            variables = {"input": {"name": f"{self.prefix}-{self.counter}"}}
            return orjson.dumps({"query": CREATE, "variables": variables}), '"userErrors":[]'
        entry = self.opportunities[self.move_index % len(self.opportunities)]
        self.move_index += 1
        target = self.stages[1] if str(entry[1]) == str(self.stages[0]) else self.stages[0]
        entry[1] = target
        variables = {
            "input": {
                "id": self.global_id("Opportunity", uuid.UUID(str(entry[0]))),
                "stageId": self.global_id("PipelineStage", uuid.UUID(str(target))),
            }
        }
        return orjson.dumps({"query": MOVE, "variables": variables}), '"userErrors":[]'


def _inline_threadpool() -> Any:
    """The write run on the calling thread (for cProfile, which sees one thread); returns the undo."""
    import saas.schema.context

    original = saas.schema.context.run_in_threadpool

    async def inline(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    saas.schema.context.run_in_threadpool = inline  # type: ignore[assignment]

    def undo() -> None:
        saas.schema.context.run_in_threadpool = original

    return undo


def _without_service() -> Any:
    """`RequestContext.write` answering each service function's first result again (see the
    module's docstring); returns the undo."""
    import saas.schema.context

    context_class = saas.schema.context.RequestContext
    original = context_class.write
    kept: dict[Any, Any] = {}

    async def write(self: Any, work: Any, *args: Any) -> Any:
        key = getattr(work, "__code__", work)
        if key not in kept:
            kept[key] = await original(self, work, *args)
        return kept[key]

    context_class.write = write  # type: ignore[method-assign]

    def undo() -> None:
        context_class.write = original  # type: ignore[method-assign]

    return undo


def run(
    database: str,
    kinds: list[str],
    iterations: int,
    warmup: int,
    top: int,
    cpu_only: bool = False,
    without_service: bool = False,
) -> dict[str, Any]:
    from saas.cli import create_asgi_app  # noqa: F401  (imports the app's modules first)
    from saas.http.app import create_app
    from saas.http.logs import configure_logging

    client = InProcess.create(bench_url(database), redis_url())
    token = client.login(BIG_SLUG)
    tenant = str(client.engine.runtime.authenticate(f"Bearer {token}").tenant_id)
    configure_logging(client.engine.runtime.settings)
    app = create_app(client.engine.runtime, client.engine)
    runtime = client.engine.runtime
    from saas.jobs import broker as job_broker

    if not job_broker.jobs_bound():  # as `saas serve`'s processes: writes enqueue their events' dispatch
        job_broker.setup(runtime)
    opens = getattr(runtime.budget, "open", None)
    if opens is not None:
        client.loop.run_until_complete(opens(runtime.redis_url))  # as the app's lifespan does
    caller = AsgiCaller(app, token)
    mutations = Mutations(database, tenant)
    if without_service:
        _without_service()
    loop = client.loop

    async def one(kind: str) -> float:
        body, expect = mutations.body(kind)
        started = time.perf_counter()
        status, payload = await caller.post(body)
        elapsed = time.perf_counter() - started
        if status != 200 or b'"errors"' in payload[:20] or expect.encode() not in payload:
            raise RuntimeError(f"bad response {status}: {payload[:300]!r}")
        return elapsed

    async def loop_of(kind: str, n: int) -> list[float]:
        return [await one(kind) for _ in range(n)]

    async def measured(kind: str, n: int) -> tuple[list[float], list[dict[str, float]]]:
        latencies, splits = [], []
        for _ in range(n):
            TIMERS.reset()
            latency = await one(kind)
            latencies.append(latency)
            splits.append(split(dict(TIMERS.totals), latency))
        return latencies, splits

    results: dict[str, Any] = {"iterations": iterations}
    for kind in kinds:
        loop.run_until_complete(loop_of(kind, warmup))
        # 1. CPU, nothing installed: this process's, and PostgreSQL's backends serving it.
        backends_started = backend_cpu_seconds(database)
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        loop.run_until_complete(loop_of(kind, iterations))
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
        backends = backend_cpu_seconds(database)
        # The backends there before the loop (after the warm-up the pool's are): a worker that
        # comes and goes (autovacuum) is not the mutations'.
        backend_cpu = sum(
            seconds - backends_started[pid] for pid, seconds in backends.items() if pid in backends_started
        )
        results[kind] = {
            "process_cpu_ms": cpu / iterations * 1000,
            "wall_ms": wall / iterations * 1000,
            "postgres_cpu_ms": backend_cpu / iterations * 1000 if backends else None,
        }
    if cpu_only:  # e.g. under `py-spy record`: the loop above only
        return results
    # 2. The split (timers installed from here on).
    instrument()
    for kind in kinds:
        latencies, splits = loop.run_until_complete(measured(kind, iterations))
        results[kind]["latency_mean_ms"] = statistics.fmean(latencies) * 1000
        results[kind]["split_mean_ms"] = {n: statistics.fmean(s[n] for s in splits) * 1000 for n in CATEGORIES}
        results[kind]["split_median_ms"] = {n: statistics.median(s[n] for s in splits) * 1000 for n in CATEGORIES}
    # 3. cProfile, the write on the loop's thread.
    undo = _inline_threadpool()
    try:
        for kind in kinds:
            profiler = cProfile.Profile()
            profiler.enable()
            loop.run_until_complete(loop_of(kind, iterations))
            profiler.disable()
            results[kind].update(profile_summary(profiler, iterations, top))
    finally:
        undo()
    if opens is not None:
        loop.run_until_complete(runtime.budget.close())
    client.close()
    return results


NAMES = {"create": "createCustomer", "move": "moveOpportunity"}


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """CPU seconds so far (user + system) of each PostgreSQL backend connected to `database`, from
    `/proc` (PostgreSQL on this machine; empty otherwise). The benchmark's own database copy has
    no other clients: its client backends are this process's (the asking connection is left out;
    so are autovacuum's workers)."""
    conn = owner_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()",
                (database,),
            )
            pids = [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def print_report(results: dict[str, Any]) -> None:
    for kind, result in results.items():
        if kind not in NAMES:
            continue
        mean, median = result["split_mean_ms"], result["split_median_ms"]
        print(f"\n{NAMES[kind]}: {results['iterations']} mutations one at a time, in-process ASGI")
        print(
            f"  CPU of this process per mutation (all threads, no timers): {result['process_cpu_ms']:.2f} ms"
            f"  (wall {result['wall_ms']:.2f} ms)"
        )
        if result.get("postgres_cpu_ms") is not None:
            print(f"  CPU of its PostgreSQL backends per mutation: {result['postgres_cpu_ms']:.2f} ms")
        total = sum(mean.values())
        print(f"\n  {'stage':<15} {'mean ms':>8} {'share':>7} {'median ms':>10}")
        for name in CATEGORIES:
            print(f"  {name:<15} {mean[name]:>8.3f} {mean[name] / total:>7.1%} {median[name]:>10.3f}")
        print(f"  {'total':<15} {total:>8.3f} {'':>7} {sum(median.values()):>10.3f}")
        print(
            f"\n  cProfile, write inline, own time by package (profiler overhead inflates it: "
            f"{result['cprofile_total_ms']:.2f} ms/mutation)"
        )
        for name, ms in result["cprofile_by_package_ms"].items():
            if ms >= 0.005:
                print(f"  {name:<40} {ms:>8.3f} ms")
        print("\n  top functions by own time (ms per mutation; calls per mutation):")
        for row in result["cprofile_top"]:
            print(
                f"  {row['own_ms']:>7.3f} own {row['cum_ms']:>7.3f} cum {row['calls_per_req']:>6.0f}x  {row['function']}"
            )
        print("\n  saas functions by cumulative time:")
        for row in result["cprofile_top_cumulative"]:
            print(
                f"  {row['own_ms']:>7.3f} own {row['cum_ms']:>7.3f} cum {row['calls_per_req']:>6.0f}x  {row['function']}"
            )


def seed_small(database: str = SMALL_DATABASE) -> None:
    """A small benchmark database (2 tenants, bench-big with 3,000 customers), seeded once."""
    import bench.seed

    bench.seed.TENANTS = 2
    bench.seed.BIG_CUSTOMERS = 3000
    bench.seed.seed(database)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile createCustomer and moveOpportunity in-process.")
    parser.add_argument("--database", help="a copy of the benchmark database (the writes go into it)")
    parser.add_argument("--small", action="store_true", help=f"seed and use {SMALL_DATABASE}")
    parser.add_argument("--mutation", choices=("create", "move", "both"), default="both")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    parser.add_argument(
        "--cpu-only", action="store_true", help="only the CPU loop (no timers, no cProfile): for py-spy record"
    )
    parser.add_argument("--commit", help="profile the saas code of this commit (e.g. HEAD) instead of the work tree")
    parser.add_argument(
        "--without-service",
        action="store_true",
        help="answer every mutation after the first with the first one's service result (no transaction)",
    )
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.write_profile", argv)
    if args.small:
        seed_small()
        database = SMALL_DATABASE
    elif args.database:
        database = args.database
    else:
        parser.error("give --database (a copy of saas_bench: the writes go into it) or --small")
    if database == "saas_bench":
        parser.error("the writes would go into saas_bench: profile a copy (createdb -T saas_bench saas_bench_writes)")
    os.environ.setdefault("TENANT_COST_PER_MINUTE", "1000000000")  # as bench.run's server
    kinds = ["create", "move"] if args.mutation == "both" else [args.mutation]
    results = run(database, kinds, args.iterations, args.warmup, args.top, args.cpu_only, args.without_service)
    if args.cpu_only:
        for kind in kinds:
            postgres = results[kind]["postgres_cpu_ms"]
            also = f", PostgreSQL {postgres:.2f} ms" if postgres is not None else ""
            print(f"{NAMES[kind]}: {results[kind]['process_cpu_ms']:.2f} ms CPU per mutation{also}")
        return 0
    print_report(results)
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
