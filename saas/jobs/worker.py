"""`saas worker`: a dramatiq worker started in this process (not through the dramatiq CLI).

Scale by running more `saas worker` processes (or replicas); each runs `threads` jobs at a
time. Stopping is graceful: running jobs finish (up to `stop_timeout_ms`), prefetched
messages go back to their queues. A process killed outright loses nothing either: its
unacknowledged messages are requeued by the other workers' upkeep once its heartbeat is older
than the heartbeat timeout (within `saas.jobs.broker.REDELIVERY_BOUND_MS`), and the
exactly-once record stops a job that had committed from acting twice.
"""

from __future__ import annotations

import logging
import threading

from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker

log = logging.getLogger(__name__)

DEFAULT_THREADS = 8
STOP_TIMEOUT_MS = 30_000
# How long an idle consumer waits between polls (and so between heartbeats).
WORKER_TIMEOUT_MS = 1_000


def start_worker(
    broker: RedisBroker, *, threads: int = DEFAULT_THREADS, worker_timeout_ms: int = WORKER_TIMEOUT_MS
) -> Worker:
    """Start consuming every declared queue of `broker` in background threads; returns the worker."""
    if not getattr(broker, "_saas_process_booted", False):
        # What the dramatiq CLI does once per process: starts the time-limit watcher.
        broker.emit_after("process_boot")
        broker._saas_process_booted = True  # type: ignore[attr-defined]
    worker = Worker(broker, worker_threads=threads, worker_timeout=worker_timeout_ms)
    worker.start()
    log.info("worker started: %d threads on queues %s", threads, ", ".join(sorted(broker.get_declared_queues())))
    return worker


def run_worker(
    broker: RedisBroker,
    stop_event: threading.Event,
    *,
    threads: int = DEFAULT_THREADS,
    stop_timeout_ms: int = STOP_TIMEOUT_MS,
) -> None:
    """Run a worker until `stop_event` is set, then stop it gracefully."""
    worker = start_worker(broker, threads=threads)
    try:
        stop_event.wait()
    finally:
        worker.stop(timeout=stop_timeout_ms)
        log.info("worker stopped")
