"""DataLoaders for the ORM path: one statement per nested list or object, whatever the page size."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.customers import models
from saas.customers.rules import SqlCondition, customer_visibility
from saas.schema.context import RequestContext
from saas.tenancy.models import Membership


def _loader(context: RequestContext, name: str, batch: Callable[[Session, Sequence[Any]], list[Any]]) -> DataLoader:
    loader = context.loaders.get(name)
    if loader is None:

        async def load(keys: list[Any]) -> list[Any]:
            return await context.read(batch, keys)

        loader = context.loaders[name] = DataLoader(load_fn=load)
    return loader


def contacts_loader(context: RequestContext) -> DataLoader:
    from saas.schema.customers.types import Contact

    def batch(session: Session, customer_ids: Sequence[uuid.UUID]) -> list[list[Contact]]:
        rows = session.scalars(
            select(models.Contact)
            .where(models.Contact.customer_id.in_(customer_ids), models.Contact.deleted_at.is_(None))
            .order_by(models.Contact.is_primary.desc(), models.Contact.name, models.Contact.id)
        )
        by_customer: dict[uuid.UUID, list[Contact]] = defaultdict(list)
        for row in rows:
            by_customer[row.customer_id].append(Contact.from_model(row))
        return [by_customer.get(key, []) for key in customer_ids]

    return _loader(context, "contacts", batch)


def member_loader(context: RequestContext) -> DataLoader:
    from saas.schema.customers.types import Member

    def batch(session: Session, ids: Sequence[uuid.UUID]) -> list[Member | None]:
        rows = {row.id: row for row in session.scalars(select(Membership).where(Membership.id.in_(ids)))}
        return [Member.from_model(rows[key]) if key in rows else None for key in ids]

    return _loader(context, "members", batch)


def customer_loader(context: RequestContext) -> DataLoader:
    from saas.schema.customers.types import Customer

    def batch(session: Session, ids: Sequence[uuid.UUID]) -> list[Customer | None]:
        condition = SqlCondition()
        customer_visibility(context.require_principal(), "customers", condition)
        rows = {
            row.id: row
            for row in session.scalars(
                select(models.Customer)
                .where(models.Customer.id.in_(ids), models.Customer.deleted_at.is_(None), text(condition.sql))
                .params(**condition.params)
            )
        }
        return [Customer.from_model(rows[key]) if key in rows else None for key in ids]

    return _loader(context, "customers", batch)


def contact_by_id_loader(context: RequestContext) -> DataLoader:
    """Contacts by id, visible when their customer is."""
    from saas.schema.customers.types import Contact

    def batch(session: Session, ids: Sequence[uuid.UUID]) -> list[Contact | None]:
        condition = SqlCondition()
        customer_visibility(context.require_principal(), "customers", condition)
        visible = (
            select(models.Customer.id)
            .where(models.Customer.deleted_at.is_(None), text(condition.sql))
            .params(**condition.params)
        )
        rows = {
            row.id: row
            for row in session.scalars(
                select(models.Contact).where(
                    models.Contact.id.in_(ids),
                    models.Contact.deleted_at.is_(None),
                    models.Contact.customer_id.in_(visible.scalar_subquery()),
                )
            )
        }
        return [Contact.from_model(rows[key]) if key in rows else None for key in ids]

    return _loader(context, "contacts_by_id", batch)
