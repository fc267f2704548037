"""How the plugin's types map to SQL for the compiled reads (one statement per list or object).

Decimals are written as JSON strings (`numeric::text`, as the `Decimal` scalar serialises them),
enums as their GraphQL names (`upper(value)`), dates as ISO strings. A vehicle's `customer` maps
only the customer's id and name (a customer not deleted; the vehicle is visible only when its
customer is): a selection of more goes through the resolvers and the core's customer loader.
`CUSTOMER_FIELDS` maps the field the plugin adds to the core `Customer` (`vehicles`), so that the
core's compiled reads of customers write it in their one statement.
"""

from __future__ import annotations

from typing import Any

from saas.plugin_api import (
    ForbiddenError,
    Principal,
    Relation,
    SortKey,
    SqlCondition,
    SqlType,
    global_id_sql,
    iso_datetime_sql,
)
from saas_automotive.service.call_offs import PERFORMANCE_ROWS
from saas_automotive.service.common import Actor, is_supplier_key
from saas_automotive.service.vehicles import vehicle_condition


def _join(key: str, parent_column: str) -> str:
    """`{t}.key = {p}.parent_column` (the compiler adds the target's tenant predicate)."""
    return f"{{t}}.{key} = {{p}}.{parent_column}"


def _money(column: str) -> str:
    return f"({column})::text"


CUSTOMER_REF: SqlType = SqlType(
    name="Customer",
    table="customers",
    columns={"id": global_id_sql("Customer", "{t}.id"), "name": "{t}.name"},
)

