"""When a background job's row counts as stalled: the shared timeouts of the stale-job sweeps.

Exports (`saas.exports.sweep_stale`), tenant exports (`saas.tenant_data.sweep_stale`) and imports
(`saas.imports.sweep_stale`) are enqueued after the commit that makes their row; an enqueue that
fails then (the broker down, the process killed between the commit and the send) leaves the row
waiting for a message that never comes. Each domain's periodic sweep finds its rows that have not
moved for `STALE_AFTER`, skipping those a worker holds locked right now, and sends their message
again (running a job twice is harmless: each locks its row and does nothing once it finished).
An export still not started `GIVE_UP_AFTER` after it was asked for, or an import untouched that long
(its steps keep failing), is marked FAILED instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SWEEP_INTERVAL = timedelta(minutes=10)
STALE_AFTER = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=24)


def stale_before(now: datetime | None = None) -> datetime:
    """Rows untouched since this moment are stalled."""
    return (now or datetime.now(UTC)) - STALE_AFTER


def abandoned_before(now: datetime | None = None) -> datetime:
    """Rows waiting since this moment are given up."""
    return (now or datetime.now(UTC)) - GIVE_UP_AFTER
