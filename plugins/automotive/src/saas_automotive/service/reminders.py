"""Service and sales reminders: tenant rules, and the periodic job that turns them into reminders
and follow-up tasks for each customer's owner.

Exactly once per vehicle, rule and due date: a reminder is inserted with `ON CONFLICT DO NOTHING`
on its unique key, and only the transaction whose insert took the row creates the task. A second
run finds the row; a concurrent one waits on the first's uncommitted row and then does nothing.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.plugin_api import (
    NotFoundError,
    Page,
    Principal,
    UserErrorCode,
    create_follow_up_task,
    get_customer,
    keyset_page,
)
from saas_automotive import events
from saas_automotive.errors import invalid
from saas_automotive.models import MileageReading, Reminder, ReminderKind, ReminderRule, ServiceRecord, Vehicle
from saas_automotive.rules import REMINDERS_MANAGE, VEHICLES_READ
from saas_automotive.service.common import Actor
from saas_automotive.service.vehicles import vehicle_condition

MAX_EVERY_KM = 1_000_000
MAX_EVERY_MONTHS = 240
MAX_DAYS_BEFORE = 365
TITLES = {
    "service_mileage": "Service due (mileage) for {vehicle}",
    "service_time": "Service due for {vehicle}",
    "warranty_end": "Warranty ends for {vehicle}: offer an extension",
    "finance_end": "Finance ends for {vehicle}: talk about the next car",
}


def _positive(data: dict[str, Any], name: str, maximum: int, *, zero: bool = False) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= maximum:
        raise invalid(["input", name], UserErrorCode.OUT_OF_RANGE, f"{name} must be {low} to {maximum}")
    return value


def create_rule(session: Session, actor: Actor, data: dict[str, Any]) -> ReminderRule:
    actor.staff(REMINDERS_MANAGE)
    kind = data["kind"]
    every_km = _positive(data, "everyKm", MAX_EVERY_KM)
    every_months = _positive(data, "everyMonths", MAX_EVERY_MONTHS)
    days_before = _positive(data, "daysBefore", MAX_DAYS_BEFORE, zero=True)
    if kind == "service_mileage" and every_km is None:
        raise invalid(["input", "everyKm"], UserErrorCode.REQUIRED, "A mileage rule needs everyKm")
    if kind == "service_time" and every_months is None:
        raise invalid(["input", "everyMonths"], UserErrorCode.REQUIRED, "A time rule needs everyMonths")
    if kind != "service_mileage" and every_km is not None:
        raise invalid(["input", "everyKm"], UserErrorCode.INVALID, "everyKm is for SERVICE_MILEAGE rules only")
    if kind != "service_time" and every_months is not None:
        raise invalid(["input", "everyMonths"], UserErrorCode.INVALID, "everyMonths is for SERVICE_TIME rules only")
    rule = ReminderRule(
        id=uuid.uuid4(), kind=kind, every_km=every_km, every_months=every_months, days_before=days_before
    )
    session.add(rule)
    session.flush()
    session.refresh(rule)
    events.reminder_rule_created(session, rule)
    return rule


def list_rules(session: Session, actor: Actor) -> list[ReminderRule]:
    actor.staff(VEHICLES_READ)
    return list(session.scalars(select(ReminderRule).order_by(ReminderRule.created_at, ReminderRule.id)))


@dataclass(frozen=True)
class ReminderFilter:
    kind: str | None = None
    status: str | None = None
    due_before: date | None = None


def list_reminders(session: Session, actor: Actor, flt: ReminderFilter, limit: int, after: list[Any] | None) -> Page:
    actor.staff(VEHICLES_READ)
    condition = vehicle_condition(actor, "auto_vehicles")
    visible = select(Vehicle.id)
    if condition.parts:
        from sqlalchemy import text

        visible = visible.where(text(condition.sql).bindparams(**condition.params))
    query = select(Reminder).where(Reminder.vehicle_id.in_(visible))
    if flt.kind is not None:
        query = query.where(Reminder.kind == flt.kind)
    if flt.status is not None:
        query = query.where(Reminder.status == flt.status)
    if flt.due_before is not None:
        query = query.where(Reminder.due_on < flt.due_before)
    return keyset_page(session, query, (Reminder.created_at, Reminder.id), limit, after, descending=True)


# -- when a rule is due for a vehicle ----------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class History:
    """What the rules read of a vehicle: its last service and its odometer trend."""

    last_service_on: date | None
    last_service_mileage: int
    first_reading: tuple[int, datetime] | None
    last_reading: tuple[int, datetime] | None


def history(session: Session, vehicle: Vehicle) -> History:
    last = session.execute(
        select(ServiceRecord.performed_on, ServiceRecord.mileage)
        .where(ServiceRecord.vehicle_id == vehicle.id)
        .order_by(ServiceRecord.performed_on.desc(), ServiceRecord.mileage.desc())
        .limit(1)
    ).first()
    readings = session.execute(
        select(func.min(MileageReading.read_at), func.max(MileageReading.read_at)).where(
            MileageReading.vehicle_id == vehicle.id
        )
    ).one()
    first = last_reading = None
    if readings[0] is not None:
        first_mileage = session.scalar(
            select(func.min(MileageReading.mileage)).where(
                MileageReading.vehicle_id == vehicle.id, MileageReading.read_at == readings[0]
            )
        )
        first = (int(first_mileage or 0), readings[0])
        last_reading = (vehicle.mileage, readings[1])
    return History(last[0] if last else None, int(last[1]) if last else 0, first, last_reading)


def due_on(rule: ReminderRule, vehicle: Vehicle, past: History, today: date) -> date | None:
    """The date the rule falls due for the vehicle, None when it cannot tell (e.g. no date to count from).

    SERVICE_TIME: `everyMonths` after the last service (or the purchase, or registration).
    SERVICE_MILEAGE: when the odometer reaches the last service's mileage + `everyKm`, projected from
    the trend of the readings (km per day between the first and the latest); today when reached.
    WARRANTY_END / FINANCE_END: the vehicle's date."""
    kind = rule.kind
    if kind == ReminderKind.SERVICE_TIME:
        start = past.last_service_on or vehicle.purchased_on or vehicle.created_at.date()
        return add_months(start, rule.every_months or 12)
    if kind == ReminderKind.WARRANTY_END:
        return vehicle.warranty_ends_on
    if kind == ReminderKind.FINANCE_END:
        return vehicle.finance_ends_on
    target = past.last_service_mileage + (rule.every_km or 15_000)
    if vehicle.mileage >= target:
        return past.last_reading[1].date() if past.last_reading else today
    if past.first_reading is None or past.last_reading is None:
        return None
    days = (past.last_reading[1] - past.first_reading[1]).total_seconds() / 86_400
    driven = past.last_reading[0] - past.first_reading[0]
    if days < 1 or driven <= 0:
        return None
    per_day = driven / days
    return past.last_reading[1].date() + timedelta(days=int((target - vehicle.mileage) / per_day))


