"""Instructions per write in this process, the service alone: deterministic where CPU time is not.

    python -m bench.write_instructions --database saas_bench_writes [--mutation create|move]
        [--warmup 20] [--count 100] [--keep DIR] [--commit REV]
    python -m bench.write_instructions --database saas_bench_writes --calls [--top 40]

The service of each mutation (`create_customer`, `move_opportunity_to`) runs in a
`tenant_session` (its commit and the work after it included: the live message, the dispatch
request), as the owner of `bench-big`, with the job broker set up as `saas serve` sets it up; no
HTTP, no GraphQL. Writes go into the database: give a copy of `saas_bench` (`createdb -T
saas_bench saas_bench_writes`).

Default: the process is run twice under `valgrind --tool=callgrind` (every instruction this
process executes, PostgreSQL's and Redis's not), each with `--warmup` writes, then 0 or `--count`
more; callgrind counts from the end of the warm-up on (`--instr-atstart=no`, then
`callgrind_control --instr=on`), and the difference of the two totals divided by `--count` is the
instructions per write (what is counted around the writes, the same in both runs, cancels out). `--keep DIR` keeps both callgrind files
(`callgrind_annotate --inclusive=yes DIR/callgrind.<mutation>.<count>` shows where they go).

`--calls`: no valgrind; cProfile over `--count` writes after the warm-up: Python calls per write
(deterministic) and the functions with the most calls or own time.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:  # run as a file: do not shadow the standard `profile`
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))

import argparse
import re
import secrets
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench.common import BIG_SLUG, InProcess, bench_url, callgrind, redis_url

MOVE_OPPORTUNITIES = 500


class Writes:
    """The service calls, each a write of its own in a `tenant_session`."""

    def __init__(self, database: str) -> None:
        from bench.write_profile import Mutations
        from saas.jobs import broker as job_broker

        os.environ.setdefault("TENANT_COST_PER_MINUTE", "1000000000")
        self.client = InProcess.create(bench_url(database), redis_url())
        token = self.client.login(BIG_SLUG)
        self.runtime = self.client.engine.runtime
        self.principal = self.runtime.authenticate(f"Bearer {token}")
        if not job_broker.jobs_bound():  # as `saas serve`'s processes: writes enqueue their events' dispatch
            job_broker.setup(self.runtime)
        self.targets = Mutations(database, str(self.principal.tenant_id))
        self.prefix = f"winstr-{secrets.token_hex(4)}"
        self.counter = 0

    def create(self) -> None:
        from saas.customers.service import create_customer
        from saas.tenancy.session import tenant_session

        self.counter += 1
        with tenant_session(self.runtime.engine, self.principal.tenant_id) as session:
            create_customer(session, self.principal, {"name": f"{self.prefix}-{self.counter}"})

    def move(self) -> None:
        from saas.deals.service.pipeline import move_opportunity_to
        from saas.tenancy.session import tenant_session

        targets = self.targets
        entry = targets.opportunities[targets.move_index % len(targets.opportunities)]
        targets.move_index += 1
        stage = targets.stages[1] if str(entry[1]) == str(targets.stages[0]) else targets.stages[0]
        entry[1] = stage
        with tenant_session(self.runtime.engine, self.principal.tenant_id) as session:
            move_opportunity_to(session, self.principal, uuid.UUID(str(entry[0])), uuid.UUID(str(stage)), None)


def inner(database: str, mutation: str, warmup: int, count: int) -> None:
    """Under callgrind started with its instrumentation off (start-up, imports, login and the
    warm-up run at valgrind's lighter speed): on once the warm-up is done, `count` writes, exit."""
    writes = Writes(database)
    write = writes.create if mutation == "create" else writes.move
    for _ in range(warmup):
        write()
    callgrind("on")
    for _ in range(count):
        write()


def calls(database: str, mutation: str, warmup: int, count: int, top: int) -> None:
    import cProfile
    import pstats

    writes = Writes(database)
    write = writes.create if mutation == "create" else writes.move
    for _ in range(warmup):
        write()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        write()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"{mutation}: {total / count:.0f} Python calls per write")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][1])  # type: ignore[attr-defined]
    print(f"{'calls/write':>11} {'own µs/write':>12} {'cum µs/write':>12}  function")
    for (path, line, name), (_, ncalls, own, cum, _) in rows[:top]:
        where = "/".join(Path(path).parts[-3:])
        print(f"{ncalls / count:>11.1f} {own / count * 1e6:>12.1f} {cum / count * 1e6:>12.1f}  {where}:{line} {name}")


def _total(path: Path) -> int:
    """The instructions a callgrind file counts (its `summary:` or `totals:` line)."""
    text = path.read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no total in {path}")
    return int(found.group(1))


def callgrind_difference(module: str, options: list[str], label: str, count: int, keep: str | None) -> float:
    """Instructions per unit of `module --inner <options>` under callgrind: a run of 0 and one of
    `count` units (`--count`), their difference divided by `count`; printed as `label: …`."""
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="instructions-"))
    folder.mkdir(parents=True, exist_ok=True)
    totals = {}
    for n in (0, count):
        out = folder / f"callgrind.{label.replace(' ', '-')}.{n}"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, "-m", module, "--inner", *options, "--count", str(n),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        totals[n] = _total(out)
        if not keep:
            out.unlink()
    per_unit = (totals[count] - totals[0]) / count
    print(f"{label}: {per_unit / 1e6:.3f} M instructions ({totals[0]:,} with 0, {totals[count]:,} with {count})")
    return per_unit


def measure(database: str, mutation: str, warmup: int, count: int, keep: str | None) -> float:
    options = ["--database", database, "--mutation", mutation, "--warmup", str(warmup)]
    return callgrind_difference("bench.write_instructions", options, f"{mutation} per write", count, keep)


def instruction_options(description: str) -> argparse.ArgumentParser:
    """The options the write tools share: the database copy, warm-up, count, kept files, call
    counts instead, `--commit`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", required=True, help="a copy of the benchmark database (the writes go into it)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--keep", help="keep the callgrind files in this folder")
    parser.add_argument("--calls", action="store_true", help="Python call counts instead of valgrind")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--commit", help="measure the saas code of this commit (e.g. HEAD) instead of the work tree")
    return parser


def checked_options(parser: argparse.ArgumentParser, module: str, argv: list[str] | None) -> argparse.Namespace:
    """`parser`'s options; with `--commit`, `module` run again on that commit's code instead (this
    process ends there); never the writes into `saas_bench` itself."""
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit, strip_option

        argv = sys.argv[1:] if argv is None else argv
        if args.keep:
            argv = [*strip_option(argv, "--keep"), "--keep", str(Path(args.keep).resolve())]
        run_at_commit(args.commit, module, argv)
    if args.database == "saas_bench":
        parser.error("the writes would go into saas_bench: use a copy (createdb -T saas_bench saas_bench_writes)")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = instruction_options("Instructions per write (the service alone) under callgrind.")
    parser.add_argument("--mutation", choices=("create", "move", "both"), default="both")
    parser.add_argument("--top", type=int, default=40)
    args = checked_options(parser, "bench.write_instructions", argv)
    kinds = ["create", "move"] if args.mutation == "both" else [args.mutation]
    if args.inner:
        inner(args.database, kinds[0], args.warmup, args.count)
        return 0
    for kind in kinds:
        if args.calls:
            calls(args.database, kind, args.warmup, args.count, args.top)
        else:
            measure(args.database, kind, args.warmup, args.count, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
