"""The per-request pieces around the service that every GraphQL POST runs, alone, measured in-process.

    python -m bench.request_pieces [--iterations 20000] [--commit <c>] [--instr-after-imports]

One iteration does what one compiled read does outside the engine's resolver and its SQL, with
the application's own functions: the log context cleared and the request id bound, the body's
`Content-Type` judged, the parameters read and the query's size checked, the tenant id bound,
the operation's statement counter and sent-id memory entered and left, the operation counted
and its duration observed, the access line's context merged, the HTTP request counted. The
context holds other variables besides (as a served request's does: other libraries' and the
application's). Prints the CPU time per iteration (`time.process_time`). Run it at two commits
(`--commit`) to compare them; older commits' functions are called where the newer ones are
missing (structlog's for the log context, `parse_content_type` for the media type).

For instruction counts: `valgrind --tool=callgrind --instr-atstart=no python -m
bench.request_pieces --iterations N --instr-after-imports` at two N; the difference of the totals
divided by the difference of N is one iteration (the imports run uninstrumented).
"""

from __future__ import annotations

import argparse
import contextvars
import sys
import time

from bench.common import callgrind

QUERY = "query Leads($first: Int) { leads(first: $first) { edges { node { id name } } } }"
OTHER_VARIABLES = 3  # a served read's context holds the client address, the audit client, the decimal context


def run(iterations: int, instr_after_imports: bool) -> float:
    import structlog

    from saas.db.statements import counting
    from saas.http import logs, metrics, params
    from saas.http.media import APPLICATION_JSON, parse_content_type
    from saas.schema.relay import remembering_sent_ids

    clear = getattr(logs, "clear_log_context", structlog.contextvars.clear_contextvars)
    merge = getattr(logs, "merge_log_context", structlog.contextvars.merge_contextvars)
    body_kind = getattr(params, "_body_kind", None)
    m = metrics.Metrics()
    body = {"query": QUERY, "variables": {"first": 50}}

    def json_body(content_type: str) -> bool:
        if body_kind is not None:
            return body_kind(content_type) == params._JSON  # type: ignore[attr-defined]
        media_type, parameters = parse_content_type(content_type)
        return media_type == APPLICATION_JSON and parameters.get("charset", "utf-8").lower() in ("utf-8", "utf8")

    def one() -> None:
        clear()
        structlog.contextvars.bind_contextvars(request_id="0123456789abcdef0123456789abcdef")
        if not json_body("application/json"):
            raise RuntimeError("the body's media type was refused")
        read = params.params_from_mapping(body)
        params.check_query_size(read, 100_000)
        structlog.contextvars.bind_contextvars(tenant_id="7b0e4b52-8f33-4a47-9d0f-2d1f4c3c1a11")
        with counting(), remembering_sent_ids():
            pass
        m.child(m.graphql_requests, "Leads", "query", "success").inc()
        m.child(m.graphql_duration, "Leads", "query").observe(0.0042)
        merge(None, "info", {"event": "graphql_request", "transport": "http"})
        m.child(m.http_requests, "/graphql", "200").inc()

    def loop() -> float:
        for i in range(OTHER_VARIABLES):
            contextvars.ContextVar(f"bench_other_{i}").set(i)
        one()  # the first binds create structlog's variables
        if instr_after_imports:  # under `valgrind --tool=callgrind --instr-atstart=no`: count from here on
            callgrind("on")
        started = time.process_time()
        for _ in range(iterations):
            one()
        return (time.process_time() - started) / iterations * 1e6

    result: float = contextvars.Context().run(loop)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU per request of the pieces around the service, in-process.")
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument(
        "--instr-after-imports",
        action="store_true",
        help="under valgrind --tool=callgrind --instr-atstart=no: switch callgrind's instrumentation on "
        "after the imports and a first iteration (callgrind_control)",
    )
    parser.add_argument("--commit", help="measure the saas code of this commit instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.request_pieces", argv)
    per_iteration = run(args.iterations, args.instr_after_imports)
    print(f"{per_iteration:.2f} us CPU per iteration ({args.iterations} iterations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
