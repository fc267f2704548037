"""Instructions and Python calls per `moveOpportunity` request, the whole request in this process.

    python -m bench.move_instructions --database saas_bench_writes [--warmup 20] [--count 100]
        [--keep DIR] [--commit REV]
    python -m bench.move_instructions --database saas_bench_writes --calls [--count 50] [--top 60]

`bench.write_instructions` counts the service alone (`move_opportunity_to` in a `tenant_session`);
this counts what the server's process does for the whole mutation: the HTTP path in-process
(`bench.profile.AsgiCaller`, no socket), the credential check, the budget's charge, GraphQL
execution, the resolver and its write (the service, the commit, the work after it) and the
response, with the body `bench/writes.py` sends under wrk (`bench.write_profile.Mutations`: the
next opportunity of `bench-big` into the other of two open stages). The write runs on the event
loop's thread (`bench.write_profile._inline_threadpool`), so that one thread does all of it and
the count does not depend on how the threads interleave; the thread hop itself is not counted.
The garbage collector is set as a serving process sets it (`saas.http.gc_tuning`: the
application's objects frozen, young collections rarer), so that a full collection of the whole
application, which lands in one run's window and not the other's, does not swing the count.

Default: the process is run twice under `valgrind --tool=callgrind`, each with `--warmup`
requests, then 0 or `--count` more; callgrind counts from the end of the warm-up on
(`--instr-atstart=no`, then `callgrind_control --instr=on`), and the difference of the two
totals divided by `--count` is the instructions per request. `--calls`: no valgrind; every Python
call (and call of a builtin) per request, and the functions with the most calls made under them
(inclusive: each call counted once for every function on the stack when it is made).

Writes go into the database: give a copy of `saas_bench` (`createdb -T saas_bench saas_bench_writes`).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:  # run as a file: do not shadow the standard `profile`
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))

import collections
from typing import Any

from bench.common import BIG_SLUG, InProcess, bench_url, callgrind, redis_url
from bench.write_instructions import callgrind_difference, checked_options, instruction_options


class Requests:
    """The application in-process, one `moveOpportunity` request at a time."""

    def __init__(self, database: str) -> None:
        os.environ.setdefault("TENANT_COST_PER_MINUTE", "1000000000")
        from bench.profile import AsgiCaller, _tune_gc_as_served
        from bench.write_profile import Mutations, _inline_threadpool
        from saas.cli import create_asgi_app  # noqa: F401  (imports the app's modules first)
        from saas.http.app import create_app
        from saas.http.logs import configure_logging
        from saas.jobs import broker as job_broker

        self.client = InProcess.create(bench_url(database), redis_url())
        token = self.client.login(BIG_SLUG)
        runtime = self.client.engine.runtime
        tenant = str(runtime.authenticate(f"Bearer {token}").tenant_id)
        configure_logging(runtime.settings)
        app = create_app(runtime, self.client.engine)
        if not job_broker.jobs_bound():  # as `saas serve`'s processes: writes enqueue their events' dispatch
            job_broker.setup(runtime)
        opens = getattr(runtime.budget, "open", None)
        if opens is not None:
            self.client.loop.run_until_complete(opens(runtime.redis_url))  # as the app's lifespan does
        self.caller = AsgiCaller(app, token)
        self.mutations = Mutations(database, tenant)
        _inline_threadpool()
        _tune_gc_as_served(True)  # as `saas serve`'s processes once the application is built

    async def one(self) -> None:
        body, expect = self.mutations.body("move")
        status, payload = await self.caller.post(body)
        if status != 200 or b'"errors"' in payload[:20] or expect.encode() not in payload:
            raise RuntimeError(f"bad response {status}: {payload[:300]!r}")

    def run(self, count: int) -> None:
        async def many() -> None:
            for _ in range(count):
                await self.one()

        self.client.loop.run_until_complete(many())


def inner(database: str, warmup: int, count: int) -> None:
    requests = Requests(database)
    requests.run(warmup)
    callgrind("on")
    requests.run(count)


def calls(database: str, warmup: int, count: int, top: int) -> None:
    requests = Requests(database)
    requests.run(warmup)
    under: collections.Counter[str] = collections.Counter()
    stack: list[str] = []
    made = [0]

    def name(frame: Any, event: str, arg: Any) -> str:
        if event == "c_call":
            return "builtin " + getattr(arg, "__qualname__", str(arg))
        code = frame.f_code
        return f"{code.co_filename.split('site-packages/')[-1]}:{code.co_qualname}"

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            called = name(frame, event, arg)
            made[0] += 1
            under.update(set(stack))
            under[called] += 1
            stack.append(called)
        elif event in ("return", "c_return", "c_exception") and stack:
            stack.pop()

    sys.setprofile(profile)
    try:
        requests.run(count)
    finally:
        sys.setprofile(None)
    print(f"move: {made[0] / count:.0f} Python calls per request")
    print(f"{'calls/request':>13}  function (calls made under it, itself included)")
    for function, n in under.most_common(top):
        print(f"{n / count:>13.1f}  {function}")


def measure(database: str, warmup: int, count: int, keep: str | None) -> float:
    options = ["--database", database, "--warmup", str(warmup)]
    return callgrind_difference("bench.move_instructions", options, "move per request", count, keep)


def main(argv: list[str] | None = None) -> int:
    parser = instruction_options("Instructions per moveOpportunity request (in-process) under callgrind.")
    parser.add_argument("--top", type=int, default=60)
    args = checked_options(parser, "bench.move_instructions", argv)
    if args.inner:
        inner(args.database, args.warmup, args.count)
    elif args.calls:
        calls(args.database, args.warmup, args.count, args.top)
    else:
        measure(args.database, args.warmup, args.count, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
