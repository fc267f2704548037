"""The plugin's tables: vehicles and their history, the supply chain, freight, reminders.

Every table leads with `tenant_id`; every foreign key is composite with it, so no row can point
into another tenant. Reminders are unique per vehicle, rule and due date: the constraint that
makes the reminder job create each one (and its follow-up task) exactly once, however often and
however concurrently it runs.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.plugin_api import TenantModel, created_at_column, uuid_pk


class CallOffStatus(StrEnum):
    """Where a call-off stands; stored as the value (`auto_call_offs.status`)."""

    CREATED = "created"
    SENT = "sent"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REJECTED = "rejected"


class FreightStatus(StrEnum):
    """Where a freight shipment stands; stored as the value, also in its tracking events."""

    PLANNED = "planned"
    DEPARTED = "departed"
    IN_TRANSIT = "in_transit"
    DELAYED = "delayed"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ReminderKind(StrEnum):
    SERVICE_MILEAGE = "service_mileage"
    SERVICE_TIME = "service_time"
    WARRANTY_END = "warranty_end"
    FINANCE_END = "finance_end"


class ReminderStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _fk(column: str, table: str, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete)


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _updated_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Vehicle(TenantModel):
    __tablename__ = "auto_vehicles"
    __table_args__ = (
        _tenant_fk(),
        _fk("customer_id", "customers", "RESTRICT"),
        CheckConstraint("mileage >= 0", name="mileage_not_negative"),
        Index("uq_auto_vehicles_tenant_vin", "tenant_id", "vin", unique=True),
        Index("ix_auto_vehicles_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_auto_vehicles_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    vin: Mapped[str] = mapped_column(String(17), nullable=False)
    make: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    mileage: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    mileage_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purchased_on: Mapped[date | None] = mapped_column(Date)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    finance_ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()


class MileageReading(TenantModel):
    """Every odometer reading: the trend the service-by-mileage reminders project from."""

    __tablename__ = "auto_mileage_readings"
    __table_args__ = (
        _tenant_fk(),
        _fk("vehicle_id", "auto_vehicles"),
        Index("ix_auto_mileage_readings_tenant_vehicle", "tenant_id", "vehicle_id", "read_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    vehicle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    mileage: Mapped[int] = mapped_column(Integer, nullable=False)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ServiceRecord(TenantModel):
    __tablename__ = "auto_service_records"
    __table_args__ = (
        _tenant_fk(),
        _fk("vehicle_id", "auto_vehicles"),
        Index("ix_auto_service_records_tenant_vehicle", "tenant_id", "vehicle_id", "performed_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    vehicle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    performed_on: Mapped[date] = mapped_column(Date, nullable=False)
    mileage: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(100), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class Supplier(TenantModel):
    __tablename__ = "auto_suppliers"
    __table_args__ = (
        _tenant_fk(),
        CheckConstraint("jit_window_minutes >= 0", name="jit_window_not_negative"),
        Index("uq_auto_suppliers_tenant_code", "tenant_id", "code", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    endpoint_url: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(50), nullable=False, server_default="webhook")
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    jit_window_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class SupplierKey(TenantModel):
    """A core API key (scope `auto:supplier`) standing for one supplier."""

    __tablename__ = "auto_supplier_keys"
    __table_args__ = (_tenant_fk(), _fk("supplier_id", "auto_suppliers"), _fk("api_key_id", "api_keys"))

    api_key_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Part(TenantModel):
    __tablename__ = "auto_parts"
    __table_args__ = (
        _tenant_fk(),
        _fk("supplier_id", "auto_suppliers", "RESTRICT"),
        CheckConstraint("lead_time_hours >= 0", name="lead_time_not_negative"),
        Index("uq_auto_parts_tenant_number", "tenant_id", "part_number", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    supplier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    part_number: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    lead_time_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class VehicleOrder(TenantModel):
    __tablename__ = "auto_vehicle_orders"
    __table_args__ = (
        _tenant_fk(),
        _fk("customer_id", "customers", "RESTRICT"),
        Index("ix_auto_vehicle_orders_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    build_slot_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class CallOff(TenantModel):
    """One supplier's share of a vehicle order: due at the build slot - JIT window - lead time."""

    __tablename__ = "auto_call_offs"
    __table_args__ = (
        _tenant_fk(),
        _fk("order_id", "auto_vehicle_orders"),
        _fk("supplier_id", "auto_suppliers", "RESTRICT"),
        CheckConstraint(_in("status", CallOffStatus), name="status_known"),
        Index("uq_auto_call_offs_tenant_order_supplier", "tenant_id", "order_id", "supplier_id", unique=True),
        Index("ix_auto_call_offs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_auto_call_offs_tenant_supplier", "tenant_id", "supplier_id", "created_at", "id"),
        Index("ix_auto_call_offs_tenant_confirm_by", "tenant_id", "confirm_by"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    supplier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    confirm_by: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="created")
    note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()


class CallOffLine(TenantModel):
    __tablename__ = "auto_call_off_lines"
    __table_args__ = (
        _tenant_fk(),
        _fk("call_off_id", "auto_call_offs"),
        _fk("part_id", "auto_parts", "RESTRICT"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("uq_auto_call_off_lines_tenant_part", "tenant_id", "call_off_id", "part_id", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    call_off_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    part_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)


class FreightShipment(TenantModel):
    __tablename__ = "auto_freight_shipments"
    __table_args__ = (
        _tenant_fk(),
        _fk("call_off_id", "auto_call_offs", "RESTRICT"),
        CheckConstraint(_in("status", FreightStatus), name="status_known"),
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
        Index("ix_auto_freight_shipments_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    call_off_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    carrier: Mapped[str] = mapped_column(String(100), nullable=False)
    tracking_number: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="planned")
    planned_departure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    planned_arrival_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    eta: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    delayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()


class FreightLeg(TenantModel):
    __tablename__ = "auto_freight_legs"
    __table_args__ = (
        _tenant_fk(),
        _fk("shipment_id", "auto_freight_shipments"),
        Index("ix_auto_freight_legs_tenant_shipment", "tenant_id", "shipment_id", "position"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    shipment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    origin: Mapped[str] = mapped_column(String(200), nullable=False)
    destination: Mapped[str] = mapped_column(String(200), nullable=False)


class TrackingEvent(TenantModel):
    __tablename__ = "auto_tracking_events"
    __table_args__ = (
        _tenant_fk(),
        _fk("shipment_id", "auto_freight_shipments"),
        CheckConstraint(_in("status", FreightStatus), name="status_known"),
        Index("ix_auto_tracking_events_tenant_shipment", "tenant_id", "shipment_id", "seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    shipment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    location: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"eager_defaults": True}


class ReminderRule(TenantModel):
    __tablename__ = "auto_reminder_rules"
    __table_args__ = (
        _tenant_fk(),
        CheckConstraint(_in("kind", ReminderKind), name="kind_known"),
        CheckConstraint("every_km IS NULL OR every_km > 0", name="every_km_positive"),
        CheckConstraint("every_months IS NULL OR every_months > 0", name="every_months_positive"),
        CheckConstraint("days_before IS NULL OR days_before >= 0", name="days_before_not_negative"),
        Index("ix_auto_reminder_rules_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    every_km: Mapped[int | None] = mapped_column(Integer)
    every_months: Mapped[int | None] = mapped_column(Integer)
    days_before: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class Reminder(TenantModel):
    __tablename__ = "auto_reminders"
    __table_args__ = (
        _tenant_fk(),
        _fk("vehicle_id", "auto_vehicles"),
        _fk("rule_id", "auto_reminder_rules"),
        CheckConstraint(_in("kind", ReminderKind), name="kind_known"),
        CheckConstraint(_in("status", ReminderStatus), name="status_known"),
        # The exactly-once guarantee of the reminder job (see module docstring).
        Index("uq_auto_reminders_tenant_vehicle_rule_due", "tenant_id", "vehicle_id", "rule_id", "due_on", unique=True),
        Index("ix_auto_reminders_tenant_due", "tenant_id", "due_on", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    vehicle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    rule_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="open")
    task_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
