"""The in-process worker and scheduler of `saas serve` (embedded defaults) run jobs and stop cleanly."""

from __future__ import annotations

import time

from saas.config import Settings
from saas.jobs.background import start_background_jobs
from saas.runtime import Runtime, create_runtime
from tests.conftest import TenantHandle
from tests.jobs import sample_jobs
from tests.jobs.helpers import customers_named


def test_background_jobs_run_sent_jobs_and_stop(
    runtime: Runtime, settings: Settings, tenant: TenantHandle, job_namespace: str
) -> None:
    assert settings.redis_url
    sample_jobs.configure(settings.redis_url)
    own = create_runtime(settings, runtime.database_url, settings.redis_url, plugins=runtime.plugins)
    background = start_background_jobs(own, namespace=job_namespace)
    try:
        sample_jobs.record_customer.send(tenant.id, "Background Ltd")
        deadline = time.monotonic() + 20
        while customers_named(runtime, tenant.id, "Background Ltd") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert background.scheduler.is_alive()
    finally:
        background.stop(timeout_ms=10_000)
    assert customers_named(runtime, tenant.id, "Background Ltd") == 1
    assert not background.scheduler.is_alive()
    background.worker.broker.client.delete(f"{job_namespace}:scheduler:due")
