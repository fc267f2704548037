"""Task reminders: each (task, kind) is sent once, however many workers run the job at once.

A reminder is claimed by inserting its `task_reminders` row (`ON CONFLICT DO NOTHING …
RETURNING`): of two transactions inserting the same row, the second waits for the first and,
once that commits, inserts nothing and so sends nothing; if the first rolls back, the second
sends it. The notification, the event and the row commit together, so a reminder is never
recorded without having been sent, nor sent twice.

- `DUE` is sent at the task's `remindAt`, or at its `dueAt` when it has none;
- `OVERDUE` once `dueAt` has passed by OVERDUE_AFTER and the task is still open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.events.outbox import emit_event
from saas.followups.models import ReminderKind, Task
from saas.followups.service import task_payload
from saas.notifications.service import notify

OVERDUE_AFTER = timedelta(hours=1)
# Reminders sent per run of the job; the next run sends the rest.
REMINDER_BATCH = 500

_CLAIM = text(
    """
    INSERT INTO task_reminders (tenant_id, task_id, kind, sent_at)
    SELECT t.tenant_id, t.id, r.kind, :now
    FROM tasks t
    CROSS JOIN LATERAL (VALUES
        ('due', COALESCE(t.remind_at, t.due_at)),
        ('overdue', t.due_at + :overdue_after)
    ) AS r(kind, at)
    WHERE t.completed_at IS NULL AND r.at <= :now
      AND NOT EXISTS (SELECT 1 FROM task_reminders s WHERE s.task_id = t.id AND s.kind = r.kind)
    ORDER BY r.at, t.id
    LIMIT :batch
    ON CONFLICT DO NOTHING
    RETURNING task_id, kind
    """
)

TITLES = {
    ReminderKind.DUE: "Task due: {title}",
    ReminderKind.OVERDUE: "Task overdue: {title}",
}


def send_task_reminders(session: Session, now: datetime | None = None) -> list[tuple[uuid.UUID, ReminderKind]]:
    """Send every reminder that is due and was not sent yet, for the session's tenant."""
    now = now or datetime.now(UTC)
    claimed = [
        (row.task_id, ReminderKind(row.kind))
        for row in session.execute(_CLAIM, {"now": now, "overdue_after": OVERDUE_AFTER, "batch": REMINDER_BATCH})
    ]
    if not claimed:
        return []
    tasks = {task.id: task for task in session.scalars(select(Task).where(Task.id.in_({t for t, _ in claimed})))}
    for task_id, kind in claimed:
        task = tasks[task_id]
        payload: dict[str, Any] = {**task_payload(task), "reminder": kind.name}
        notify(session, task.assignee_id, f"task.{kind.value}", TITLES[kind].format(title=task.title), data=payload)
        emit_event(session, f"task.{kind.value}", payload)
    return claimed
