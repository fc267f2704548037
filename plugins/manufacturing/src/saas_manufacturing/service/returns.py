"""Returned goods back in stock: the core's `return.received` event becomes receipts in the ledger.

The event names each returned line's product and quantity (in the API's shape); the goods go
into the tenant's default warehouse as `receipt` movements referring to the return. The event
dispatcher delivers at least once, so the event is claimed in `mfg_handled_events` in the same
transaction as the receipts: a redelivery finds it claimed and changes nothing, and a failure
rolls back claim and receipts together.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.plugin_api import DomainEvent, Principal, decode_id
from saas_manufacturing.models import HandledEvent, StockMovement
from saas_manufacturing.service.common import Actor
from saas_manufacturing.service.inventory import receive_returned
from saas_manufacturing.service.warehouses import ensure_default_warehouse

RETURN_RECEIVED = "return.received"


def _claim(session: Session, event: DomainEvent) -> bool:
    """True the first time this event is handled (the claim is the transaction's, like the receipts)."""
    claimed = session.execute(
        insert(HandledEvent)
        .values(tenant_id=event.tenant_id, event_id=event.id, event_type=event.type)
        .on_conflict_do_nothing(index_elements=[HandledEvent.tenant_id, HandledEvent.event_id])
        .returning(HandledEvent.event_id)
    ).first()
    return claimed is not None


def restock_return(session: Session, event: DomainEvent, default_warehouse_name: str) -> list[StockMovement]:
    """One receipt per returned line into the default warehouse, once per event; the movements made."""
    if event.type != RETURN_RECEIVED or not _claim(session, event):
        return []
    returned = event.payload["returnRequest"]
    actor = Actor(Principal(tenant_id=event.tenant_id, label=f"event:{RETURN_RECEIVED}", permissions=frozenset()))
    warehouse = ensure_default_warehouse(session, default_warehouse_name)
    movements = []
    for line in returned["lines"]:
        product_id: uuid.UUID = decode_id(line["product"]["id"], "Product")
        reference = f"return {returned['id']}"[:200]
        movement = receive_returned(session, actor, product_id, warehouse.id, int(line["quantity"]), reference)
        if movement is not None:
            movements.append(movement)
    return movements
