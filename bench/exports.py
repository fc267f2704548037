"""The export benchmark: time and peak memory of exporting customers to CSV and XLSX.

    python -m bench.exports [--rows 10000 50000] [--trace] [--json FILE]

A fresh database (on the server of `DATABASE_URL`, default the local PostgreSQL), migrated and
dropped at the end; a tenant whose customers are inserted with one `INSERT … SELECT` per size.
For each size and format, `run_export` (what the job does) runs in one transaction as the owner;
time is its wall time, and the process's maximum resident set size after it. With `--trace`, also
the peak of Python allocations during it (`tracemalloc`, which slows allocation-heavy code several
times: compare times only between runs without it). Memory flat in the row count is the claim:
the peak should not grow with `--rows`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import sys
import time
import tracemalloc
from typing import Any

from sqlalchemy import text

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _fill(engine: Any, tenant_id: Any, rows: int) -> None:
    from saas.tenancy.session import tenant_session

    with tenant_session(engine, tenant_id) as session:
        session.execute(text("DELETE FROM customers"))
        session.execute(
            text(
                "INSERT INTO customers (tenant_id, name, industry, tags) "
                "SELECT :t, '客户 ' || n || ' 有限公司', 'Manufacturing', ARRAY['vip', 'newsletter'] "
                "FROM generate_series(1, :rows) n"
            ),
            {"t": tenant_id, "rows": rows},
        )


def measure(runtime: Any, tenant_id: Any, owner_id: Any, rows: int, file_format: str, trace: bool) -> dict[str, Any]:
    from saas.exports.models import ExportJob
    from saas.exports.service import run_export
    from saas.tenancy.session import tenant_session

    with tenant_session(runtime.engine, tenant_id) as session:
        job = ExportJob(entity="CUSTOMER", format=file_format, filter={}, requested_by_id=owner_id)
        session.add(job)
        session.flush()
        job_id = job.id
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with tenant_session(runtime.engine, tenant_id) as session:
        done = run_export(session, job_id)
        assert done is not None and done.row_count == rows, done
        size = session.execute(text("SELECT size_bytes FROM downloads WHERE id = :d"), {"d": done.download_id}).scalar()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    return {
        "rows": rows,
        "format": file_format,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "file_mib": round(size / 2**20, 2),
        "python_peak_mib": round(peak / 2**20, 2) if peak is not None else None,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run(sizes: list[int], trace: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("DATABASE_URL", DEFAULT_SERVER_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    from saas.accounts.models import Membership
    from saas.accounts.service import create_tenant
    from saas.plugin_api.testing import fresh_database, migrate_database, settings_for
    from saas.runtime import create_runtime, load_plugins
    from saas.tenancy.session import tenant_session

    host = load_plugins()
    results = []
    with fresh_database() as url:
        settings = settings_for(url)
        migrate_database(url, settings, host)
        runtime = create_runtime(settings, url, settings.redis_url or DEFAULT_REDIS_URL, plugins=host)
        try:
            slug = f"bench-{secrets.token_hex(3)}"
            tenant = create_tenant(
                runtime.engine, slug, "Export bench", f"owner@{slug}.example.com", "bench-password-1"
            )
            tenant_id = getattr(tenant, "id", tenant)
            with tenant_session(runtime.engine, tenant_id) as session:
                owner_id = session.query(Membership.id).scalar()
            for rows in sizes:
                _fill(runtime.engine, tenant_id, rows)
                for file_format in ("CSV", "XLSX"):
                    result = measure(runtime, tenant_id, owner_id, rows, file_format, trace)
                    print(f"[bench.exports] {result}", file=sys.stderr, flush=True)
                    results.append(result)
        finally:
            runtime.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--trace", action="store_true", help="also trace Python's peak allocation (slower)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    text_out = json.dumps(run(args.rows, args.trace), indent=2)
    print(text_out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text_out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
