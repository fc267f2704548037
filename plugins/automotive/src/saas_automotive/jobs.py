"""Background work: sending call-offs, the confirmation window, and the reminder run.

Jobs that read the clock take the moment as an optional ISO argument (`at`, `today`), so tests
(and an operator replaying a day) control it; the scheduler passes nothing: now.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from saas.plugin_api import JobContext, PeriodicJob, Principal, plugin_settings, tenant_job
from saas_automotive import NAME
from saas_automotive.service import call_offs, reminders
from saas_automotive.service.common import now
from saas_automotive.settings import AutomotiveSettings

# What the reminder run may do in the core: make follow-up tasks on any customer of the tenant.
REMINDER_PERMISSIONS = frozenset({"customers:read", "customers:write"})


@tenant_job("automotive.send_call_off", max_retries=8, min_backoff_ms=1_000, max_backoff_ms=600_000)
def send_call_off(ctx: JobContext, call_off_id: str) -> bool:
    """Send one call-off through its supplier's channel (retried with backoff until it is sent)."""
    return call_offs.send_call_off(ctx, uuid.UUID(call_off_id))


@tenant_job("automotive.check_call_off_windows", max_retries=2)
def check_call_off_windows(ctx: JobContext, at: str | None = None) -> int:
    """Flag call-offs not confirmed within their window (once each); returns how many this run flagged."""
    moment = datetime.fromisoformat(at) if at else now()
    return len(call_offs.flag_overdue(ctx.session, moment))


@tenant_job("automotive.generate_reminders", max_retries=2)
def generate_reminders(ctx: JobContext, today: str | None = None) -> int:
    """Turn the rules into reminders and follow-up tasks, exactly once per vehicle, rule and due date."""
    day = date.fromisoformat(today) if today else now().date()
    principal = Principal(tenant_id=ctx.tenant_id, label="job:auto-reminders", permissions=REMINDER_PERMISSIONS)
    settings = AutomotiveSettings.model_validate(plugin_settings(ctx.session, NAME))
    return reminders.generate(ctx.session, principal, day, settings.reminder_days_before)


JOBS = [send_call_off, check_call_off_windows, generate_reminders]
PERIODIC_JOBS = [
    PeriodicJob(name="automotive.check_call_off_windows", job=check_call_off_windows, interval=timedelta(minutes=5)),
    PeriodicJob(name="automotive.generate_reminders", job=generate_reminders, interval=timedelta(hours=6)),
]
