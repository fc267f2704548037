"""Root query fields of the plugin: each list and object compiled into one SQL statement.

The conditions below are the services' rules written over the alias `r` (vehicles: the core's
customer visibility; call-offs: a supplier key's own supplier); a selection that cannot compile
goes through the resolvers with the same rows in the same order.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import (
    CountedConnection,
    ForbiddenError,
    Principal,
    RequestContext,
    SqlCondition,
    compiled_list,
    compiled_page,
    decode_id,
    require,
    single_object,
)
from saas_automotive import models
from saas_automotive.graphql import loaders, sql, types
from saas_automotive.rules import FREIGHT_READ, SUPPLY_READ, VEHICLES_READ
from saas_automotive.service import call_offs, reminders, suppliers
from saas_automotive.service.common import Actor, acting, is_supplier_key
from saas_automotive.service.vehicles import vehicle_condition

MAX_SEARCH = 100


def _staff(context: RequestContext, permission: str) -> Principal:
    """The caller, who must be staff (a supplier key is refused) holding `permission`."""
    principal = context.require_principal()
    if is_supplier_key(principal):
        raise ForbiddenError("Not available to supplier keys")
    require(principal.permissions, permission)
    return principal


async def read(info: Info[RequestContext, None], work: Any, *args: Any) -> Any:
    """The service `work(session, actor, *args)` on the request's read session."""
    return await info.context.read(acting(work), info.context.require_principal(), *args)


def vehicles_condition(context: RequestContext) -> SqlCondition:
    return vehicle_condition(Actor(_staff(context, VEHICLES_READ)), "r")


def staff_condition(context: RequestContext, permission: str) -> SqlCondition:
    _staff(context, permission)
    return SqlCondition()


def call_off_condition(context: RequestContext) -> SqlCondition:
    """Staff with `auto:supply:read` see every call-off; a supplier key those of its own supplier
    (the binding read by the statement itself; a key bound to none sees nothing)."""
    principal = context.require_principal()
    condition = SqlCondition()
    if is_supplier_key(principal):
        condition.add(
            "r.supplier_id IN (SELECT sk.supplier_id FROM auto_supplier_keys sk WHERE sk.api_key_id = :own_key)",
            own_key=principal.api_key_id,
        )
    else:
        _staff(context, SUPPLY_READ)
    return condition


def service_record_condition(context: RequestContext) -> SqlCondition:
    """Service records of the vehicles the caller sees."""
    inner = vehicle_condition(Actor(_staff(context, VEHICLES_READ)), "rv")
    condition = SqlCondition()
    if inner.parts:
        condition.add(
            f"EXISTS (SELECT 1 FROM auto_vehicles rv WHERE rv.id = r.vehicle_id AND {inner.sql})", **inner.params
        )
    return condition


def reminder_condition(context: RequestContext) -> SqlCondition:
    inner = vehicle_condition(Actor(_staff(context, VEHICLES_READ)), "rv")
    condition = SqlCondition()
    if inner.parts:
        condition.add(
            f"EXISTS (SELECT 1 FROM auto_vehicles rv WHERE rv.id = r.vehicle_id AND {inner.sql})", **inner.params
        )
    return condition


@strawberry.input(name="AutoVehicleFilterInput", description="All given conditions must hold.")
class VehicleFilterInput:
    customer_id: strawberry.ID | None = None
    vin: str | None = strawberry.field(default=None, description="Exact VIN (any case).")
    search: str | None = strawberry.field(default=None, description="Part of the VIN, make or model.")

    def apply(self, condition: SqlCondition) -> None:
        condition.given("r.customer_id", "f_customer", self.customer_id, convert=lambda v: decode_id(v, "Customer"))
        condition.given("r.vin", "f_vin", self.vin, convert=lambda v: v.strip().upper()[:17])
        if self.search:
            term = "%" + self.search[:MAX_SEARCH].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            condition.add("(r.vin ILIKE :f_search OR r.make ILIKE :f_search OR r.model ILIKE :f_search)", f_search=term)


@strawberry.input(name="AutoCallOffFilterInput")
class CallOffFilterInput:
    supplier_id: strawberry.ID | None = None
    status: types.CallOffStatus | None = None

    def apply(self, condition: SqlCondition) -> None:
        condition.given("r.supplier_id", "f_supplier", self.supplier_id, convert=lambda v: decode_id(v, "AutoSupplier"))
        condition.given("r.status", "f_status", self.status, convert=lambda v: v.value)


@strawberry.input(name="AutoFreightFilterInput")
class FreightFilterInput:
    status: types.FreightStatus | None = None
    call_off_id: strawberry.ID | None = None

    def apply(self, condition: SqlCondition) -> None:
        condition.given("r.status", "f_status", self.status, convert=lambda v: v.value)
        condition.given("r.call_off_id", "f_call_off", self.call_off_id, convert=lambda v: decode_id(v, "AutoCallOff"))


@strawberry.input(name="AutoReminderFilterInput")
class ReminderFilterInput:
    kind: types.ReminderKind | None = None
    status: types.ReminderStatus | None = None
    due_before: date | None = None

    def apply(self, condition: SqlCondition) -> None:
        condition.given("r.kind", "f_kind", self.kind, convert=lambda v: v.value)
        condition.given("r.status", "f_status", self.status, convert=lambda v: v.value)
        condition.given("r.due_on", "f_due_before", self.due_before, op="<")


async def load_vehicle(context: RequestContext, raw_id: uuid.UUID) -> types.Vehicle | None:
    from saas_automotive.graphql.contribution import load_vehicle as load

    return await load(context, raw_id)


