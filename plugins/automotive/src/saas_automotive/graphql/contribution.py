"""The plugin's GraphQL contribution: types, root fields, the subscription, `Customer.vehicles`, and
`node(id)` reads (compiled, with the same conditions as the type's own query)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from saas.plugin_api import CompiledNode, GraphQLContribution, NotFoundError, RequestContext
from saas_automotive.graphql import queries, sql, types
from saas_automotive.graphql.mutations import AutomotiveMutations
from saas_automotive.graphql.queries import AutomotiveQueries
from saas_automotive.graphql.subscriptions import AutomotiveSubscriptions
from saas_automotive.rules import FREIGHT_READ, SUPPLY_READ, VEHICLES_READ
from saas_automotive.service import call_offs, freight, reminders, suppliers, vehicles
from saas_automotive.service.common import acting


def _loader(
    work: Callable[..., Any], to_type: Callable[[Any], Any]
) -> Callable[[RequestContext, uuid.UUID], Awaitable[Any]]:
    async def load(context: RequestContext, raw_id: uuid.UUID) -> Any:
        try:
            row = await context.read(acting(work), context.require_principal(), raw_id)
        except NotFoundError:
            return None
        return to_type(row)

    return load


load_vehicle = _loader(vehicles.visible_vehicle, types.Vehicle.from_model)


def _get_rule(session: Any, actor: Any, raw_id: uuid.UUID) -> Any:
    for rule in reminders.list_rules(session, actor):
        if rule.id == raw_id:
            return rule
    raise NotFoundError("Reminder rule not found")


def _staff(permission: str) -> Callable[[RequestContext], Any]:
    def condition(context: RequestContext) -> Any:
        return queries.staff_condition(context, permission)

    return condition


async def _load_reminder(context: RequestContext, raw_id: uuid.UUID) -> Any:
    return await context.read(acting(_reminder), context.require_principal(), raw_id)


def _reminder(session: Any, actor: Any, raw_id: uuid.UUID) -> Any:
    """A reminder of a vehicle the actor sees (the fallback of `node(id)` when `vehicle` is selected)."""
    from sqlalchemy import select, text

    from saas_automotive.models import Reminder, Vehicle

    condition = vehicles.vehicle_condition(actor, "auto_vehicles")
    visible = select(Vehicle.id)
    if condition.parts:
        visible = visible.where(text(condition.sql).bindparams(**condition.params))
    row = session.scalars(select(Reminder).where(Reminder.id == raw_id, Reminder.vehicle_id.in_(visible))).first()
    return types.Reminder.from_model(row) if row is not None else None


COMPILED = {
    "AutoVehicle": CompiledNode(sql.VEHICLE, (queries.vehicles_condition), load_vehicle),
    "AutoSupplier": CompiledNode(
        sql.SUPPLIER, (_staff(SUPPLY_READ)), _loader(suppliers.get_supplier, types.Supplier.from_model)
    ),
    "AutoCallOff": CompiledNode(
        sql.CALL_OFF, (queries.call_off_condition), _loader(call_offs.get_call_off, types.CallOff.from_model)
    ),
    "AutoVehicleOrder": CompiledNode(
        sql.VEHICLE_ORDER, (_staff(SUPPLY_READ)), _loader(call_offs.get_order, types.VehicleOrder.from_model)
    ),
    "AutoFreightShipment": CompiledNode(
        sql.FREIGHT_SHIPMENT,
        (_staff(FREIGHT_READ)),
        _loader(freight.get_shipment, types.FreightShipment.from_model),
    ),
    "AutoReminderRule": CompiledNode(
        sql.REMINDER_RULE, (_staff(VEHICLES_READ)), _loader(_get_rule, types.ReminderRule.from_model)
    ),
    "AutoReminder": CompiledNode(sql.REMINDER, queries.reminder_condition, _load_reminder),
    "AutoPart": CompiledNode(sql.PART, _staff(SUPPLY_READ), _loader(suppliers.get_part, types.Part.from_model)),
    "AutoServiceRecord": CompiledNode(
        sql.SERVICE_RECORD,
        queries.service_record_condition,
        _loader(vehicles.get_service_record, types.ServiceRecord.from_model),
    ),
}

contribution = GraphQLContribution(
    types=types.TYPES,
    queries=(AutomotiveQueries,),
    mutations=(AutomotiveMutations,),
    subscriptions=(AutomotiveSubscriptions,),
    compiled_nodes=COMPILED,
    type_fields={"Customer": (types.VehicleCustomerFields,)},
    sql_fields={"Customer": sql.CUSTOMER_FIELDS},
)
