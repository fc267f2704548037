"""The core's periodic work: `register_periodic(PeriodicJob(...))` runs a job every interval for
every tenant; `register_maintenance(...)` runs a function once per interval for the whole
deployment (e.g. the outbox sweep, which decides itself which tenants need work).

Plugins declare theirs with the `saas_periodic_jobs` hook instead (run for the tenants that
enabled the plugin); `saas scheduler` runs all of them (saas.jobs.scheduler).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from saas.plugin_host.contributions import PeriodicJob

PERIODIC: dict[str, PeriodicJob] = {}


@dataclass(frozen=True)
class MaintenanceTask:
    """`run(engine)` every `interval`, in the scheduler that holds the lock."""

    name: str
    run: Callable[[Any], Any]
    interval: timedelta


MAINTENANCE: dict[str, MaintenanceTask] = {}


def register_maintenance(task: MaintenanceTask) -> MaintenanceTask:
    if task.name in MAINTENANCE:
        raise ValueError(f"a maintenance task named {task.name} is already registered")
    MAINTENANCE[task.name] = task
    return task


def register_periodic(periodic: PeriodicJob) -> PeriodicJob:
    """Run `periodic.job` every `periodic.interval` for each tenant; names are unique."""
    if periodic.name in PERIODIC:
        raise ValueError(f"a periodic job named {periodic.name} is already registered")
    if periodic.interval.total_seconds() <= 0:
        raise ValueError(f"periodic job {periodic.name} needs a positive interval")
    PERIODIC[periodic.name] = periodic
    return periodic
