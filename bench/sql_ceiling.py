"""The ceiling PostgreSQL alone puts on the customers page: its compiled statement under pgbench.

    python -m bench.sql_ceiling [--database saas_bench] [--clients 16] [--seconds 10] [--first 50]

The statement is compiled by the real code path (one in-process request), then pgbench
sends it the way `saas.db.reads.fetch_json` does: `set_config('app.tenant_id', ..., true)`
and the statement in one simple-query message, as the application role (RLS on), from
`--clients` connections. No Python is involved, so the transactions per second are the
most the API could reach on this machine with this statement. EXPLAIN ANALYZE (median of
repeated runs) splits the statement's server time into planning and execution.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import BIG_SLUG, CUSTOMERS_PAGE, DEFAULT_DATABASE, InProcess, bench_url, redis_url, session_options


def compiled_statement(database: str, first: int) -> tuple[str, dict[str, Any], str]:
    """The compiled SQL of the customers page, its parameters, and the tenant id."""
    from saas.schema.compiler import COMPILED

    client = InProcess.create(bench_url(database), redis_url())
    client.login(BIG_SLUG)
    client.raw(CUSTOMERS_PAGE, {"first": first})
    principal = client.engine.runtime.authenticate(f"Bearer {client.token}")
    client.close()
    statements = [compiled.sql for key, compiled in COMPILED.entries.items() if "CustomersPage" in key]
    if len(statements) != 1:
        raise RuntimeError(f"expected one compiled CustomersPage statement, found {len(statements)}")
    tenant = str(principal.tenant_id)
    params = {"tenant_id": tenant, "first": first, "limit": first + 1, "has_previous": False}
    return statements[0], params, tenant


def app_dsn(database: str) -> str:
    from saas.config import Settings
    from saas.db.engine import app_url

    url = app_url(Settings(), bench_url(database)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def literal_sql(dsn: str, sql: str, params: dict[str, Any]) -> str:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            return cursor.mogrify(sql, params).decode()
    finally:
        conn.close()


def explain(dsn: str, tenant: str, sql: str, runs: int = 50) -> dict[str, float]:
    import psycopg2

    conn = psycopg2.connect(dsn, options=session_options())
    conn.autocommit = True
    planning, execution = [], []
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
            for _ in range(runs):
                cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) " + sql)
                for (line,) in cursor.fetchall():
                    if line.startswith("Planning Time:"):
                        planning.append(float(line.split()[2]))
                    elif line.startswith("Execution Time:"):
                        execution.append(float(line.split()[2]))
    finally:
        conn.close()
    return {"planning_ms": statistics.median(planning), "execution_ms": statistics.median(execution)}


def pgbench(dsn: str, tenant: str, sql: str, clients: int, seconds: int) -> dict[str, float]:
    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    one_line = " ".join(sql.split())
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        # `\;` sends both statements in one message, as fetch_json does.
        script.write(f"SELECT set_config('app.tenant_id', '{tenant}', true) \\;\n{one_line};\n")
    try:
        result = subprocess.run(
            [
                "pgbench",
                "-n",
                "-M",
                "simple",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                script.name,
                dsn,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PGOPTIONS": session_options()},
        )
    finally:
        Path(script.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))  # type: ignore[union-attr]
    return {"tps": tps, "latency_ms": latency}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL's ceiling for the customers page statement.")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--commit", help="use the saas code of this commit (e.g. HEAD) instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.sql_ceiling", argv)
    from bench.seed import seed

    seed(args.database)
    sql, params, tenant = compiled_statement(args.database, args.first)
    dsn = app_dsn(args.database)
    text = literal_sql(dsn, sql, params)
    times = explain(dsn, tenant, text)
    bench = pgbench(dsn, tenant, text, args.clients, args.seconds)
    print(f"customers page statement (first: {args.first}), {len(text)} characters of SQL")
    print(
        f"  EXPLAIN ANALYZE (median of 50): planning {times['planning_ms']:.3f} ms, execution {times['execution_ms']:.3f} ms"
    )
    print(
        f"  pgbench, {args.clients} clients, {args.seconds} s, simple protocol, as the app role: "
        f"{bench['tps']:.0f} statements/s (average latency {bench['latency_ms']:.2f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
