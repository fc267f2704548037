"""The domain events the plugin emits (outbox → plugins' `saas_handle_event` and webhooks), and their data.

Every create and state change of the plugin's entities emits one of these, in the transaction of
the change. The data carries the entities as the plugin's GraphQL API returns them (`api_object`
of the `Auto…` types), so a webhook receiver reads what a client reads. Payload builders import
the GraphQL types when called: the types import the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from saas.plugin_api import api_object, emit_event, node_ref

if TYPE_CHECKING:
    from saas_automotive import models

VEHICLE_REGISTERED = "auto.vehicle.registered"
VEHICLE_MILEAGE_RECORDED = "auto.vehicle.mileage_recorded"
VEHICLE_SERVICED = "auto.vehicle.serviced"
SUPPLIER_CREATED = "auto.supplier.created"
SUPPLIER_KEY_CREATED = "auto.supplier_key.created"
PART_CREATED = "auto.part.created"
VEHICLE_ORDER_CREATED = "auto.vehicle_order.created"
CALL_OFF_CREATED = "auto.call_off.created"
CALL_OFF_STATUS_CHANGED = "auto.call_off.status_changed"
CALL_OFF_OVERDUE = "auto.call_off.overdue"
FREIGHT_CREATED = "auto.freight.created"
FREIGHT_UPDATED = "auto.freight.updated"
FREIGHT_DELAYED = "auto.freight.delayed"
REMINDER_RULE_CREATED = "auto.reminder_rule.created"
REMINDER_CREATED = "auto.reminder.created"

# Declared through `saas_event_types`: webhooks of tenants that enabled the plugin may subscribe
# to these (e.g. `auto.call_off.*`). docs/api.md documents each with an example.
EVENT_TYPES = [
    VEHICLE_REGISTERED,
    VEHICLE_MILEAGE_RECORDED,
    VEHICLE_SERVICED,
    SUPPLIER_CREATED,
    SUPPLIER_KEY_CREATED,
    PART_CREATED,
    VEHICLE_ORDER_CREATED,
    CALL_OFF_CREATED,
    CALL_OFF_STATUS_CHANGED,
    CALL_OFF_OVERDUE,
    FREIGHT_CREATED,
    FREIGHT_UPDATED,
    FREIGHT_DELAYED,
    REMINDER_RULE_CREATED,
    REMINDER_CREATED,
]


def vehicle(row: models.Vehicle) -> dict[str, Any]:
    from saas_automotive.graphql.types import Vehicle

    return api_object(Vehicle.from_model(row), customer=node_ref("Customer", row.customer_id))


def vehicle_changed(session: Session, event_type: str, row: models.Vehicle) -> None:
    emit_event(session, event_type, {"vehicle": vehicle(row)})


def service_recorded(session: Session, row: models.Vehicle, record: models.ServiceRecord) -> None:
    from saas_automotive.graphql.types import ServiceRecord

    emit_event(
        session,
        VEHICLE_SERVICED,
        {"vehicle": vehicle(row), "serviceRecord": api_object(ServiceRecord.from_model(record))},
    )


def supplier_created(session: Session, row: models.Supplier) -> None:
    from saas_automotive.graphql.types import Supplier

    emit_event(session, SUPPLIER_CREATED, {"supplier": api_object(Supplier.from_model(row))})


def supplier_key_created(session: Session, row: models.Supplier, api_key_id: Any) -> None:
    data = {"supplier": node_ref("AutoSupplier", row.id), "apiKey": node_ref("ApiKey", api_key_id)}
    emit_event(session, SUPPLIER_KEY_CREATED, data)


def part_created(session: Session, row: models.Part) -> None:
    from saas_automotive.graphql.types import Part

    emit_event(
        session,
        PART_CREATED,
        {"part": api_object(Part.from_model(row), supplier=node_ref("AutoSupplier", row.supplier_id))},
    )


def call_off(row: models.CallOff) -> dict[str, Any]:
    from saas_automotive.graphql.types import CallOff

    return api_object(
        CallOff.from_model(row),
        supplier=node_ref("AutoSupplier", row.supplier_id),
        order=node_ref("AutoVehicleOrder", row.order_id),
    )


def order_created(session: Session, order: models.VehicleOrder, call_offs: Sequence[models.CallOff]) -> None:
    from saas_automotive.graphql.types import VehicleOrder

    shaped = api_object(
        VehicleOrder.from_model(order),
        customer=node_ref("Customer", order.customer_id),
        callOffs=[call_off(row) for row in call_offs],
    )
    emit_event(session, VEHICLE_ORDER_CREATED, {"order": shaped})
    for row in call_offs:
        emit_event(session, CALL_OFF_CREATED, {"callOff": call_off(row)})


def call_off_status_changed(session: Session, row: models.CallOff, previous: str, by: str) -> None:
    from saas_automotive.models import CallOffStatus

    data = {"callOff": call_off(row), "previousStatus": CallOffStatus(previous).name, "by": by}
    emit_event(session, CALL_OFF_STATUS_CHANGED, data)


def call_off_overdue(session: Session, row: models.CallOff) -> None:
    emit_event(session, CALL_OFF_OVERDUE, {"callOff": call_off(row)})


def freight(row: models.FreightShipment) -> dict[str, Any]:
    from saas_automotive.graphql.types import FreightShipment

    return api_object(FreightShipment.from_model(row), callOff=node_ref("AutoCallOff", row.call_off_id))


def freight_created(session: Session, row: models.FreightShipment) -> None:
    emit_event(session, FREIGHT_CREATED, {"shipment": freight(row)})


def freight_updated(session: Session, row: models.FreightShipment, event: models.TrackingEvent) -> None:
    from saas_automotive.graphql.types import TrackingEvent

    emit_event(
        session,
        FREIGHT_UPDATED,
        {"shipment": freight(row), "trackingEvent": api_object(TrackingEvent.from_model(event))},
    )


def freight_delayed(session: Session, row: models.FreightShipment, threshold: int) -> None:
    emit_event(session, FREIGHT_DELAYED, {"shipment": freight(row), "thresholdMinutes": threshold})


def reminder_rule_created(session: Session, row: models.ReminderRule) -> None:
    from saas_automotive.graphql.types import ReminderRule

    emit_event(session, REMINDER_RULE_CREATED, {"rule": api_object(ReminderRule.from_model(row))})


def reminder_created(session: Session, row: models.Reminder, task_id: Any) -> None:
    from saas_automotive.graphql.types import Reminder

    data = {
        "reminder": api_object(
            Reminder.from_model(row),
            vehicle=node_ref("AutoVehicle", row.vehicle_id),
            rule=node_ref("AutoReminderRule", row.rule_id),
        ),
        "task": node_ref("Task", task_id),
    }
    emit_event(session, REMINDER_CREATED, data)