async def customer_vehicles(info: Info[RequestContext, None], customer_gid: str) -> list[types.Vehicle]:
    """`Customer.vehicles`: the customer's vehicles the caller sees, newest first; one statement for
    every customer of the page (a loader), whatever the page's size."""
    actor = Actor(_staff(info.context, VEHICLES_READ))
    rows = await loaders.customer_vehicles(info.context, actor).load(decode_id(customer_gid, "Customer"))
    return [types.Vehicle.from_model(row) for row in rows]


@strawberry.type
class AutomotiveQueries:
    @strawberry.field(description="Vehicles of the customers the caller sees, newest first (`auto:vehicles:read`).")
    async def vehicles(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: VehicleFilterInput | None = None,
    ) -> CountedConnection[types.Vehicle]:
        condition = vehicles_condition(info.context)
        if filter is not None:
            filter.apply(condition)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.VEHICLE, models.Vehicle, types.Vehicle.from_model, condition, sql.VEHICLE_SORT, first, after
        )

    @strawberry.field(description="One vehicle; NOT_FOUND if it does not exist or its customer is not visible.")
    async def vehicle(self, info: Info[RequestContext, None], id: strawberry.ID) -> types.Vehicle:
        condition = vehicles_condition(info.context)
        return await single_object(info, sql.VEHICLE, decode_id(id, "AutoVehicle"), condition, load_vehicle)  # type: ignore[no-any-return]

    @strawberry.field(description="Suppliers by code (`auto:supply:read`; a supplier key: its own).")
    async def suppliers(self, info: Info[RequestContext, None]) -> list[types.Supplier]:
        principal = info.context.require_principal()
        condition = SqlCondition()
        if is_supplier_key(principal):
            condition.add(
                "r.id IN (SELECT sk.supplier_id FROM auto_supplier_keys sk WHERE sk.api_key_id = :own_key)",
                own_key=principal.api_key_id,
            )
        else:
            _staff(info.context, SUPPLY_READ)

        async def fallback(context: RequestContext) -> list[types.Supplier]:
            rows = await read(info, suppliers.list_suppliers)
            return [types.Supplier.from_model(row) for row in rows]

        return await compiled_list(info, sql.SUPPLIER, condition, "r.code, r.id", lambda: fallback(info.context))  # type: ignore[no-any-return]

    @strawberry.field(description="Call-offs, newest first (`auto:supply:read`; a supplier key: its own only).")
    async def call_offs(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: CallOffFilterInput | None = None,
    ) -> CountedConnection[types.CallOff]:
        condition = call_off_condition(info.context)
        if filter is not None:
            filter.apply(condition)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.CALL_OFF, models.CallOff, types.CallOff.from_model, condition, sql.CALL_OFF_SORT, first, after
        )

    @strawberry.field(description="Freight shipments, newest first (`auto:freight:read`).")
    async def freight_shipments(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: FreightFilterInput | None = None,
    ) -> CountedConnection[types.FreightShipment]:
        condition = staff_condition(info.context, FREIGHT_READ)
        if filter is not None:
            filter.apply(condition)
        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.FREIGHT_SHIPMENT,
            models.FreightShipment,
            types.FreightShipment.from_model,
            condition,
            sql.FREIGHT_SORT,
            first,
            after,
        )

    @strawberry.field(description="The tenant's reminder rules, oldest first (`auto:vehicles:read`).")
    async def reminder_rules(self, info: Info[RequestContext, None]) -> list[types.ReminderRule]:
        condition = staff_condition(info.context, VEHICLES_READ)

        async def fallback(context: RequestContext) -> list[types.ReminderRule]:
            rows = await read(info, reminders.list_rules)
            return [types.ReminderRule.from_model(row) for row in rows]

        return await compiled_list(
            info, sql.REMINDER_RULE, condition, "r.created_at, r.id", lambda: fallback(info.context)
        )  # type: ignore[no-any-return]

    @strawberry.field(description="Reminders of the vehicles the caller sees, newest first (`auto:vehicles:read`).")
    async def vehicle_reminders(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ReminderFilterInput | None = None,
    ) -> CountedConnection[types.Reminder]:
        condition = reminder_condition(info.context)
        if filter is not None:
            filter.apply(condition)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.REMINDER, models.Reminder, types.Reminder.from_model, condition, sql.REMINDER_SORT, first, after
        )

    @strawberry.field(
        description="Per supplier, its call-offs due from `from` to `to` (inclusive): on-time rate, mean lead "
        "time, rejections, computed in one SQL statement (`auto:supply:read`)."
    )
    async def supplier_performance(
        self,
        info: Info[RequestContext, None],
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> list[types.SupplierPerformance]:
        _staff(info.context, SUPPLY_READ)
        call_offs.check_performance_period(from_, to)
        condition = SqlCondition(params={"start": from_, "stop": to})  # the aggregate's period

        async def fallback() -> list[types.SupplierPerformance]:
            found = await read(info, call_offs.supplier_performance, from_, to)
            return [
                types.SupplierPerformance(
                    call_offs=p.call_offs,
                    on_time_rate=p.on_time_rate,
                    mean_lead_time_hours=p.mean_lead_time_hours,
                    rejected=p.rejected,
                    raw_supplier_id=p.supplier_id,
                )
                for p in found
            ]

        # The aggregate and each row's supplier in one compiled statement, by supplier code.
        return await compiled_list(info, sql.SUPPLIER_PERFORMANCE, condition, "r.code, r.supplier_id", fallback)  # type: ignore[no-any-return]
