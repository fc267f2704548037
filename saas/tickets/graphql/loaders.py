"""DataLoaders for the ORM path: one statement per nested object or list, whatever the page size."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.auth.permissions import TICKETS_READ
from saas.customers import models as customer_models
from saas.db.paging import Page, pages_per_parent
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader
from saas.tickets import models
from saas.tickets.rules import TicketFilter, customer_ticket_conditions, ticket_visibility
from saas.tickets.service.tickets import visible_comment_condition

if TYPE_CHECKING:
    from saas.customers.graphql.types import Contact, Customer
    from saas.tickets.graphql.types import (
        ClassificationRule,
        Ticket,
        TicketComment,
        TicketCommentConnection,
        TicketConnection,
    )

COMMENT_CURSOR = ("timestamptz", "uuid")
TICKET_CURSOR = ("timestamptz", "uuid")


def ticket_loader(context: RequestContext) -> DataLoader[uuid.UUID, Ticket | None]:
    """Tickets by id, those the caller may see."""
    from saas.tickets.graphql.types import Ticket

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
        condition_sql, params = _visible(context)
        rows = session.scalars(
            select(models.Ticket).where(models.Ticket.id.in_(ids), text(condition_sql)).params(**params)
        )
        return {row.id: Ticket.from_model(row) for row in rows}

    return request_loader(context, "tickets_by_id", batch)


async def linked_ticket(context: RequestContext, ticket_id: uuid.UUID | None) -> Ticket | None:
    """A ticket reached through a link (an article's source ticket, a work order's ticket), as the
    compiled reads join it (`linked_ticket_visibility`): null unless the caller reads tickets and sees it."""
    if ticket_id is None or TICKETS_READ not in context.require_principal().permissions:
        return None
    return await ticket_loader(context).load(ticket_id)


def comment_loader(context: RequestContext) -> DataLoader[uuid.UUID, TicketComment | None]:
    """Comments by id: those of tickets the caller sees, public ones only for a portal token."""
    from saas.tickets.graphql.types import TicketComment

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, TicketComment]:
        principal = context.require_principal()
        condition = visible_comment_condition(principal, "ticket_comments")
        ticket_sql, ticket_params = _visible(context)
        visible_tickets = select(models.Ticket.id).where(text(ticket_sql)).params(**ticket_params).scalar_subquery()
        rows = session.scalars(
            select(models.TicketComment)
            .where(
                models.TicketComment.id.in_(ids),
                models.TicketComment.ticket_id.in_(visible_tickets),
                text(condition.sql),
            )
            .params(**condition.params)
        )
        return {row.id: TicketComment.from_model(row) for row in rows}

    return request_loader(context, "tickets.comments_by_id", batch)


def _visible(context: RequestContext) -> tuple[str, dict[str, Any]]:
    from saas.db.conditions import SqlCondition

    condition = SqlCondition()
    ticket_visibility(context.require_principal(), "tickets", condition)
    return condition.sql, condition.params


def ticket_customer_loader(context: RequestContext) -> DataLoader[uuid.UUID, Customer | None]:
    """A ticket's customer, as the compiled read joins it (the ticket's visibility decides)."""
    from saas.customers.graphql.types import Customer

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        rows = session.scalars(select(customer_models.Customer).where(customer_models.Customer.id.in_(ids)))
        return {row.id: Customer.from_model(row) for row in rows}

    return request_loader(context, "tickets.customers", batch)


def ticket_contact_loader(context: RequestContext) -> DataLoader[uuid.UUID, Contact | None]:
    from saas.customers.graphql.types import Contact

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        rows = session.scalars(select(customer_models.Contact).where(customer_models.Contact.id.in_(ids)))
        return {row.id: Contact.from_model(row) for row in rows}

    return request_loader(context, "tickets.contacts", batch)


def rule_loader(context: RequestContext) -> DataLoader[uuid.UUID, ClassificationRule | None]:
    from saas.tickets.graphql.types import ClassificationRule

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, ClassificationRule]:
        rows = session.scalars(select(models.ClassificationRule).where(models.ClassificationRule.id.in_(ids)))
        return {row.id: ClassificationRule.from_model(row) for row in rows}

    return request_loader(context, "tickets.rules", batch)


async def ticket_comments(
    context: RequestContext, ticket_id: uuid.UUID, first: int | None, after: str | None
) -> TicketCommentConnection:
    """A page of a ticket's visible comments, oldest first: for a page of tickets, one statement for
    the pages and one for the counts (the loader is per `first`/`after`, shared by the tickets)."""
    from saas.tickets.graphql.types import TicketComment

    limit, position = page_arguments(first, after, COMMENT_CURSOR, context.runtime.settings.max_page_size)
    principal = context.require_principal()

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Page[models.TicketComment]]:
        condition = visible_comment_condition(principal, "ticket_comments")
        return pages_per_parent(
            session,
            models.TicketComment,
            models.TicketComment.ticket_id,
            ids,
            (models.TicketComment.created_at, models.TicketComment.id),
            limit,
            position,
            where=[text(condition.sql)],
            params=condition.params,
        )

    loader = request_loader(context, f"tickets.comments:{limit}:{after}", batch)
    page = await loader.load(ticket_id)
    assert page is not None
    return connection(  # type: ignore[no-any-return]
        page, TicketComment.from_model, lambda r: [r.created_at, r.id], has_previous_page=after is not None
    )


async def customer_tickets(
    context: RequestContext, customer_id: uuid.UUID, first: int | None, after: str | None, flt: TicketFilter | None
) -> TicketConnection:
    """`Customer.tickets` on the resolver path: a page of the customer's tickets the caller sees,
    newest first, as the compiled read pages them (`CUSTOMER_TICKET_FIELDS`). For a page of
    customers, one statement for the pages and one for the counts (the loader is per page and filter)."""
    from saas.tickets.graphql.types import Ticket

    limit, position = page_arguments(first, after, TICKET_CURSOR, context.runtime.settings.max_page_size)
    principal = context.require_principal()

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Page[models.Ticket]]:
        condition = customer_ticket_conditions(principal, "tickets", flt)
        return pages_per_parent(
            session,
            models.Ticket,
            models.Ticket.customer_id,
            ids,
            (models.Ticket.created_at, models.Ticket.id),
            limit,
            position,
            where=[text(condition.sql)],
            params=condition.params,
            descending=True,
        )

    loader = request_loader(context, f"tickets.by_customer:{limit}:{after}:{flt!r}", batch)
    page = await loader.load(customer_id)
    assert page is not None
    return connection(  # type: ignore[no-any-return]
        page, Ticket.from_model, lambda r: [r.created_at, r.id], has_previous_page=after is not None
    )
