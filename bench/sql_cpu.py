"""PostgreSQL's CPU time per execution of the read targets' statements, two versions side by side.

    python -m bench.sql_cpu capture before.json --commit <rev>   # the statements of a commit
    python -m bench.sql_cpu capture after.json                    # ... of the work tree
    python -m bench.sql_cpu compare before.json after.json [--targets '360,leads'] [--executions 100] [--rounds 7]

`capture` compiles each target of `bench/targets.py` in-process (as `bench.run --scenarios
targets` does, values inlined) and writes the statements with the tenant and the application
role's DSN. `compare` prepares both versions of each statement on one connection as the
application role with `app.tenant_id` set (row-level security on, planned once, as prepared reads
go), then runs them alternately, `--executions` times per round, and reads the backend's own CPU
time (`/proc/<pid>/schedstat`, so PostgreSQL must run on this machine) around each round: the median
CPU milliseconds per execution of each version, and whether both answer the same bytes.

CPU time, not wall time or transactions per second: on a machine shared with other work it is the
one that stays comparable, and alternating the two versions in one backend spreads the
disturbance over both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from bench.common import DEFAULT_DATABASE, redis_url, session_options


def capture(path: Path, database: str) -> None:
    from bench.sql_ceiling import app_dsn
    from bench.targets import prepare

    targets, tenant = prepare(database, redis_url())
    # The request's own statements are the last ones captured (an expired authentication cache
    # adds the caller's look-ups before them).
    statements = {t["name"]: t["sql"][-t["statements"] :] for t in targets}
    path.write_text(json.dumps({"tenant": tenant, "dsn": app_dsn(database), "targets": statements}, indent=1))
    for name, sql in statements.items():
        print(f"{name}: {len(sql)} statement(s), {sum(len(s) for s in sql)} characters")


def _backend_cpu_seconds(pid: int) -> float:
    """The backend's CPU time: the scheduler's nanoseconds on a CPU (`/proc/<pid>/schedstat`),
    else utime + stime in clock ticks (`/proc/<pid>/stat`, 10 ms each: coarse for a round of
    short statements)."""
    schedstat = Path(f"/proc/{pid}/schedstat")
    if schedstat.exists():
        return int(schedstat.read_text().split()[0]) / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def compare_versions(
    dsn: str, tenant: str, versions: list[str], executions: int, rounds: int
) -> tuple[list[float], list[bool]]:
    """Median backend CPU ms per execution of each version, and whether each answers as the first."""
    import psycopg2

    conn = psycopg2.connect(dsn, options=session_options())
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        answers = []
        for index, sql in enumerate(versions):
            cursor.execute(f"PREPARE v{index} AS {sql}")
            for _ in range(10):  # warm: the generic plan, the caches
                cursor.execute(f"EXECUTE v{index}")
                answer = cursor.fetchall()
            answers.append(answer)
        per_round: list[list[float]] = [[] for _ in versions]
        for round_number in range(rounds):
            order = range(len(versions)) if round_number % 2 == 0 else reversed(range(len(versions)))
            for index in order:  # ABBA: neither version always runs first
                before = _backend_cpu_seconds(pid)
                for _ in range(executions):
                    cursor.execute(f"EXECUTE v{index}")
                    cursor.fetchall()
                per_round[index].append((_backend_cpu_seconds(pid) - before) * 1000 / executions)
    finally:
        conn.close()
    return [statistics.median(r) for r in per_round], [a == answers[0] for a in answers]


def compare(before: Path, after: Path, only: tuple[str, ...], executions: int, rounds: int) -> None:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    print(f"backend CPU ms per execution (median of {rounds} rounds of {executions}, alternating)")
    for name, statements in old["targets"].items():
        if only and not any(word in name.lower() for word in only):
            continue
        if name not in new["targets"] or len(statements) != 1 or len(new["targets"][name]) != 1:
            print(f"  {name}: not one statement in both versions, skipped")
            continue
        (ms_old, ms_new), same = compare_versions(
            new["dsn"], new["tenant"], [statements[0], new["targets"][name][0]], executions, rounds
        )
        answer = "same answer" if all(same) else "DIFFERENT ANSWER"
        print(f"  {name:40} {ms_old:7.3f} -> {ms_new:7.3f} ms  ({ms_new / ms_old:5.2f})  {answer}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL CPU per execution of the targets' statements.")
    commands = parser.add_subparsers(dest="command", required=True)
    capture_command = commands.add_parser("capture", help="write the targets' statements to a file")
    capture_command.add_argument("path", type=Path)
    capture_command.add_argument("--database", default=DEFAULT_DATABASE)
    capture_command.add_argument("--commit", help="compile with the saas code of this commit")
    compare_command = commands.add_parser("compare", help="CPU per execution, two captures side by side")
    compare_command.add_argument("before", type=Path)
    compare_command.add_argument("after", type=Path)
    compare_command.add_argument("--targets", default="", help="words of the targets' names, comma-separated")
    compare_command.add_argument("--executions", type=int, default=100)
    compare_command.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if args.command == "capture":
        if args.commit:
            from bench.common import run_at_commit, strip_option

            raw = sys.argv[1:] if argv is None else argv
            run_at_commit(
                args.commit,
                "bench.sql_cpu",
                strip_option([str(args.path.resolve()) if a == str(args.path) else a for a in raw], "--commit"),
            )
        capture(args.path, args.database)
    else:
        only = tuple(w.strip().lower() for w in args.targets.split(",") if w.strip())
        compare(args.before, args.after, only, args.executions, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
