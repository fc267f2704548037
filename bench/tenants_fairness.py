"""Fairness between tenants: one tenant hammering the API over its cost budget, another's latency.

    python -m bench.tenants_fairness [--duration 15] [--noisy-connections 8] [--processes 2]
                                     [--workers 1] [--noisy-budget 600] [--json FILE]

Steps: a fresh database on `DATABASE_URL`'s server, migrated, with two tenants of 20
customers each; the noisy one's budget set to `--noisy-budget` cost per minute (`saas tenant
limits`' function), the quiet one on the defaults; `saas serve` started. Then the quiet
tenant's owner pages its customers one request at a time for `--duration` seconds alone
(the baseline), and again while the noisy tenant's owner sends the same query on
`--noisy-connections` keep-alive connections from `--processes` processes (`bench.loadgen`)
without pause. Reported: the quiet tenant's p50/p99 in both phases and their ratio, its
non-200 answers (there must be none), and the noisy tenant's 200s and 429s. Timing targets
live here, not in the test suite: the machine's load changes them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench import loadgen
from bench.common import LOGIN, PASSWORD, owner_email, percentile, redis_url, server_url
from bench.run import HttpClient, graphql_headers, log, start_server

QUERY = "query { customers(first: 20) { edges { node { id name tier } } } }"  # costs 1 + 20 x 5 = 101
CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { code } } }"
QUIET, NOISY = "fair-quiet", "fair-noisy"


def prepare(database_url: str, redis: str, noisy_budget: int) -> None:
    from saas.accounts.service import create_tenant
    from saas.config import Settings
    from saas.db.engine import create_app_engine
    from saas.plugin_api.testing import migrate_database
    from saas.quota.tenant_limits import set_tenant_limits

    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis, LOG_LEVEL="WARNING", LOG_JSON=False)
    migrate_database(database_url, settings)
    engine = create_app_engine(settings, database_url)
    try:
        for slug in (QUIET, NOISY):
            create_tenant(engine, slug, slug, owner_email(slug), PASSWORD)
        set_tenant_limits(engine, settings, NOISY, cost_per_minute=noisy_budget)
    finally:
        engine.dispose()


def login(port: int, slug: str) -> str:
    client = HttpClient(port)
    variables = {"input": {"email": owner_email(slug), "password": PASSWORD, "tenant": slug}}
    status, payload = client.post(
        "/graphql", orjson.dumps({"query": LOGIN, "variables": variables}), graphql_headers(None)
    )
    client.close()
    token = orjson.loads(payload)["data"]["login"]["token"]
    if status != 200 or not token:
        raise RuntimeError(f"login failed: {payload[:300]!r}")
    return str(token)


def seed_customers(port: int, token: str, count: int = 20) -> None:
    client = HttpClient(port)
    for i in range(count):
        body = orjson.dumps({"query": CREATE, "variables": {"input": {"name": f"Customer {i:03}"}}})
        client.post("/graphql", body, graphql_headers(token))
    client.close()


def quiet_phase(port: int, token: str, duration: float) -> dict[str, Any]:
    """One request at a time for `duration` seconds: latencies (ms) and the statuses seen."""
    client = HttpClient(port)
    body = orjson.dumps({"query": QUERY})
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        status, _ = client.post("/graphql", body, graphql_headers(token))
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    client.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "statuses": statuses,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from saas.plugin_api.testing import fresh_database

    redis = redis_url()
    with fresh_database(server_url()) as database_url, tempfile.TemporaryDirectory() as logs:
        log("migrating a fresh database and creating the two tenants")
        prepare(database_url, redis, args.noisy_budget)
        server = start_server(database_url, redis, args.workers, Path(logs))
        try:
            quiet, noisy = login(server.port, QUIET), login(server.port, NOISY)
            seed_customers(server.port, quiet)
            seed_customers(server.port, noisy)
            quiet_phase(server.port, quiet, 2)  # warm-up: caches, connections
            log(f"baseline: the quiet tenant alone for {args.duration} s")
            baseline = quiet_phase(server.port, quiet, args.duration)
            log(f"contention: the noisy tenant on {args.noisy_connections} connections meanwhile")
            noisy_result: dict[str, Any] = {}
            url = f"http://127.0.0.1:{server.port}/graphql"

            def hammer() -> None:
                body = orjson.dumps({"query": QUERY})
                noisy_result.update(
                    loadgen.run(url, body, noisy, args.noisy_connections, args.processes, args.duration + 2)
                )

            thread = threading.Thread(target=hammer)
            thread.start()
            time.sleep(2)  # the load generator's processes are up and the budget is spent
            during = quiet_phase(server.port, quiet, args.duration)
            thread.join()
        finally:
            server.stop()
    refused = noisy_result.get("errors_status", 0)
    return {
        "quiet_baseline": baseline,
        "quiet_during": during,
        "p99_ratio": round(during["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None,
        "noisy": {
            "requests": noisy_result.get("requests", 0),
            "ok": noisy_result.get("requests", 0) - refused,
            "refused_429_or_other": refused,
            "p50_ms": round(noisy_result.get("latency_us", {}).get("p50", 0) / 1000, 2),
        },
        "settings": vars(args),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--noisy-connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--noisy-budget", type=int, default=600)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)
    ok = report["quiet_during"]["statuses"].keys() == {200} and report["noisy"]["refused_429_or_other"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
