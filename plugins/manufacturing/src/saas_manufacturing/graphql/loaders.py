"""Per-request DataLoaders: nested lists and references load in one statement per level."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.plugin_api import Product, RequestContext
from saas_manufacturing.models import Warehouse
from saas_manufacturing.service.shipments import shipment_events
from saas_manufacturing.service.visibility import order_lines


def _loader(context: RequestContext, name: str, batch: Callable[[Session, list[Any]], Sequence[Any]]) -> DataLoader:
    loader = context.loaders.get(name)
    if loader is None:

        async def load(keys: list[Any]) -> Sequence[Any]:
            return await context.read(batch, keys)

        loader = context.loaders[name] = DataLoader(load_fn=load)
    return loader


def _by_id(model: Any) -> Callable[[Session, list[uuid.UUID]], list[Any]]:
    def batch(session: Session, ids: list[uuid.UUID]) -> list[Any]:
        rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
        return [rows.get(i) for i in ids]

    return batch


def products(context: RequestContext) -> DataLoader:
    return _loader(context, "mfg.products", _by_id(Product))


def warehouses(context: RequestContext) -> DataLoader:
    return _loader(context, "mfg.warehouses", _by_id(Warehouse))


def _grouped(read: Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, list[Any]]]) -> Callable[..., list[Any]]:
    def batch(session: Session, ids: list[uuid.UUID]) -> list[list[Any]]:
        found = read(session, ids)
        return [found[i] for i in ids]

    return batch


def lines(context: RequestContext) -> DataLoader:
    return _loader(context, "mfg.order_lines", _grouped(order_lines))


def events(context: RequestContext) -> DataLoader:
    return _loader(context, "mfg.shipment_events", _grouped(shipment_events))
