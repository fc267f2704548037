"""DataLoaders for the ORM path: one statement per nested list or object, whatever the page size."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.customers import models
from saas.customers.rules import SqlCondition, customer_visibility
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.customers.graphql.types import Contact, Customer


def contacts_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[Contact]]:
    """The contacts of each customer, the primary one first."""
    from saas.customers.graphql.types import Contact

    def batch(session: Session, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Contact]]:
        rows = session.scalars(
            select(models.Contact)
            .where(models.Contact.customer_id.in_(customer_ids), models.Contact.deleted_at.is_(None))
            .order_by(models.Contact.is_primary.desc(), models.Contact.name, models.Contact.id)
        )
        by_customer: dict[uuid.UUID, list[Contact]] = defaultdict(list)
        for row in rows:
            by_customer[row.customer_id].append(Contact.from_model(row))
        return by_customer

    return request_loader(context, "contacts", batch, missing=list)


def customer_loader(context: RequestContext) -> DataLoader[uuid.UUID, Customer | None]:
    """Customers by id, those the caller may see."""
    from saas.customers.graphql.types import Customer

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        condition = SqlCondition()
        customer_visibility(context.require_principal(), "customers", condition)
        rows = session.scalars(
            select(models.Customer)
            .where(models.Customer.id.in_(ids), models.Customer.deleted_at.is_(None), text(condition.sql))
            .params(**condition.params)
        )
        return {row.id: Customer.from_model(row) for row in rows}

    return request_loader(context, "customers", batch)


def contact_by_id_loader(context: RequestContext) -> DataLoader[uuid.UUID, Contact | None]:
    """Contacts by id, visible when their customer is."""
    from saas.customers.graphql.types import Contact

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        condition = SqlCondition()
        customer_visibility(context.require_principal(), "customers", condition)
        visible = (
            select(models.Customer.id)
            .where(models.Customer.deleted_at.is_(None), text(condition.sql))
            .params(**condition.params)
        )
        rows = session.scalars(
            select(models.Contact).where(
                models.Contact.id.in_(ids),
                models.Contact.deleted_at.is_(None),
                models.Contact.customer_id.in_(visible.scalar_subquery()),
            )
        )
        return {row.id: Contact.from_model(row) for row in rows}

    return request_loader(context, "contacts_by_id", batch)


async def customer_of(context: RequestContext, customer_id: uuid.UUID | None) -> Customer | None:
    """The customer `customer_id` as the caller sees it (None when there is none or it is not
    visible), through the request's customer loader."""
    return None if customer_id is None else await customer_loader(context).load(customer_id)
