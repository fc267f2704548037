"""DataLoaders for the ORM path: one statement per nested object, whatever the page size."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.customers.rules import SqlCondition
from saas.leads import models
from saas.leads.rules import lead_visibility
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.leads.graphql.types import Channel, Lead


def channel_loader(context: RequestContext) -> DataLoader[uuid.UUID, Channel | None]:
    from saas.leads.graphql.types import Channel

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Channel]:
        rows = session.scalars(select(models.Channel).where(models.Channel.id.in_(ids)))
        return {row.id: Channel.from_model(row) for row in rows}

    return request_loader(context, "lead_channels", batch)


def lead_loader(context: RequestContext) -> DataLoader[uuid.UUID, Lead | None]:
    """Leads by id, those the caller may see."""
    from saas.leads.graphql.types import Lead

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        condition = SqlCondition()
        lead_visibility(context.require_principal(), "leads", condition)
        rows = session.scalars(
            select(models.Lead).where(models.Lead.id.in_(ids), text(condition.sql)).params(**condition.params)
        )
        return {row.id: Lead.from_model(row) for row in rows}

    return request_loader(context, "leads_by_id", batch)
