"""Export of a large tenant: time and peak memory of `write_archive` (`python -m bench.tenant_export`).

Seeds a tenant with `--customers` customers and one contact each in a few SQL statements
(`generate_series`, as the owner), then exports it to a file and prints the time, the archive's
size and the process's peak RSS (`resource.getrusage`), before and after; on Linux also the
resident size as the export starts and the peak during the export alone (the peak is reset
first through `/proc/self/clear_refs`), so that memory that grows with the tenant shows even
below start-up's peak. Uses DATABASE_URL (or the embedded PostgreSQL), migrated (`saas migrate`).
"""

from __future__ import annotations

import argparse
import resource
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from saas.accounts.service import create_tenant
from saas.config import load_settings
from saas.db.engine import create_app_engine, create_owner_engine
from saas.embedded import resolve_service_urls
from saas.runtime import load_plugins
from saas.tenant_data.archive import write_archive


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux: `clear_refs` 5 resets VmHWM), so that the peak read
    after the export is the export's own, not start-up's; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_mb(field: str) -> float | None:
    """VmRSS (now) or VmHWM (peak since start or the last reset) in MB, from /proc; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def seed(owner_url: str, tenant_id: object, customers: int) -> None:
    owner = create_owner_engine(owner_url)
    with owner.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (tenant_id, id, name, tags) SELECT :t, gen_random_uuid(), "
                "'Customer ' || n, ARRAY['bench'] FROM generate_series(1, :n) n"
            ),
            {"t": tenant_id, "n": customers},
        )
        conn.execute(
            text(
                "INSERT INTO contacts (tenant_id, id, customer_id, name, email) SELECT tenant_id, gen_random_uuid(), "
                "id, 'Contact of ' || name, 'c' || id || '@bench.example.com' FROM customers WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
    owner.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    settings = load_settings()
    database_url, _ = resolve_service_urls(settings)
    engine = create_app_engine(settings, database_url)
    slug = f"bench-export-{secrets.token_hex(3)}"
    tenant = create_tenant(engine, slug, "Export bench", f"owner@{slug}.example.com", "bench-password-123")
    started = time.perf_counter()
    seed(database_url, tenant.id, args.customers)
    seeded = time.perf_counter() - started
    rss_before = peak_rss_mb()
    resident_before = rss_mb("VmRSS")
    reset = reset_peak_rss()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.tar.gz"
        started = time.perf_counter()
        with path.open("wb") as out:
            summary = write_archive(engine, tenant.id, out, plugins=load_plugins())
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
    print(f"tenant {slug}: {args.customers} customers and contacts seeded in {seeded:.1f} s")
    print(f"export: {summary.rows} rows, {size / 1e6:.1f} MB gzip'd, in {elapsed:.1f} s")
    export_peak = rss_mb("VmHWM")
    if reset and resident_before is not None and export_peak is not None:
        print(
            f"RSS: {resident_before:.0f} MB as the export starts, peak {export_peak:.0f} MB during the export"
            f" (the process's peak before it, start-up and seeding: {rss_before:.0f} MB)"
        )
    else:
        print(f"peak RSS: {rss_before:.0f} MB before the export, {peak_rss_mb():.0f} MB after")


if __name__ == "__main__":
    main()
