"""The CPU the HTTP layer spends per GraphQL request, measured in-process.

    python -m bench.http_path [--database saas_bench] [--rounds 9] [--requests 2000] [--commit <c>]

The real ASGI application (`saas.http.app.create_app`) is driven with the ASGI messages uvicorn
would send (no socket, one request at a time) for a request that does almost no GraphQL work:
`{ __typename }`, anonymous, a JSON POST as a client sends it. The same operation is also run
on the engine alone (`prepare_async`, `execute`, `dumps`: what the HTTP path calls). The
difference of the two CPU times per request is what everything around the engine costs:
routing, the request id, log context and client binding, header and body parsing, content
negotiation, the operation record (metrics, access log line), building and sending the response.

Each round runs both loops back to back (alternating which goes first); the medians over the
rounds are printed. CPU time (`time.process_time`), not wall time: a loaded machine does not
change it much. Run it at two commits (`--commit`) to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

import orjson

from bench.common import DEFAULT_DATABASE, bench_url, graphql_post_scope, redis_url

QUERY = "{ __typename }"


class Caller:
    """One POST /graphql at a time, as uvicorn calls the application."""

    def __init__(self, app: Any, body: bytes) -> None:
        self.app = app
        self.body = body
        self.headers = [
            (b"host", b"bench"),
            (b"user-agent", b"bench/1.0"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/graphql-response+json, application/json;q=0.9"),
            (b"content-length", str(len(body)).encode()),
        ]

    async def post(self) -> int:
        scope = graphql_post_scope(self.headers)
        body = self.body

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


def run(database: str, rounds: int, requests: int) -> dict[str, Any]:
    from saas.cli import create_asgi_app  # noqa: F401  (imports the app's modules first)
    from saas.config import Settings
    from saas.http.app import create_app
    from saas.http.logs import configure_logging
    from saas.runtime import create_runtime
    from saas.schema.engine import GraphQLEngine, dumps

    url = bench_url(database)
    settings = Settings(DATABASE_URL=url, REDIS_URL=redis_url(), LOG_LEVEL="INFO", LOG_JSON=True)
    runtime = create_runtime(settings, url, redis_url())
    engine = GraphQLEngine(runtime)
    # As the serving process: loggers kept, each access line rendered as JSON and written
    # (to /dev/null: the handler takes `sys.stdout` as it is when logging is configured).
    sink = open(os.devnull, "w")  # noqa: SIM115
    saved_stdout, sys.stdout = sys.stdout, sink
    try:
        configure_logging(runtime.settings, cache_loggers=True)
    finally:
        sys.stdout = saved_stdout
    app = create_app(runtime, engine)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(runtime.budget.open(runtime.redis_url))
    caller = Caller(app, orjson.dumps({"query": QUERY}))

    async def through_http(n: int) -> None:
        for _ in range(n):
            if await caller.post() != 200:
                raise RuntimeError("the request failed")

    async def engine_alone(n: int) -> None:
        for _ in range(n):
            prepared = await engine.prepare_async(QUERY, None, None)
            outcome = await engine.execute(prepared, None, None, "bench")
            dumps(outcome.payload)

    def cpu_per_request(loop_of: Any) -> float:
        started = time.process_time()
        loop.run_until_complete(loop_of(requests))
        return (time.process_time() - started) / requests * 1000

    try:
        for warm in (through_http, engine_alone):
            loop.run_until_complete(warm(500))
        http_ms, engine_ms = [], []
        for i in range(rounds):
            order = [(through_http, http_ms), (engine_alone, engine_ms)]
            for loop_of, into in order if i % 2 == 0 else reversed(order):
                into.append(cpu_per_request(loop_of))
    finally:
        loop.run_until_complete(runtime.budget.close())
        runtime.close()
        sink.close()
    layer = [h - e for h, e in zip(http_ms, engine_ms, strict=True)]
    return {
        "rounds": rounds,
        "requests_per_round": requests,
        "http_ms": statistics.median(http_ms),
        "engine_ms": statistics.median(engine_ms),
        "layer_ms": statistics.median(layer),
        "layer_ms_each_round": layer,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU per request of the HTTP layer, in-process.")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--commit", help="measure the saas code of this commit instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.http_path", argv)
    result = run(args.database, args.rounds, args.requests)
    code = os.environ.get("SAAS_BENCH_CODE", "work tree")
    print(
        f"{code}: {QUERY!r} over HTTP {result['http_ms']:.4f} ms CPU/request, engine alone "
        f"{result['engine_ms']:.4f} ms, HTTP layer {result['layer_ms']:.4f} ms "
        f"(medians of {result['rounds']} rounds of {result['requests_per_round']}; per round: "
        f"{', '.join(f'{ms:.3f}' for ms in result['layer_ms_each_round'])})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
