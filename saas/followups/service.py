"""Changing follow-ups: logging activities, creating and completing tasks; and the agenda read.

Each change checks its input (coded `InputInvalid`, nothing written), checks that the caller
sees what it names, and emits its event through the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, column, select, text, update
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.auth.permissions import CUSTOMERS_READ, CUSTOMERS_WRITE, require
from saas.auth.principal import Principal
from saas.customers.models import Customer
from saas.customers.rules import SqlCondition
from saas.errors import FieldError, ForbiddenError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.followups.graphql.types import Activity as ActivityType
from saas.followups.graphql.types import Task as TaskType
from saas.followups.models import Activity, ActivityKind, Task
from saas.followups.rules import task_condition
from saas.followups.subjects import resolve_subject
from saas.notifications.service import notify
from saas.validation import Checker

# An activity may be logged a little ahead of the server's clock (clients' clocks drift), not more.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Each list of the agenda holds at most this many tasks, the soonest due first.
AGENDA_LIMIT = 100


def _now() -> datetime:
    return datetime.now(UTC)


def _member_principal(principal: Principal) -> uuid.UUID:
    if principal.membership_id is None:
        raise ForbiddenError("Follow-ups belong to members; API keys have none")
    return principal.membership_id


def activity_payload(row: Activity) -> dict[str, Any]:
    return {
        "activity": api_object(
            ActivityType.from_model(row),
            customer=node_ref("Customer", row.customer_id),
            actor=node_ref("Member", row.actor_id),
        )
    }


def task_payload(row: Task) -> dict[str, Any]:
    return {
        "task": api_object(
            TaskType.from_model(row),
            assignee=node_ref("Member", row.assignee_id),
            customer=node_ref("Customer", row.customer_id),
        )
    }


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def log_activity(session: Session, principal: Principal, data: dict[str, Any]) -> Activity:
    """Record an activity on a subject the caller sees; the subject's customer was contacted then."""
    require(principal.permissions, CUSTOMERS_WRITE)
    check = Checker(data)
    check.choice("kind", [k.value for k in ActivityKind], required=True)
    check.text("summary", required=True, max_length=2000)
    clean = check.done()
    occurred_at = _aware(data.get("occurred_at")) or _now()
    if occurred_at > _now() + FUTURE_TOLERANCE:
        raise InputInvalid([FieldError(["input", "occurredAt"], UserErrorCode.INVALID, "occurredAt is in the future")])
    subject = resolve_subject(session, principal, data.get("subject_id") or "")
    activity = Activity(
        id=uuid.uuid4(),
        subject_type=subject.type_name,
        subject_id=subject.id,
        customer_id=subject.customer_id,
        kind=clean["kind"],
        summary=clean["summary"],
        occurred_at=occurred_at,
        actor_id=principal.membership_id,
    )
    session.add(activity)
    if subject.customer_id is not None:
        # The public pool's clock. Not a change of the customer's own fields: no new version.
        session.execute(
            update(Customer)
            .where(Customer.id == subject.customer_id)
            .where((Customer.last_contacted_at.is_(None)) | (Customer.last_contacted_at < occurred_at))
            .values(last_contacted_at=occurred_at)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    session.refresh(activity)
    emit_event(session, "activity.logged", activity_payload(activity))
    return activity


def _check_assignee(session: Session, principal: Principal, assignee_id: uuid.UUID | None) -> uuid.UUID:
    """The task's assignee: the caller by default (a member), else a named active member; a system
    principal (a plugin's job, which sees all customers) must name one."""
    if assignee_id is None:
        return _member_principal(principal)
    if not principal.sees_all_customers and assignee_id != _member_principal(principal):
        raise InputInvalid(
            [
                FieldError(
                    ["input", "assigneeId"], UserErrorCode.INVALID, "Sales reps can only assign tasks to themselves"
                )
            ]
        )
    member = session.get(Membership, (principal.tenant_id, assignee_id))
    if member is None or not member.is_active:
        raise InputInvalid([FieldError(["input", "assigneeId"], UserErrorCode.NOT_FOUND, "No such member")])
    return assignee_id


def create_task(session: Session, principal: Principal, data: dict[str, Any]) -> Task:
    require(principal.permissions, CUSTOMERS_WRITE)
    check = Checker(data)
    check.text("title", required=True, max_length=200)
    clean = check.done()
    due_at, remind_at = _aware(data.get("due_at")), _aware(data.get("remind_at"))
    if due_at is None:
        raise InputInvalid([FieldError(["input", "dueAt"], UserErrorCode.REQUIRED, "dueAt is required")])
    if remind_at is not None and remind_at > due_at:
        raise InputInvalid(
            [FieldError(["input", "remindAt"], UserErrorCode.INVALID, "remindAt must not be after dueAt")]
        )
    subject = resolve_subject(session, principal, data.get("subject_id") or "")
    assignee = _check_assignee(session, principal, data.get("assignee_id"))
    task = Task(
        id=uuid.uuid4(),
        subject_type=subject.type_name,
        subject_id=subject.id,
        customer_id=subject.customer_id,
        title=clean["title"],
        due_at=due_at,
        remind_at=remind_at,
        assignee_id=assignee,
        created_by_id=principal.membership_id,
    )
    session.add(task)
    session.flush()
    session.refresh(task)
    payload = task_payload(task)
    emit_event(session, "task.created", payload)
    if assignee != principal.membership_id:
        notify(session, assignee, "task.assigned", f"New task: {task.title}", data=payload)
    return task


def get_task(session: Session, principal: Principal, task_id: uuid.UUID, *, lock: bool = False) -> Task:
    """The task if the caller sees it (its assignee, or a role that sees every task), else NOT_FOUND."""
    require(principal.permissions, CUSTOMERS_READ)
    condition = task_condition(principal, "tasks")
    query = select(Task).where(Task.id == task_id, text(condition.sql)).params(**condition.params)
    if lock:
        query = query.with_for_update()
    task = session.scalars(query).first()
    if task is None:
        raise NotFoundError("Task not found", id=str(task_id))
    return task


def complete_task(session: Session, principal: Principal, task_id: uuid.UUID) -> Task:
    require(principal.permissions, CUSTOMERS_WRITE)
    try:
        task = get_task(session, principal, task_id, lock=True)
    except NotFoundError:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.NOT_FOUND, "No such task")]) from None
    if task.completed_at is not None:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.ALREADY_COMPLETED, "The task is already done")])
    task.completed_at = _now()
    task.completed_by_id = principal.membership_id
    session.flush()
    emit_event(session, "task.completed", task_payload(task))
    return task


