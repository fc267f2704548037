"""The fallback load generator (when `wrk` is not installed): processes of keep-alive connections.

    python -m bench.loadgen --url URL --body-file FILE --token TOKEN [--connections 16]
                            [--processes 2] [--duration 20]

Each process runs its share of the connections as asyncio tasks, one httpx client (one
keep-alive connection) per task, each sending the POST again as soon as the answer is in.
Prints one line `BENCH_JSON {...}` in the same shape as the wrk script's. It costs far more
CPU per request than wrk, CPU that the server then lacks on a small machine: prefer wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import statistics
import sys
import time
from typing import Any


async def _connection(url: str, body: bytes, headers: dict[str, str], deadline: float, out: dict[str, Any]) -> None:
    import httpx

    async with httpx.AsyncClient(http2=False, timeout=10.0, limits=httpx.Limits(max_connections=1)) as client:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                payload = response.content
            except httpx.HTTPError:
                out["errors_connect"] += 1
                continue
            out["latencies"].append(time.perf_counter() - started)
            out["bytes"] += len(payload)
            if response.status_code != 200:
                out["errors_status"] += 1
            if not payload.startswith(b'{"data"'):
                out["bad_responses"] += 1


def _worker(url: str, body: bytes, headers: dict[str, str], connections: int, duration: float, queue: Any) -> None:
    out: dict[str, Any] = {"latencies": [], "bytes": 0, "errors_connect": 0, "errors_status": 0, "bad_responses": 0}

    async def main() -> None:
        deadline = time.perf_counter() + duration
        await asyncio.gather(*(_connection(url, body, headers, deadline, out) for _ in range(connections)))

    out["started"] = time.monotonic()  # CLOCK_MONOTONIC: comparable between processes
    asyncio.run(main())
    out["ended"] = time.monotonic()
    queue.put(out)


def run(url: str, body: bytes, token: str, connections: int, processes: int, duration: float) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"}
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = [context.Process(target=_worker, args=(url, body, headers, n, duration, queue)) for n in shares if n]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = (
        max(r["ended"] for r in results) - min(r["started"] for r in results)
        if results
        else time.perf_counter() - started
    )
    latencies = sorted(x for r in results for x in r["latencies"])

    def pct(p: float) -> int:
        if not latencies:
            return 0
        index = min(len(latencies) - 1, max(0, math.ceil(p / 100 * len(latencies)) - 1))
        return int(latencies[index] * 1e6)

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": sum(r["bytes"] for r in results),
        "errors_connect": sum(r["errors_connect"] for r in results),
        "errors_read": 0,
        "errors_write": 0,
        "errors_status": sum(r["errors_status"] for r in results),
        "errors_timeout": 0,
        "bad_responses": sum(r["bad_responses"] for r in results),
        "checked": len(latencies),
        "latency_us": {
            "min": pct(0.0001),
            "mean": statistics.fmean(latencies) * 1e6 if latencies else 0,
            "max": int(latencies[-1] * 1e6) if latencies else 0,
            "stdev": statistics.pstdev(latencies) * 1e6 if latencies else 0,
            "p50": pct(50),
            "p75": pct(75),
            "p90": pct(90),
            "p99": pct(99),
            "p999": pct(99.9),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Python fallback load generator (use wrk when you can).")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args(argv)
    with open(args.body_file, "rb") as f:
        body = f.read()
    result = run(args.url, body, args.token, args.connections, args.processes, args.duration)
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
