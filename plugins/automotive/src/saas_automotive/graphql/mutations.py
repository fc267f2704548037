"""Root mutation fields of the plugin: one `input`, a payload with `userErrors` (the core's conventions).

Each runs its service in its own transaction through the kit (`run_mutation`: ids named inside the
input become `userErrors` with `referenced_id`); services take the actor (`acting`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import Payload, RequestContext, referenced_id, run_mutation, seal_secret
from saas_automotive.graphql import types
from saas_automotive.service import call_offs, freight, reminders, suppliers, vehicles
from saas_automotive.service.common import acting

# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(name="AutoRegisterVehicleInput")
class RegisterVehicleInput:
    customer_id: strawberry.ID
    vin: str
    make: str
    model: str
    year: int
    mileage: int | None = None
    purchased_on: date | None = None
    warranty_ends_on: date | None = None
    finance_ends_on: date | None = None


@strawberry.input(name="AutoRecordMileageInput")
class RecordMileageInput:
    vehicle_id: strawberry.ID
    mileage: int
    read_at: datetime | None = None


@strawberry.input(name="AutoRecordServiceInput")
class RecordServiceInput:
    vehicle_id: strawberry.ID
    performed_on: date
    mileage: int
    kind: str
    notes: str | None = None


@strawberry.input(name="AutoCreateSupplierInput")
class CreateSupplierInput:
    code: str
    name: str
    jit_window_minutes: int
    endpoint_url: str | None = None
    channel: str | None = strawberry.field(default=None, description="A supplier channel; `webhook` by default.")


@strawberry.input(name="AutoCreateSupplierApiKeyInput")
class CreateSupplierApiKeyInput:
    supplier_id: strawberry.ID
    name: str


@strawberry.input(name="AutoCreatePartInput")
class CreatePartInput:
    supplier_id: strawberry.ID
    part_number: str
    name: str
    lead_time_hours: int


@strawberry.input(name="AutoOrderPartInput")
class OrderPartInput:
    part_id: strawberry.ID
    quantity: int


@strawberry.input(name="AutoCreateVehicleOrderInput")
class CreateVehicleOrderInput:
    customer_id: strawberry.ID
    model: str
    build_slot_at: datetime
    parts: list[OrderPartInput]


@strawberry.input(name="AutoUpdateCallOffStatusInput")
class UpdateCallOffStatusInput:
    id: strawberry.ID
    status: types.CallOffStatus
    note: str | None = None


@strawberry.input(name="AutoFreightLegInput")
class FreightLegInput:
    origin: str
    destination: str


@strawberry.input(name="AutoCreateFreightShipmentInput")
class CreateFreightShipmentInput:
    carrier: str
    tracking_number: str
    legs: list[FreightLegInput]
    planned_departure_at: datetime
    planned_arrival_at: datetime
    call_off_id: strawberry.ID | None = None
    cost: Decimal | None = None
    currency: str | None = None


@strawberry.input(name="AutoAddTrackingEventInput")
class AddTrackingEventInput:
    shipment_id: strawberry.ID
    at: datetime
    location: str
    status: types.FreightStatus
    eta: datetime | None = None
    note: str | None = None


@strawberry.input(name="AutoCreateReminderRuleInput")
class CreateReminderRuleInput:
    kind: types.ReminderKind
    every_km: int | None = None
    every_months: int | None = None
    days_before: int | None = None


# -- payloads -----------------------------------------------------------------------------------


@strawberry.type(name="AutoVehiclePayload")
class VehiclePayload(Payload):
    vehicle: types.Vehicle | None = None


@strawberry.type(name="AutoRecordServicePayload")
class RecordServicePayload(Payload):
    service_record: types.ServiceRecord | None = None
    vehicle: types.Vehicle | None = None


@strawberry.type(name="AutoCreateSupplierPayload")
class CreateSupplierPayload(Payload):
    supplier: types.Supplier | None = None
    signing_secret: str | None = strawberry.field(
        default=None, description="Shown once: the secret call-offs to the endpoint are signed with."
    )


@strawberry.type(name="AutoCreateSupplierApiKeyPayload")
class CreateSupplierApiKeyPayload(Payload):
    supplier: types.Supplier | None = None
    api_key_id: strawberry.ID | None = None
    key: str | None = strawberry.field(
        default=None, description="Shown once: the supplier's `Authorization: Bearer` key."
    )


@strawberry.type(name="AutoCreatePartPayload")
class CreatePartPayload(Payload):
    part: types.Part | None = None


@strawberry.type(name="AutoCreateVehicleOrderPayload")
class CreateVehicleOrderPayload(Payload):
    order: types.VehicleOrder | None = None


@strawberry.type(name="AutoCallOffPayload")
class CallOffPayload(Payload):
    call_off: types.CallOff | None = None


@strawberry.type(name="AutoFreightShipmentPayload")
class FreightShipmentPayload(Payload):
    shipment: types.FreightShipment | None = None


@strawberry.type(name="AutoReminderRulePayload")
class ReminderRulePayload(Payload):
    rule: types.ReminderRule | None = None


# -- mutations ----------------------------------------------------------------------------------


async def _write(info: Info[RequestContext, None], work: Any, *args: Any) -> Any:
    """`work(session, actor, *args)` in its own transaction, inside a `run_mutation` body."""
    context = info.context
    return await context.write(acting(work), context.require_principal(), *args)


@strawberry.type
class AutomotiveMutations:
    @strawberry.mutation(
        description="A vehicle of a visible customer (`auto:vehicles:write`): VIN of 17 characters without I, O, Q "
        "(INVALID_VIN), its check digit verified when the tenant's strictVin is on (VIN_CHECK_DIGIT), unique (TAKEN)."
    )
    async def register_vehicle(self, info: Info[RequestContext, None], input: RegisterVehicleInput) -> VehiclePayload:
        async def run() -> dict[str, Any]:
            customer = referenced_id(input.customer_id, "Customer", "customerId")
            data = {
                "vin": input.vin,
                "make": input.make,
                "model": input.model,
                "year": input.year,
                "mileage": input.mileage,
                "purchased_on": input.purchased_on,
                "warranty_ends_on": input.warranty_ends_on,
                "finance_ends_on": input.finance_ends_on,
            }
            return {"vehicle": types.Vehicle.from_model(await _write(info, vehicles.register_vehicle, customer, data))}

        return await run_mutation(run, VehiclePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="An odometer reading; below the vehicle's mileage is MILEAGE_DECREASE.")
    async def record_mileage(self, info: Info[RequestContext, None], input: RecordMileageInput) -> VehiclePayload:
        async def run() -> dict[str, Any]:
            vehicle = referenced_id(input.vehicle_id, "AutoVehicle", "vehicleId")
            row = await _write(info, vehicles.record_mileage, vehicle, input.mileage, input.read_at)
            return {"vehicle": types.Vehicle.from_model(row)}

        return await run_mutation(run, VehiclePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="A service in the vehicle's history (its mileage may not go down either).")
    async def record_service(self, info: Info[RequestContext, None], input: RecordServiceInput) -> RecordServicePayload:
        async def run() -> dict[str, Any]:
            vehicle = referenced_id(input.vehicle_id, "AutoVehicle", "vehicleId")
            data = {
                "performed_on": input.performed_on,
                "mileage": input.mileage,
                "kind": input.kind,
                "notes": input.notes,
            }
            record = await _write(info, vehicles.record_service, vehicle, data)
            row = await info.context.read(acting(vehicles.visible_vehicle), info.context.require_principal(), vehicle)
            return {"service_record": types.ServiceRecord.from_model(record), "vehicle": types.Vehicle.from_model(row)}

        return await run_mutation(run, RecordServicePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A supplier (`auto:supply:write`); its code is unique (TAKEN). With an endpoint, call-offs are "
        "sent there signed with the secret shown once."
    )
    async def create_supplier(
        self, info: Info[RequestContext, None], input: CreateSupplierInput
    ) -> CreateSupplierPayload:
        async def run() -> dict[str, Any]:
            data = {
                "code": input.code,
                "name": input.name,
                "endpoint_url": input.endpoint_url,
                "jit_window_minutes": input.jit_window_minutes,
                "channel": input.channel,
            }

            def seal(plain: str) -> str:
                return seal_secret(info.context, plain)

            supplier, secret = await _write(info, suppliers.create_supplier, data, seal)
            return {"supplier": types.Supplier.from_model(supplier), "signing_secret": secret}

        return await run_mutation(run, CreateSupplierPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="An API key for the supplier's integration (owners and admins): it sees only that supplier's "
        "call-offs and moves them only as a supplier may (confirm, reject, ship). Revoke it with revokeApiKey."
    )
    async def create_supplier_api_key(
        self, info: Info[RequestContext, None], input: CreateSupplierApiKeyInput
    ) -> CreateSupplierApiKeyPayload:
        async def run() -> dict[str, Any]:
            supplier_id = referenced_id(input.supplier_id, "AutoSupplier", "supplierId")
            supplier, key_id, key = await _write(info, suppliers.create_supplier_key, supplier_id, input.name)
            return {
                "supplier": types.Supplier.from_model(supplier),
                "api_key_id": types.ref("ApiKey", key_id),
                "key": key,
            }

        return await run_mutation(run, CreateSupplierApiKeyPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="A part of a supplier (`auto:supply:write`); its number is unique (TAKEN).")
    async def create_part(self, info: Info[RequestContext, None], input: CreatePartInput) -> CreatePartPayload:
        async def run() -> dict[str, Any]:
            supplier_id = referenced_id(input.supplier_id, "AutoSupplier", "supplierId")
            data = {"part_number": input.part_number, "name": input.name, "lead_time_hours": input.lead_time_hours}
            return {"part": types.Part.from_model(await _write(info, suppliers.create_part, supplier_id, data))}

        return await run_mutation(run, CreatePartPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A vehicle order (`auto:supply:write`): one call-off per supplier of its parts, due at the build "
        "slot - the supplier's JIT window - the lead time, sent to the supplier."
    )
    async def create_vehicle_order(
        self, info: Info[RequestContext, None], input: CreateVehicleOrderInput
    ) -> CreateVehicleOrderPayload:
        async def run() -> dict[str, Any]:
            customer = referenced_id(input.customer_id, "Customer", "customerId")
            lines = [
                call_offs.PartLine(referenced_id(line.part_id, "AutoPart", "parts", index, "partId"), line.quantity)
                for index, line in enumerate(input.parts)
            ]
            data = {"model": input.model, "build_slot_at": input.build_slot_at}
            order, _ = await _write(info, call_offs.create_vehicle_order, customer, data, lines)
            return {"order": types.VehicleOrder.from_model(order)}

        return await run_mutation(run, CreateVehicleOrderPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Moves a call-off on (CREATED → SENT → CONFIRMED → SHIPPED → DELIVERED, REJECTED before "
        "shipping); a supplier key only confirms, rejects or ships its own. INVALID_STATUS_TRANSITION otherwise."
    )
    async def update_call_off_status(
        self, info: Info[RequestContext, None], input: UpdateCallOffStatusInput
    ) -> CallOffPayload:
        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "AutoCallOff", "id")
            row = await _write(info, call_offs.update_status, raw_id, input.status.value, input.note)
            return {"call_off": types.CallOff.from_model(row)}

        return await run_mutation(run, CallOffPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A freight shipment with its legs (`auto:freight:write`), optionally for a call-off."
    )
    async def create_freight_shipment(
        self, info: Info[RequestContext, None], input: CreateFreightShipmentInput
    ) -> FreightShipmentPayload:
        async def run() -> dict[str, Any]:
            call_off = referenced_id(input.call_off_id, "AutoCallOff", "callOffId")
            data = {
                "carrier": input.carrier,
                "tracking_number": input.tracking_number,
                "planned_departure_at": input.planned_departure_at,
                "planned_arrival_at": input.planned_arrival_at,
                "cost": input.cost,
                "currency": input.currency,
            }
            legs = [(leg.origin, leg.destination) for leg in input.legs]
            row = await _write(info, freight.create_shipment, call_off, data, legs)
            return {"shipment": types.FreightShipment.from_model(row)}

        return await run_mutation(run, FreightShipmentPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A tracking event: the shipment takes its status and ETA; an ETA past the tenant's delay "
        "threshold notifies the shipment's owner once (`auto.freight.delayed`)."
    )
    async def add_tracking_event(
        self, info: Info[RequestContext, None], input: AddTrackingEventInput
    ) -> FreightShipmentPayload:
        async def run() -> dict[str, Any]:
            shipment = referenced_id(input.shipment_id, "AutoFreightShipment", "shipmentId")
            data = {
                "at": input.at,
                "location": input.location,
                "status": input.status.value,
                "eta": input.eta,
                "note": input.note,
            }
            row = await _write(info, freight.add_tracking_event, shipment, data)
            return {"shipment": types.FreightShipment.from_model(row)}

        return await run_mutation(run, FreightShipmentPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="A reminder rule (`auto:reminders:manage`): SERVICE_MILEAGE needs everyKm, SERVICE_TIME "
        "everyMonths; WARRANTY_END and FINANCE_END use the vehicle's dates."
    )
    async def create_reminder_rule(
        self, info: Info[RequestContext, None], input: CreateReminderRuleInput
    ) -> ReminderRulePayload:
        async def run() -> dict[str, Any]:
            data = {
                "kind": input.kind.value,
                "everyKm": input.every_km,
                "everyMonths": input.every_months,
                "daysBefore": input.days_before,
            }
            return {"rule": types.ReminderRule.from_model(await _write(info, reminders.create_rule, data))}

        return await run_mutation(run, ReminderRulePayload)  # type: ignore[no-any-return]
