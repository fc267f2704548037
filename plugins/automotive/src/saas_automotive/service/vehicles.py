"""Vehicles of the core's customers: VIN rules, an odometer that never goes back, service history.

A vehicle is visible to whoever sees its customer (the core's visibility: sales reps their own
and the unowned pool), so every read and change goes through `visible_vehicle`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.orm import Session

from saas.plugin_api import (
    Checker,
    NotFoundError,
    SqlCondition,
    UserErrorCode,
    customer_visibility,
    get_customer,
    require,
)
from saas_automotive import events
from saas_automotive.errors import AutoErrorCode, invalid
from saas_automotive.models import MileageReading, Reminder, ServiceRecord, Vehicle
from saas_automotive.rules import VEHICLES_READ, VEHICLES_WRITE, vin_check_digit, vin_form_problem
from saas_automotive.service.common import Actor, flush_unique, not_found, now

MIN_YEAR = 1886
MAX_MILEAGE = 10_000_000


def vehicle_condition(actor: Actor, alias: str) -> SqlCondition:
    """The vehicles the actor sees: those of the customers the core lets them see (alias's customer_id)."""
    require(actor.principal.permissions, VEHICLES_READ)
    inner = SqlCondition()
    customer_visibility(actor.principal, "vc", inner)
    condition = SqlCondition()
    if inner.parts:
        condition.add(
            f"EXISTS (SELECT 1 FROM customers vc WHERE vc.id = {alias}.customer_id AND {inner.sql})", **inner.params
        )
    return condition


def _visible(actor: Actor, alias: str) -> TextClause | None:
    condition = vehicle_condition(actor, alias)
    return text(condition.sql).bindparams(**condition.params) if condition.parts else None


def visible_vehicle(session: Session, actor: Actor, vehicle_id: uuid.UUID, *, lock: bool = False) -> Vehicle:
    """The vehicle if the actor may see it, else NOT_FOUND (another tenant's included)."""
    actor.staff(VEHICLES_READ)
    query = select(Vehicle).where(Vehicle.id == vehicle_id)
    condition = _visible(actor, "auto_vehicles")
    if condition is not None:
        query = query.where(condition)
    if lock:
        query = query.with_for_update(of=Vehicle)
    vehicle = session.scalars(query.execution_options(populate_existing=True)).first()
    if vehicle is None:
        raise not_found("Vehicle", vehicle_id)
    return vehicle


def _writable(session: Session, actor: Actor, vehicle_id: uuid.UUID) -> Vehicle:
    actor.staff(VEHICLES_WRITE)
    try:
        return visible_vehicle(session, actor, vehicle_id, lock=True)
    except NotFoundError:
        raise invalid(["input", "vehicleId"], UserErrorCode.NOT_FOUND, "No such vehicle") from None


def clean_vin(session: Session, actor: Actor, raw: Any, field: list[str | int]) -> str:
    """The VIN upper-cased, of the right form; its check digit verified when the tenant's `strictVin` is on."""
    if not isinstance(raw, str) or not raw.strip():
        raise invalid(field, UserErrorCode.REQUIRED, "vin is required")
    vin = raw.strip().upper()
    problem = vin_form_problem(vin)
    if problem is not None:
        raise invalid(field, AutoErrorCode.INVALID_VIN, problem)
    if actor.settings(session).strict_vin and vin[8] != vin_check_digit(vin):
        raise invalid(field, AutoErrorCode.VIN_CHECK_DIGIT, "The VIN's check digit (position 9) does not match")
    return vin


def _check_dates(check: Checker, data: dict[str, Any]) -> None:
    for name in ("purchased_on", "warranty_ends_on", "finance_ends_on"):
        value = data.get(name)
        if value is not None and not isinstance(value, date):
            check.fail(name, UserErrorCode.INVALID, f"{name} must be a date")


def _check_mileage(value: Any, field: list[str | int], *, required: bool) -> int | None:
    if value is None:
        if required:
            raise invalid(field, UserErrorCode.REQUIRED, "mileage is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MILEAGE:
        raise invalid(field, UserErrorCode.OUT_OF_RANGE, f"mileage must be between 0 and {MAX_MILEAGE}")
    return value


def register_vehicle(session: Session, actor: Actor, customer_id: uuid.UUID, data: dict[str, Any]) -> Vehicle:
    actor.staff(VEHICLES_WRITE)
    check = Checker(data)
    check.text("make", required=True, max_length=100)
    check.text("model", required=True, max_length=100)
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= now().year + 2:
        check.fail("year", UserErrorCode.OUT_OF_RANGE, f"year must be between {MIN_YEAR} and {now().year + 2}")
    _check_dates(check, data)
    clean = check.done()
    vin = clean_vin(session, actor, data.get("vin"), ["input", "vin"])
    mileage = _check_mileage(data.get("mileage"), ["input", "mileage"], required=False) or 0
    try:
        customer = get_customer(session, actor.principal, customer_id)
    except NotFoundError:
        raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None
    if session.scalar(select(Vehicle.id).where(Vehicle.vin == vin)) is not None:
        raise invalid(["input", "vin"], UserErrorCode.TAKEN, "A vehicle with this VIN is registered")
    vehicle = Vehicle(
        id=uuid.uuid4(),
        customer_id=customer.id,
        vin=vin,
        make=clean["make"],
        model=clean["model"],
        year=year,
        mileage=mileage,
        mileage_read_at=now(),
        purchased_on=data.get("purchased_on"),
        warranty_ends_on=data.get("warranty_ends_on"),
        finance_ends_on=data.get("finance_ends_on"),
    )
    session.add(vehicle)
    flush_unique(session, ["input", "vin"], "A vehicle with this VIN is registered")
    session.add(
        MileageReading(id=uuid.uuid4(), vehicle_id=vehicle.id, mileage=mileage, read_at=vehicle.mileage_read_at)
    )
    session.flush()
    session.refresh(vehicle)
    events.vehicle_changed(session, events.VEHICLE_REGISTERED, vehicle)
    return vehicle


def _raise_mileage(session: Session, vehicle: Vehicle, mileage: int, read_at: datetime, field: list[str | int]) -> None:
    """The odometer never goes back: a reading below the vehicle's is MILEAGE_DECREASE (the row is locked)."""
    if mileage < vehicle.mileage:
        raise invalid(
            field, AutoErrorCode.MILEAGE_DECREASE, f"Mileage cannot go down (the vehicle shows {vehicle.mileage})"
        )
    session.add(MileageReading(id=uuid.uuid4(), vehicle_id=vehicle.id, mileage=mileage, read_at=read_at))
    vehicle.mileage, vehicle.mileage_read_at, vehicle.updated_at = mileage, read_at, now()


def record_mileage(
    session: Session, actor: Actor, vehicle_id: uuid.UUID, mileage: Any, read_at: datetime | None
) -> Vehicle:
    clean = _check_mileage(mileage, ["input", "mileage"], required=True)
    assert clean is not None
    vehicle = _writable(session, actor, vehicle_id)
    _raise_mileage(session, vehicle, clean, read_at or now(), ["input", "mileage"])
    session.flush()
    session.refresh(vehicle)
    events.vehicle_changed(session, events.VEHICLE_MILEAGE_RECORDED, vehicle)
    return vehicle


def record_service(session: Session, actor: Actor, vehicle_id: uuid.UUID, data: dict[str, Any]) -> ServiceRecord:
    """A service in the history; its mileage is also a reading (and may not be below the vehicle's)."""
    check = Checker(data)
    check.text("kind", required=True, max_length=100)
    check.text("notes", max_length=5_000)
    performed_on = data.get("performed_on")
    if not isinstance(performed_on, date):
        check.fail("performed_on", UserErrorCode.REQUIRED, "performedOn is required")
    elif performed_on > now().date():
        check.fail("performed_on", UserErrorCode.OUT_OF_RANGE, "performedOn cannot be in the future")
    clean = check.done()
    mileage = _check_mileage(data.get("mileage"), ["input", "mileage"], required=True)
    assert mileage is not None and isinstance(performed_on, date)
    vehicle = _writable(session, actor, vehicle_id)
    if mileage > vehicle.mileage:
        _raise_mileage(session, vehicle, mileage, now(), ["input", "mileage"])
    record = ServiceRecord(
        id=uuid.uuid4(),
        vehicle_id=vehicle.id,
        performed_on=performed_on,
        mileage=mileage,
        kind=clean["kind"],
        notes=clean.get("notes"),
    )
    session.add(record)
    session.flush()
    session.refresh(record)
    events.service_recorded(session, vehicle, record)
    return record


def get_service_record(session: Session, actor: Actor, record_id: uuid.UUID) -> ServiceRecord:
    """A service record of a vehicle the actor sees, else NOT_FOUND."""
    record = session.scalars(select(ServiceRecord).where(ServiceRecord.id == record_id)).first()
    if record is None:
        raise not_found("Service record", record_id)
    visible_vehicle(session, actor, record.vehicle_id)
    return record


def service_records(session: Session, vehicle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ServiceRecord]]:
    found: dict[uuid.UUID, list[ServiceRecord]] = {vehicle_id: [] for vehicle_id in vehicle_ids}
    query = (
        select(ServiceRecord)
        .where(ServiceRecord.vehicle_id.in_(vehicle_ids))
        .order_by(ServiceRecord.performed_on.desc(), ServiceRecord.id)
    )
    for row in session.scalars(query):
        found[row.vehicle_id].append(row)
    return found


def reminders_of(session: Session, vehicle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Reminder]]:
    found: dict[uuid.UUID, list[Reminder]] = {vehicle_id: [] for vehicle_id in vehicle_ids}
    query = select(Reminder).where(Reminder.vehicle_id.in_(vehicle_ids)).order_by(Reminder.due_on, Reminder.id)
    for row in session.scalars(query):
        found[row.vehicle_id].append(row)
    return found


def vehicles_of_customers(
    session: Session, actor: Actor, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Vehicle]]:
    """The vehicles of several customers the actor sees, newest first, in one statement."""
    found: dict[uuid.UUID, list[Vehicle]] = {customer_id: [] for customer_id in customer_ids}
    query = select(Vehicle).where(Vehicle.customer_id.in_(customer_ids))
    condition = _visible(actor, "auto_vehicles")
    if condition is not None:
        query = query.where(condition)
    for row in session.scalars(query.order_by(Vehicle.created_at.desc(), Vehicle.id.desc())):
        found[row.customer_id].append(row)
    return found
