"""A worker and the scheduler inside the API process, for the embedded defaults (`saas serve` alone).

With embedded PostgreSQL and Redis a newcomer runs one command; this gives that command its
background jobs. Production runs `saas worker` and `saas scheduler` as their own processes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from dramatiq import Worker

from saas.jobs.broker import setup
from saas.jobs.scheduler import run_scheduler
from saas.jobs.worker import STOP_TIMEOUT_MS, start_worker
from saas.runtime import Runtime

log = logging.getLogger(__name__)

IN_PROCESS_THREADS = 2


@dataclass
class BackgroundJobs:
    runtime: Runtime
    worker: Worker
    scheduler: threading.Thread
    stop_event: threading.Event = field(default_factory=threading.Event)

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Stop the scheduler, let running jobs finish, and close the runtime."""
        self.stop_event.set()
        self.scheduler.join(timeout_ms / 1000)
        self.worker.stop(timeout=timeout_ms)
        self.runtime.close()
        log.info("in-process worker and scheduler stopped")


def start_background_jobs(
    runtime: Runtime, *, threads: int = IN_PROCESS_THREADS, **broker_options: Any
) -> BackgroundJobs:
    """Bind the jobs, start a worker and a scheduler thread on `runtime` (which they then own).

    `broker_options` go to `saas.jobs.broker.setup` (e.g. `namespace`).
    """
    broker = setup(runtime, **broker_options)
    worker = start_worker(broker, threads=threads)
    stop_event = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler, args=(runtime, stop_event), kwargs={"broker": broker}, name="saas-scheduler", daemon=True
    )
    scheduler.start()
    log.info("in-process worker (%d threads) and scheduler started", threads)
    return BackgroundJobs(runtime, worker, scheduler, stop_event)
