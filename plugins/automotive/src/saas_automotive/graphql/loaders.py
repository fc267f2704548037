"""Per-request DataLoaders: nested lists and references load in one statement per level."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.plugin_api import RequestContext, request_loader
from saas_automotive.models import (
    CallOff,
    CallOffLine,
    FreightLeg,
    Part,
    Reminder,
    ServiceRecord,
    Supplier,
    TrackingEvent,
    Vehicle,
)
from saas_automotive.service import call_offs, freight, vehicles


def _by_id(model: Any) -> Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, Any]]:
    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}

    return batch


def suppliers(context: RequestContext) -> DataLoader[uuid.UUID, Supplier | None]:
    return request_loader(context, "auto.suppliers", _by_id(Supplier))


def parts(context: RequestContext) -> DataLoader[uuid.UUID, Part | None]:
    return request_loader(context, "auto.parts", _by_id(Part))


def service_records(context: RequestContext) -> DataLoader[uuid.UUID, list[ServiceRecord]]:
    return request_loader(context, "auto.service_records", vehicles.service_records, missing=list)


def reminders(context: RequestContext) -> DataLoader[uuid.UUID, list[Reminder]]:
    return request_loader(context, "auto.reminders", vehicles.reminders_of, missing=list)


def call_off_lines(context: RequestContext) -> DataLoader[uuid.UUID, list[CallOffLine]]:
    return request_loader(context, "auto.call_off_lines", call_offs.call_off_lines, missing=list)


def order_call_offs(context: RequestContext) -> DataLoader[uuid.UUID, list[CallOff]]:
    return request_loader(context, "auto.order_call_offs", call_offs.order_call_offs, missing=list)


def legs(context: RequestContext) -> DataLoader[uuid.UUID, list[FreightLeg]]:
    return request_loader(context, "auto.freight_legs", freight.legs_of, missing=list)


def tracking(context: RequestContext) -> DataLoader[uuid.UUID, list[TrackingEvent]]:
    return request_loader(context, "auto.tracking_events", freight.events_of, missing=list)


def customer_vehicles(context: RequestContext, actor: Any) -> DataLoader[uuid.UUID, list[Vehicle]]:
    """Vehicles by customer, those the actor sees, newest first (for `Customer.vehicles`)."""

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Vehicle]]:
        return vehicles.vehicles_of_customers(session, actor, ids)

    return request_loader(context, "auto.customer_vehicles", batch, missing=list)
