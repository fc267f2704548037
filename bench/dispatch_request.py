"""CPU of the dispatch request made after a commit with events, in this process.

    python -m bench.dispatch_request [--calls 1000] [--rounds 3]

Alternating rounds of `--calls` calls each, `time.process_time()` per call (every thread):

- `enqueue`: the broker's enqueue of `events.dispatch` (what every commit did before
  `saas.events.dispatch.ask_for_dispatch`);
- `mark set`: `ask_for_dispatch` while a job of the tenant is queued and not started (`SET NX`
  finds the mark: nothing enqueued);
- `mark cleared`: `ask_for_dispatch` after the job cleared the mark each time (`SET NX`, the
  enqueue), plus that clearing (`DEL`, which the worker pays, not the server);
- `clear`: the job's `DEL` alone.

Uses the benchmark's Redis (`REDIS_URL`, else 127.0.0.1) under a key namespace of its own, deleted
afterwards; no database.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any


def _cpu_per_call(work: Callable[[], Any], calls: int) -> float:
    for _ in range(calls // 10):
        work()
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU of the after-commit dispatch request.")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine

    from bench.common import redis_url
    from saas.events import dispatch
    from saas.jobs.broker import setup

    namespace = f"bench-dispatch-{secrets.token_hex(4)}"
    engine = create_engine("postgresql+psycopg2://")  # never connected: jobs are only enqueued
    broker = setup(redis_url(), engine, plugins=None, namespace=namespace)
    tenant = uuid.uuid4()

    def mark_cleared() -> None:
        dispatch.ask_for_dispatch(tenant)
        dispatch._started(tenant)

    cases: dict[str, Callable[[], Any]] = {
        "enqueue": lambda: dispatch.dispatch_events.send(tenant),
        "mark set": lambda: dispatch.ask_for_dispatch(tenant),
        "mark cleared": mark_cleared,
        "clear": lambda: dispatch._started(tenant),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for _ in range(args.rounds):
            for name, work in cases.items():
                if name == "mark set":
                    dispatch.ask_for_dispatch(tenant)  # a job queued: the mark is set
                results[name].append(_cpu_per_call(work, args.calls))
    finally:
        keys = list(broker.client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            broker.client.delete(*keys)
        broker.close()
    for name, values in results.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name:<13} median {statistics.median(values):>5.0f} µs CPU per call ({rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
