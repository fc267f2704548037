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

    python -m bench.sql_cpu instructions before.json after.json --pgdata DIR [--targets …] [--executions 10]

counts instead the instructions PostgreSQL executes per `EXECUTE` of each version, which other work
on the machine does not move (0.1 % between runs of one statement): a stand-alone backend
(`postgres --single`) under `valgrind --tool=callgrind`, as the application role with the tenant
set and the read links' generic plan, the statement prepared as `saas.db.prepared.read_query`
prepares it, run `--executions` more times than a baseline run of the same script; the difference
divided by `--executions`. DIR is a stopped cluster of this PostgreSQL holding a copy of the
capture's database and its roles (made once: `initdb`, `pg_dumpall --roles-only`, `pg_dump` and
`pg_restore` of the database, `VACUUM ANALYZE`, stopped); a stand-alone backend cannot run beside
the server that owns a data directory. Its answer (the rows as the stand-alone backend prints
them) is compared between the versions too.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _paired(old: dict[str, Any], new: dict[str, Any], only: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """Each target of both captures (or of those named in `only`) with its one statement in
    each; a target that is not one statement in both is named and skipped."""
    for name, statements in old["targets"].items():
        if only and not any(word in name.lower() for word in only):
            continue
        if name not in new["targets"] or len(statements) != 1 or len(new["targets"][name]) != 1:
            print(f"  {name}: not one statement in both versions, skipped")
            continue
        yield name, statements[0], new["targets"][name][0]


def compare(before: Path, after: Path, only: tuple[str, ...], executions: int, rounds: int) -> None:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    print(f"backend CPU ms per execution (median of {rounds} rounds of {executions}, alternating)")
    for name, sql_old, sql_new in _paired(old, new, only):
        (ms_old, ms_new), same = compare_versions(new["dsn"], new["tenant"], [sql_old, sql_new], executions, rounds)
        answer = "same answer" if all(same) else "DIFFERENT ANSWER"
        print(f"  {name:40} {ms_old:7.3f} -> {ms_new:7.3f} ms  ({ms_new / ms_old:5.2f})  {answer}")


def _postgres_binary() -> str:
    """The server binary of the PostgreSQL that `pg_config` names (Debian: /usr/lib/postgresql/N/bin)."""
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(bindir, "postgres")


def _instructions(pgdata: Path, database: str, tenant: str, sql: str, executions: int) -> tuple[int, str]:
    """Instructions of a stand-alone backend preparing `sql` and executing it 3 + `executions`
    times as the application role (callgrind's total), and what it printed of the last answer."""
    from saas.db.async_reads import LINK_PLAN_CACHE_MODE
    from saas.db.prepared import read_query

    execute = f"SELECT set_config('app.tenant_id', '{tenant}', true); EXECUTE v"
    lines = [
        "SET ROLE saas_app",
        f"SET plan_cache_mode = {LINK_PLAN_CACHE_MODE}",
        "SET timezone = 'UTC'",
        "SET jit = off",
        f"PREPARE v AS {read_query(sql)}",
        *[execute] * (3 + executions),
    ]
    script = "\n".join(line.replace("\n", " ") for line in lines) + "\n"
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            _postgres_binary(),
            "--single",
            "-D",
            str(pgdata),
            database,
        ]
        owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name
        if os.geteuid() == 0 and owner != "root":  # PostgreSQL never runs as root
            os.chmod(directory, 0o777)
            command = ["su", owner, "-c", " ".join(command)]
        run = subprocess.run(command, input=script, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", run.stderr)
    if collected is None or re.search(r"\b(FATAL|ERROR):", run.stderr + run.stdout):  # e.g. a server runs on DIR
        raise RuntimeError(f"callgrind counted nothing: {run.stderr[-2000:]}")
    printed = [part for part in run.stdout.split("backend>") if part.strip()]  # one part per statement
    return int(collected.group(1)), printed[-1] if printed else ""


def instructions(before: Path, after: Path, pgdata: Path, only: tuple[str, ...], executions: int) -> None:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    database = new["dsn"].rsplit("/", 1)[1].split("?")[0]
    print(f"PostgreSQL's instructions per execution (valgrind, a stand-alone backend, {executions} executions)")
    for name, sql_old, sql_new in _paired(old, new, only):
        counts, answers = [], []
        for sql in (sql_old, sql_new):
            base, _ = _instructions(pgdata, database, new["tenant"], sql, 0)
            total, answer = _instructions(pgdata, database, new["tenant"], sql, executions)
            counts.append((total - base) / executions / 1e6)
            answers.append(re.sub(r"\d+: \w+ = ", "", answer))  # the column's name aside
        same = "same answer" if answers[0] == answers[1] else "DIFFERENT ANSWER"
        print(f"  {name:40} {counts[0]:7.3f} -> {counts[1]:7.3f} M  ({counts[1] / counts[0]:5.3f})  {same}")


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
    instructions_command = commands.add_parser("instructions", help="instructions per execution, two captures")
    instructions_command.add_argument("before", type=Path)
    instructions_command.add_argument("after", type=Path)
    instructions_command.add_argument("--pgdata", type=Path, required=True, help="a stopped cluster with a copy")
    instructions_command.add_argument("--targets", default="", help="words of the targets' names, comma-separated")
    instructions_command.add_argument("--executions", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "capture":
        if args.commit:
            from bench.common import run_at_commit

            raw = sys.argv[1:] if argv is None else argv
            run_at_commit(
                args.commit,
                "bench.sql_cpu",
                [str(args.path.resolve()) if a == str(args.path) else a for a in raw],
            )
        capture(args.path, args.database)
    else:
        only = tuple(w.strip().lower() for w in args.targets.split(",") if w.strip())
        if args.command == "instructions":
            instructions(args.before, args.after, args.pgdata, only, args.executions)
        else:
            compare(args.before, args.after, only, args.executions, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
