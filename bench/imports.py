"""The data import at scale: rows per second of a dry run and of its commit, and peak memory.

    python -m bench.imports [--rows 100000] [--rows 10000 ...] [--no-commit] [--trace] [--json FILE]

For each `--rows` size, on a fresh database (on the server of `DATABASE_URL`, default the local
PostgreSQL) migrated and dropped at the end, with real Redis (`REDIS_URL`): a CSV of that many
customers (name, industry, contact, mobile, e-mail, next follow-up; Chinese headers, UTF-8) is
generated on disk, imported as a dry run through `saas import`'s code path (start, then every
chunk in its own transaction, as the worker runs them), then committed (`commit_import`, then
the chunks). Reported per size: wall time and rows/s of each phase, the file's size, the
process's peak RSS (`resource.getrusage`, a high-water mark over the process's life, so sizes run
smallest first; run each size in its own process to compare them), the process's CPU time of each
phase (user + system, PostgreSQL's aside: what a loaded machine's wall time hides), and with `--trace` the peak of Python allocations during the import
(`tracemalloc`; slower). Memory should not grow with the number of rows beyond the file's own
bytes (held once, as the database stores them): rows are streamed and handled a chunk at a time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

HEADER = ["客户名称", "行业", "联系人", "手机", "邮箱", "下次跟进"]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [f"Company {i:07d}", "Retail", f"Contact {i}", f"138{i:08d}", f"c{i}@bench.example", "2024/1/31"]
            )


def _cpu_s() -> float:
    """This process's CPU time so far (user + system): unlike wall time, what the import itself
    costs in Python on a machine shared with other work (PostgreSQL's own time is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def measure(rows: int, trace: bool, commit: bool = True) -> dict[str, Any]:
    from saas.accounts.service import create_tenant
    from saas.auth.permissions import ALL_PERMISSIONS, Role
    from saas.auth.principal import Principal
    from saas.imports.console import import_file
    from saas.imports.service import commit_import
    from saas.imports.steps import run_step
    from saas.plugin_api.testing import fresh_database, migrate_database, settings_for
    from saas.runtime import create_runtime
    from saas.tenancy.session import tenant_session

    with fresh_database() as url, tempfile.TemporaryDirectory() as folder:
        settings = settings_for(url)
        migrate_database(url, settings)
        runtime = create_runtime(settings, url, settings.redis_url or "redis://127.0.0.1:6379/0")
        try:
            tenant = create_tenant(runtime.engine, "bench-import", "Bench", "owner@bench.example", "bench-password-1")
            path = Path(folder) / "customers.csv"
            write_csv(path, rows)
            if trace:
                tracemalloc.start()
            started, started_cpu = time.perf_counter(), _cpu_s()
            job = import_file(
                runtime.engine, tenant.id, path, entity="customer", dry_run=True, policy="skip",
                max_bytes=1 << 30, progress=lambda job: None,
            )  # fmt: skip
            previewed, previewed_cpu = time.perf_counter(), _cpu_s()
            operator = Principal(tenant_id=tenant.id, label="bench", permissions=ALL_PERMISSIONS, role=Role.OWNER)
            more = commit
            if commit:
                with tenant_session(runtime.engine, tenant.id) as session:
                    commit_import(session, operator, job.id)
            while more:
                with tenant_session(runtime.engine, tenant.id) as session:
                    more = run_step(session, job.id)
            committed, committed_cpu = time.perf_counter(), _cpu_s()
            traced = tracemalloc.get_traced_memory()[1] if trace else None
            if trace:
                tracemalloc.stop()
            return {
                "rows": rows,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "dry_run_s": round(previewed - started, 1),
                "dry_run_rows_per_s": round(rows / (previewed - started)),
                "dry_run_cpu_s": round(previewed_cpu - started_cpu, 1),
                "commit_s": round(committed - previewed, 1) if commit else None,
                "commit_rows_per_s": round(rows / (committed - previewed)) if commit else None,
                "commit_cpu_s": round(committed_cpu - previewed_cpu, 1) if commit else None,
                "previewed_creates": job.created,
                "peak_rss_mb": _peak_rss_mb(),
                "peak_traced_mb": round(traced / 1e6, 1) if traced is not None else None,
            }
        finally:
            runtime.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeat for several sizes)")
    parser.add_argument("--no-commit", action="store_true", help="measure the dry run only")
    parser.add_argument("--trace", action="store_true", help="also measure Python allocations (tracemalloc)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)
    results = [measure(rows, args.trace, not args.no_commit) for rows in sorted(args.rows or [100_000])]
    for result in results:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_JSON", "false")
    raise SystemExit(main())
