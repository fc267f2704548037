"""GraphQL types of the automotive plugin (all named `Auto…`), built from rows by `from_model`.

Lists and single objects are read compiled (`sql.py`); these resolvers serve the selections that
cannot compile (e.g. a `customer` field beyond its id and name) with one statement per level.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from saas.plugin_api import CustomerType as Customer
from saas.plugin_api import Node, RequestContext, customer_of, to_global_id
from saas_automotive import models
from saas_automotive.graphql import loaders
from saas_automotive.models import CallOffStatus, FreightStatus, ReminderKind, ReminderStatus

AutoCallOffStatus = strawberry.enum(CallOffStatus, name="AutoCallOffStatus")
AutoFreightStatus = strawberry.enum(FreightStatus, name="AutoFreightStatus")
AutoReminderKind = strawberry.enum(ReminderKind, name="AutoReminderKind")
AutoReminderStatus = strawberry.enum(ReminderStatus, name="AutoReminderStatus")


def ref(type_name: str, raw_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, raw_id))


@strawberry.type(name="AutoServiceRecord", description="A service in a vehicle's history.")
class ServiceRecord(Node):
    performed_on: date
    mileage: int
    kind: str
    notes: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.ServiceRecord) -> ServiceRecord:
        return cls(
            id=ref("AutoServiceRecord", row.id),
            performed_on=row.performed_on,
            mileage=row.mileage,
            kind=row.kind,
            notes=row.notes,
            created_at=row.created_at,
        )


@strawberry.type(name="AutoReminder", description="A service or sales reminder due for a vehicle.")
class Reminder(Node):
    kind: ReminderKind
    due_on: date
    status: ReminderStatus
    task_id: strawberry.ID | None = strawberry.field(
        description="The follow-up task made for the customer's owner (null: the customer has no owner)."
    )
    created_at: datetime
    raw_vehicle_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def vehicle(self, info: Info[RequestContext, None]) -> Vehicle | None:
        from saas_automotive.graphql.contribution import load_vehicle

        return await load_vehicle(info.context, self.raw_vehicle_id)

    @classmethod
    def from_model(cls, row: models.Reminder) -> Reminder:
        return cls(
            id=ref("AutoReminder", row.id),
            kind=ReminderKind(row.kind),
            due_on=row.due_on,
            status=ReminderStatus(row.status),
            task_id=ref("Task", row.task_id) if row.task_id else None,
            created_at=row.created_at,
            raw_vehicle_id=row.vehicle_id,
        )


@strawberry.type(name="AutoVehicle", description="A customer's vehicle.")
class Vehicle(Node):
    vin: str
    make: str
    model: str
    year: int
    mileage: int = strawberry.field(description="The latest odometer reading in km; it never goes down.")
    mileage_read_at: datetime | None
    purchased_on: date | None
    warranty_ends_on: date | None
    finance_ends_on: date | None
    created_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    raw_customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Null when the caller may no longer see the customer.")
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.raw_customer_id)

    @strawberry.field(description="Newest first.")
    async def service_records(self, info: Info[RequestContext, None]) -> list[ServiceRecord]:
        return [ServiceRecord.from_model(r) for r in await loaders.service_records(info.context).load(self.raw_id)]

    @strawberry.field(description="By due date.")
    async def reminders(self, info: Info[RequestContext, None]) -> list[Reminder]:
        return [Reminder.from_model(r) for r in await loaders.reminders(info.context).load(self.raw_id)]

    @classmethod
    def from_model(cls, row: models.Vehicle) -> Vehicle:
        return cls(
            id=ref("AutoVehicle", row.id),
            vin=row.vin,
            make=row.make,
            model=row.model,
            year=row.year,
            mileage=row.mileage,
            mileage_read_at=row.mileage_read_at,
            purchased_on=row.purchased_on,
            warranty_ends_on=row.warranty_ends_on,
            finance_ends_on=row.finance_ends_on,
            created_at=row.created_at,
            raw_id=row.id,
            raw_customer_id=row.customer_id,
        )


@strawberry.type(name="AutoSupplier", description="A JIT parts supplier.")
class Supplier(Node):
    code: str
    name: str
    endpoint_url: str | None = strawberry.field(description="Where call-offs are sent (the `webhook` channel).")
    channel: str
    jit_window_minutes: int = strawberry.field(
        description="Parts arrive this long before the build slot; also the time the supplier has to confirm."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Supplier) -> Supplier:
        return cls(
            id=ref("AutoSupplier", row.id),
            code=row.code,
            name=row.name,
            endpoint_url=row.endpoint_url,
            channel=row.channel,
            jit_window_minutes=row.jit_window_minutes,
            created_at=row.created_at,
        )


async def _supplier(info: Info[RequestContext, None], supplier_id: uuid.UUID) -> Supplier:
    row = await loaders.suppliers(info.context).load(supplier_id)
    assert row is not None  # a composite foreign key guarantees it
    return Supplier.from_model(row)


@strawberry.type(name="AutoPart", description="A part and the supplier that delivers it.")
class Part(Node):
    part_number: str
    name: str
    lead_time_hours: int
    created_at: datetime
    raw_supplier_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def supplier(self, info: Info[RequestContext, None]) -> Supplier:
        return await _supplier(info, self.raw_supplier_id)

    @classmethod
    def from_model(cls, row: models.Part) -> Part:
        return cls(
            id=ref("AutoPart", row.id),
            part_number=row.part_number,
            name=row.name,
            lead_time_hours=row.lead_time_hours,
            created_at=row.created_at,
            raw_supplier_id=row.supplier_id,
        )


@strawberry.type(name="AutoCallOffLine")
class CallOffLine:
    quantity: int
    raw_part_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def part(self, info: Info[RequestContext, None]) -> Part:
        row = await loaders.parts(info.context).load(self.raw_part_id)
        assert row is not None
        return Part.from_model(row)

    @classmethod
    def from_model(cls, row: models.CallOffLine) -> CallOffLine:
        return cls(quantity=row.quantity, raw_part_id=row.part_id)


@strawberry.type(name="AutoCallOff", description="One supplier's share of a vehicle order.")
class CallOff(Node):
    due_at: datetime = strawberry.field(description="The build slot - the supplier's JIT window - the lead time.")
    confirm_by: datetime = strawberry.field(description="Unconfirmed after this, the call-off is overdue.")
    status: CallOffStatus
    note: str | None
    sent_at: datetime | None
    confirmed_at: datetime | None
    delivered_at: datetime | None
    overdue_at: datetime | None
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    raw_supplier_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def supplier(self, info: Info[RequestContext, None]) -> Supplier:
        return await _supplier(info, self.raw_supplier_id)

    @strawberry.field
    async def lines(self, info: Info[RequestContext, None]) -> list[CallOffLine]:
        return [CallOffLine.from_model(r) for r in await loaders.call_off_lines(info.context).load(self.raw_id)]

    @classmethod
    def from_model(cls, row: models.CallOff) -> CallOff:
        return cls(
            id=ref("AutoCallOff", row.id),
            due_at=row.due_at,
            confirm_by=row.confirm_by,
            status=CallOffStatus(row.status),
            note=row.note,
            sent_at=row.sent_at,
            confirmed_at=row.confirmed_at,
            delivered_at=row.delivered_at,
            overdue_at=row.overdue_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
            raw_supplier_id=row.supplier_id,
        )


@strawberry.type(name="AutoVehicleOrder", description="A vehicle to build, and the call-offs for its parts.")
class VehicleOrder(Node):
    model: str
    build_slot_at: datetime
    created_at: datetime
    raw_id: strawberry.Private[uuid.UUID]
    raw_customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def customer(self, info: Info[RequestContext, None]) -> Customer | None:
        return await customer_of(info.context, self.raw_customer_id)

    @strawberry.field(description="One per supplier, by due time.")
    async def call_offs(self, info: Info[RequestContext, None]) -> list[CallOff]:
        return [CallOff.from_model(r) for r in await loaders.order_call_offs(info.context).load(self.raw_id)]

    @classmethod
    def from_model(cls, row: models.VehicleOrder) -> VehicleOrder:
        return cls(
            id=ref("AutoVehicleOrder", row.id),
            model=row.model,
            build_slot_at=row.build_slot_at,
            created_at=row.created_at,
            raw_id=row.id,
            raw_customer_id=row.customer_id,
        )


@strawberry.type(name="AutoFreightLeg")
class FreightLeg:
    origin: str
    destination: str

    @classmethod
    def from_model(cls, row: models.FreightLeg) -> FreightLeg:
        return cls(origin=row.origin, destination=row.destination)


@strawberry.type(name="AutoTrackingEvent")
class TrackingEvent:
    at: datetime
    location: str
    status: FreightStatus
    eta: datetime | None
    note: str | None

    @classmethod
    def from_model(cls, row: models.TrackingEvent) -> TrackingEvent:
        return cls(at=row.at, location=row.location, status=FreightStatus(row.status), eta=row.eta, note=row.note)


@strawberry.type(name="AutoFreightShipment", description="Freight on its way, leg by leg, with its tracking.")
class FreightShipment(Node):
    carrier: str
    tracking_number: str
    status: FreightStatus
    planned_departure_at: datetime
    planned_arrival_at: datetime
    eta: datetime
    delay_minutes: int = strawberry.field(description="ETA - planned arrival, in minutes (negative: early).")
    cost: Decimal | None
    currency: str | None
    delayed_at: datetime | None = strawberry.field(description="When the delay threshold was crossed (notified once).")
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="In travel order.")
    async def legs(self, info: Info[RequestContext, None]) -> list[FreightLeg]:
        return [FreightLeg.from_model(r) for r in await loaders.legs(info.context).load(self.raw_id)]

    @strawberry.field(description="Oldest first.")
    async def events(self, info: Info[RequestContext, None]) -> list[TrackingEvent]:
        return [TrackingEvent.from_model(r) for r in await loaders.tracking(info.context).load(self.raw_id)]

    @classmethod
    def from_model(cls, row: models.FreightShipment) -> FreightShipment:
        return cls(
            id=ref("AutoFreightShipment", row.id),
            carrier=row.carrier,
            tracking_number=row.tracking_number,
            status=FreightStatus(row.status),
            planned_departure_at=row.planned_departure_at,
            planned_arrival_at=row.planned_arrival_at,
            eta=row.eta,
            delay_minutes=int((row.eta - row.planned_arrival_at).total_seconds() // 60),
            cost=row.cost,
            currency=row.currency,
            delayed_at=row.delayed_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
        )


@strawberry.type(name="AutoReminderRule", description="When vehicles get a reminder and their owner a task.")
class ReminderRule(Node):
    kind: ReminderKind
    every_km: int | None
    every_months: int | None
    days_before: int | None = strawberry.field(description="Lead time; null: the tenant's reminderDaysBefore.")
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.ReminderRule) -> ReminderRule:
        return cls(
            id=ref("AutoReminderRule", row.id),
            kind=ReminderKind(row.kind),
            every_km=row.every_km,
            every_months=row.every_months,
            days_before=row.days_before,
            active=row.active,
            created_at=row.created_at,
        )


@strawberry.type(name="AutoSupplierPerformance", description="A supplier's call-offs due in the period.")
class SupplierPerformance:
    call_offs: int
    on_time_rate: Decimal | None = strawberry.field(description="Delivered by the due time / delivered (0 to 1).")
    mean_lead_time_hours: Decimal | None = strawberry.field(description="Mean hours from sending to delivery.")
    rejected: int
    raw_supplier_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def supplier(self, info: Info[RequestContext, None]) -> Supplier:
        return await _supplier(info, self.raw_supplier_id)


@strawberry.type
class VehicleCustomerFields:
    """Fields added to the core `Customer` type (`GraphQLContribution.type_fields`)."""

    @strawberry.field(description="The customer's vehicles, newest first (`auto:vehicles:read`).")
    async def vehicles(self, info: Info[RequestContext, None], customer: strawberry.Parent[Customer]) -> list[Vehicle]:
        from saas_automotive.graphql.queries import customer_vehicles

        return await customer_vehicles(info, customer.id)


TYPES: tuple[type, ...] = (
    Vehicle,
    ServiceRecord,
    Reminder,
    Supplier,
    Part,
    CallOff,
    VehicleOrder,
    FreightShipment,
    ReminderRule,
)