SERVICE_RECORD: SqlType = SqlType(
    name="AutoServiceRecord",
    table="auto_service_records",
    columns={
        "id": global_id_sql("AutoServiceRecord", "{t}.id"),
        "performedOn": "{t}.performed_on",
        "mileage": "{t}.mileage",
        "kind": "{t}.kind",
        "notes": "{t}.notes",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

REMINDER: SqlType = SqlType(
    name="AutoReminder",
    table="auto_reminders",
    columns={
        "id": global_id_sql("AutoReminder", "{t}.id"),
        "kind": "upper({t}.kind)",
        "dueOn": "{t}.due_on",
        "status": "upper({t}.status)",
        "taskId": global_id_sql("Task", "{t}.task_id"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={"vehicle": Relation(lambda: VEHICLE, "auto_vehicles", _join("id", "vehicle_id"))},
)

VEHICLE: SqlType = SqlType(
    name="AutoVehicle",
    table="auto_vehicles",
    columns={
        "id": global_id_sql("AutoVehicle", "{t}.id"),
        "vin": "{t}.vin",
        "make": "{t}.make",
        "model": "{t}.model",
        "year": "{t}.year",
        "mileage": "{t}.mileage",
        "mileageReadAt": iso_datetime_sql("{t}.mileage_read_at"),
        "purchasedOn": "{t}.purchased_on",
        "warrantyEndsOn": "{t}.warranty_ends_on",
        "financeEndsOn": "{t}.finance_ends_on",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "customer": Relation(
            lambda: CUSTOMER_REF, "customers", _join("id", "customer_id") + " AND {t}.deleted_at IS NULL"
        ),
        "serviceRecords": Relation(
            lambda: SERVICE_RECORD,
            "auto_service_records",
            _join("vehicle_id", "id"),
            order="{t}.performed_on DESC, {t}.id",
        ),
        "reminders": Relation(
            lambda: REMINDER, "auto_reminders", _join("vehicle_id", "id"), order="{t}.due_on, {t}.id"
        ),
    },
)
VEHICLE_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)

SUPPLIER: SqlType = SqlType(
    name="AutoSupplier",
    table="auto_suppliers",
    columns={
        "id": global_id_sql("AutoSupplier", "{t}.id"),
        "code": "{t}.code",
        "name": "{t}.name",
        "endpointUrl": "{t}.endpoint_url",
        "channel": "{t}.channel",
        "jitWindowMinutes": "{t}.jit_window_minutes",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

PART: SqlType = SqlType(
    name="AutoPart",
    table="auto_parts",
    columns={
        "id": global_id_sql("AutoPart", "{t}.id"),
        "partNumber": "{t}.part_number",
        "name": "{t}.name",
        "leadTimeHours": "{t}.lead_time_hours",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={"supplier": Relation(lambda: SUPPLIER, "auto_suppliers", _join("id", "supplier_id"))},
)

CALL_OFF_LINE: SqlType = SqlType(
    name="AutoCallOffLine",
    table="auto_call_off_lines",
    columns={"quantity": "{t}.quantity"},
    relations={"part": Relation(lambda: PART, "auto_parts", _join("id", "part_id"))},
    interfaces=frozenset(),
)

CALL_OFF: SqlType = SqlType(
    name="AutoCallOff",
    table="auto_call_offs",
    columns={
        "id": global_id_sql("AutoCallOff", "{t}.id"),
        "dueAt": iso_datetime_sql("{t}.due_at"),
        "confirmBy": iso_datetime_sql("{t}.confirm_by"),
        "status": "upper({t}.status)",
        "note": "{t}.note",
        "sentAt": iso_datetime_sql("{t}.sent_at"),
        "confirmedAt": iso_datetime_sql("{t}.confirmed_at"),
        "deliveredAt": iso_datetime_sql("{t}.delivered_at"),
        "overdueAt": iso_datetime_sql("{t}.overdue_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        "supplier": Relation(lambda: SUPPLIER, "auto_suppliers", _join("id", "supplier_id")),
        "lines": Relation(lambda: CALL_OFF_LINE, "auto_call_off_lines", _join("call_off_id", "id"), order="{t}.id"),
    },
)
CALL_OFF_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)

VEHICLE_ORDER: SqlType = SqlType(
    name="AutoVehicleOrder",
    table="auto_vehicle_orders",
    columns={
        "id": global_id_sql("AutoVehicleOrder", "{t}.id"),
        "model": "{t}.model",
        "buildSlotAt": iso_datetime_sql("{t}.build_slot_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "callOffs": Relation(lambda: CALL_OFF, "auto_call_offs", _join("order_id", "id"), order="{t}.due_at, {t}.id"),
    },
)

FREIGHT_LEG: SqlType = SqlType(
    name="AutoFreightLeg",
    table="auto_freight_legs",
    columns={"origin": "{t}.origin", "destination": "{t}.destination"},
    interfaces=frozenset(),
)

TRACKING_EVENT: SqlType = SqlType(
    name="AutoTrackingEvent",
    table="auto_tracking_events",
    columns={
        "at": iso_datetime_sql("{t}.at"),
        "location": "{t}.location",
        "status": "upper({t}.status)",
        "eta": iso_datetime_sql("{t}.eta"),
        "note": "{t}.note",
    },
    interfaces=frozenset(),
)

FREIGHT_SHIPMENT: SqlType = SqlType(
    name="AutoFreightShipment",
    table="auto_freight_shipments",
    columns={
        "id": global_id_sql("AutoFreightShipment", "{t}.id"),
        "carrier": "{t}.carrier",
        "trackingNumber": "{t}.tracking_number",
        "status": "upper({t}.status)",
        "plannedDepartureAt": iso_datetime_sql("{t}.planned_departure_at"),
        "plannedArrivalAt": iso_datetime_sql("{t}.planned_arrival_at"),
        "eta": iso_datetime_sql("{t}.eta"),
        "delayMinutes": "floor(extract(epoch FROM {t}.eta - {t}.planned_arrival_at) / 60)::int",
        "cost": _money("{t}.cost"),
        "currency": "{t}.currency",
        "delayedAt": iso_datetime_sql("{t}.delayed_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        "legs": Relation(lambda: FREIGHT_LEG, "auto_freight_legs", _join("shipment_id", "id"), order="{t}.position"),
        "events": Relation(lambda: TRACKING_EVENT, "auto_tracking_events", _join("shipment_id", "id"), order="{t}.seq"),
    },
)
FREIGHT_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)

REMINDER_RULE: SqlType = SqlType(
    name="AutoReminderRule",
    table="auto_reminder_rules",
    columns={
        "id": global_id_sql("AutoReminderRule", "{t}.id"),
        "kind": "upper({t}.kind)",
        "everyKm": "{t}.every_km",
        "everyMonths": "{t}.every_months",
        "daysBefore": "{t}.days_before",
        "active": "{t}.active",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)
REMINDER_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)


def _customer_vehicles_visible(principal: Principal, alias: str) -> SqlCondition:
    """`Customer.vehicles`: the rows `vehicles_of_customers` gives the caller; a supplier key or a
    member without `auto:vehicles:read` is refused (the resolver answers the refusal on the field)."""
    if is_supplier_key(principal):
        raise ForbiddenError("Not available to supplier keys")
    return vehicle_condition(Actor(principal), alias)


# The fields the plugin adds to the core `Customer` (`VehicleCustomerFields`), newest first.
CUSTOMER_FIELDS: dict[str, Any] = {
    "vehicles": Relation(
        lambda: VEHICLE,
        "auto_vehicles",
        _join("customer_id", "id"),
        order="{t}.created_at DESC, {t}.id DESC",
        visible=_customer_vehicles_visible,
    ),
}

# `supplierPerformance`: one row per supplier of the aggregate `supplier_performance` computes (its
# `:start`/`:stop` bound by the read's condition), with the supplier joined in the same statement.
SUPPLIER_PERFORMANCE: SqlType = SqlType(
    name="AutoSupplierPerformance",
    table=f"({PERFORMANCE_ROWS})",
    columns={
        "callOffs": "{t}.call_offs",
        "onTimeRate": "({t}.on_time_rate)::text",
        "meanLeadTimeHours": "({t}.mean_lead_time_hours)::text",
        "rejected": "{t}.rejected",
    },
    relations={"supplier": Relation(lambda: SUPPLIER, "auto_suppliers", "{t}.id = {p}.supplier_id")},
    interfaces=frozenset(),
)
