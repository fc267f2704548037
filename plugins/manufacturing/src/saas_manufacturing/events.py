"""The domain events the plugin emits (outbox → plugins' `saas_handle_event` and webhooks), and their data.

Every create, update and state change of the plugin's entities emits one of these, in the
transaction of the change. The data carries the entities as the plugin's GraphQL API returns
them (`api_object` of the `Mfg…` types), so a webhook receiver reads what a client reads.
Payload builders import the GraphQL types when called: the types import the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from saas.plugin_api import api_object, emit_event
from saas_manufacturing.models import ShipmentStatus

if TYPE_CHECKING:
    from saas_manufacturing import models
    from saas_manufacturing.service.inventory import Level

WAREHOUSE_CREATED = "mfg.warehouse.created"
WAREHOUSE_UPDATED = "mfg.warehouse.updated"
STOCK_CHANGED = "mfg.stock.changed"
STOCK_THRESHOLD_CHANGED = "mfg.stock.threshold_changed"
STOCK_LOW = "mfg.stock.low"
STOCK_MISMATCH = "mfg.stock.mismatch"
ORDER_PLACED = "mfg.order.placed"
ORDER_CANCELLED = "mfg.order.cancelled"
ORDER_SHIPPED = "mfg.order.shipped"


def shipment_event(status: str) -> str:
    return f"mfg.shipment.{status}"


# Declared through `saas_event_types`: webhooks of tenants that enabled the plugin may subscribe
# to these (e.g. `mfg.shipment.*`). docs/api.md documents each with an example.
EVENT_TYPES = [
    WAREHOUSE_CREATED,
    WAREHOUSE_UPDATED,
    STOCK_CHANGED,
    STOCK_THRESHOLD_CHANGED,
    STOCK_LOW,
    STOCK_MISMATCH,
    ORDER_PLACED,
    ORDER_CANCELLED,
    ORDER_SHIPPED,
    *(shipment_event(s) for s in ShipmentStatus),
]


def warehouse_changed(session: Session, event_type: str, warehouse: models.Warehouse) -> None:
    from saas_manufacturing.graphql.types import Warehouse

    emit_event(session, event_type, {"warehouse": api_object(Warehouse.from_model(warehouse))})


def stock_level(level: Level | models.StockLevel) -> dict[str, Any]:
    from saas_manufacturing.graphql.types import StockLevel

    return api_object(StockLevel.from_level(level))


def stock_low(session: Session, level: Level, threshold: int) -> None:
    """Available stock crossed below `threshold` (the level's own, else the tenant's setting)."""
    emit_event(session, STOCK_LOW, {"stockLevel": stock_level(level), "threshold": threshold})


def threshold_changed(session: Session, level: Level) -> None:
    emit_event(session, STOCK_THRESHOLD_CHANGED, {"stockLevel": stock_level(level)})


def stock_mismatch(session: Session, level: models.StockLevel, on_hand: int, reserved: int) -> None:
    """The reconciliation found a level that differs from its ledger's sums (never expected)."""
    data = {"stockLevel": stock_level(level), "ledger": {"onHand": on_hand, "reserved": reserved}}
    emit_event(session, STOCK_MISMATCH, data)


def stock_changed(session: Session, movement: models.StockMovement, level: Level) -> None:
    """A ledger row was written (receipt, issue, adjustment, reservation, release), with the level after it."""
    from saas_manufacturing.graphql.types import StockMovement

    data = {"movement": api_object(StockMovement.from_model(movement)), "stockLevel": stock_level(level)}
    emit_event(session, STOCK_CHANGED, data)


def order_changed(session: Session, event_type: str, order: models.Order, lines: Sequence[models.OrderLine]) -> None:
    from saas_manufacturing.graphql.types import Order, OrderLine

    ordered = sorted(lines, key=lambda line: line.position)
    shaped = api_object(Order.from_model(order), lines=[OrderLine.from_model(line) for line in ordered])
    emit_event(session, event_type, {"order": shaped})


def shipment_changed(session: Session, shipment: models.Shipment, event: models.ShipmentEvent) -> None:
    """The shipment reached `shipment.status` (`mfg.shipment.<status>`), with the status event."""
    from saas_manufacturing.graphql.types import Shipment, ShipmentEvent

    data = {
        "shipment": api_object(Shipment.from_model(shipment)),
        "shipmentEvent": api_object(ShipmentEvent.from_model(event)),
    }
    emit_event(session, shipment_event(shipment.status), data)