def generate(session: Session, principal: Principal, today: date, default_days_before: int) -> int:
    """Reminders (and tasks) of every active rule for every vehicle whose due date is within the rule's
    lead time (`daysBefore`, else the tenant's) and not more than the lead time past; returns how many
    were created by this run."""
    created = 0
    rules = list(session.scalars(select(ReminderRule).where(ReminderRule.active.is_(True))))
    if not rules:
        return 0
    for vehicle in session.scalars(select(Vehicle).order_by(Vehicle.id)).all():
        try:
            owner = get_customer(session, principal, vehicle.customer_id).owner_id
        except NotFoundError:  # a deleted customer's vehicles get no reminders
            continue
        past = history(session, vehicle)
        for rule in rules:
            lead = timedelta(days=rule.days_before if rule.days_before is not None else default_days_before)
            try:
                due = due_on(rule, vehicle, past, today)
                if due is None or not due - lead <= today <= due + lead:
                    continue
            except OverflowError:  # a date at the calendar's edge is never due
                continue
            created += _create_once(session, principal, vehicle, owner, rule, due)
    return created


def _create_once(
    session: Session, principal: Principal, vehicle: Vehicle, owner: uuid.UUID | None, rule: ReminderRule, due: date
) -> int:
    inserted = session.scalar(
        insert(Reminder)
        .values(
            id=uuid.uuid4(),
            tenant_id=vehicle.tenant_id,
            vehicle_id=vehicle.id,
            rule_id=rule.id,
            kind=rule.kind,
            due_on=due,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "vehicle_id", "rule_id", "due_on"])
        .returning(Reminder.id)
    )
    if inserted is None:
        return 0
    reminder = session.get(Reminder, (vehicle.tenant_id, inserted))
    assert reminder is not None
    title = TITLES[rule.kind].format(vehicle=f"{vehicle.make} {vehicle.model} ({vehicle.vin})")
    # The customer's owner gets the task; an unowned customer's reminder stands without one.
    task_id = None
    if owner is not None:
        task_id = create_follow_up_task(
            session,
            principal,
            customer_id=vehicle.customer_id,
            title=title[:200],
            due_at=datetime.combine(due, time(9, 0), tzinfo=UTC),
            assignee_id=owner,
        )
    reminder.task_id = task_id
    session.flush()
    events.reminder_created(session, reminder, task_id)
    return 1
