"""Per-request DataLoaders: nested lists and references load in one statement per level."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.plugin_api import Product, RequestContext, request_loader
from saas_manufacturing.models import OrderLine, ShipmentEvent, Warehouse
from saas_manufacturing.service.shipments import shipment_events
from saas_manufacturing.service.visibility import order_lines


def _by_id(model: Any) -> Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, Any]]:
    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}

    return batch


def products(context: RequestContext) -> DataLoader[uuid.UUID, Product | None]:
    return request_loader(context, "mfg.products", _by_id(Product))


def warehouses(context: RequestContext) -> DataLoader[uuid.UUID, Warehouse | None]:
    return request_loader(context, "mfg.warehouses", _by_id(Warehouse))


def lines(context: RequestContext) -> DataLoader[uuid.UUID, list[OrderLine]]:
    return request_loader(context, "mfg.order_lines", order_lines, missing=list)


def events(context: RequestContext) -> DataLoader[uuid.UUID, list[ShipmentEvent]]:
    return request_loader(context, "mfg.shipment_events", shipment_events, missing=list)