def agenda(session: Session, principal: Principal, now: datetime | None = None) -> dict[str, list[Task]]:
    """The caller's open tasks by when they are due: overdue (before now), today (the rest of
    today, UTC) and upcoming (after today); at most AGENDA_LIMIT each, soonest first; one statement."""
    require(principal.permissions, CUSTOMERS_READ)
    me = _member_principal(principal)
    now = now or _now()
    end_of_today = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    condition = SqlCondition()
    condition.add("t.assignee_id = :me AND t.completed_at IS NULL", me=me)
    bucket = "CASE WHEN t.due_at < :now THEN 'overdue' WHEN t.due_at < :end_of_today THEN 'today' ELSE 'upcoming' END"
    ranked = (
        f"SELECT t.id, {bucket} AS bucket, row_number() OVER (PARTITION BY {bucket} ORDER BY t.due_at, t.id) AS n "
        f"FROM tasks t WHERE {condition.sql}"
    )
    ranks = (
        text(ranked)
        .bindparams(**condition.params, now=now, end_of_today=end_of_today)
        .columns(column("id", PG_UUID(as_uuid=True)), column("bucket", String), column("n", Integer))
        .subquery("ranked")
    )
    statement = (
        select(Task, ranks.c.bucket)
        .join(ranks, ranks.c.id == Task.id)
        .where(ranks.c.n <= AGENDA_LIMIT)
        .order_by(ranks.c.bucket, Task.due_at, Task.id)
    )
    lists: dict[str, list[Task]] = {"overdue": [], "today": [], "upcoming": []}
    for task, bucket_name in session.execute(statement):
        lists[bucket_name].append(task)
    return lists
