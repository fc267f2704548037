"""Resolving a ticket writes down its solution: the ticket moves to RESOLVED and a DRAFT article
(the ticket's subject, body and type, the given solution and tags) is linked to it.

Both happen in the caller's one transaction, so either both are written or neither: the solution
is checked before anything changes, the status move enforces the ticket's transitions
(`INVALID_TRANSITION` otherwise) and locks the ticket row, and a ticket resolved again after a
reopen keeps its first article (the partial unique index on `articles(tenant_id,
source_ticket_id)` allows one).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.auth.permissions import KNOWLEDGE_READ, KNOWLEDGE_WRITE, require
from saas.auth.principal import Principal
from saas.errors import FieldError, ForbiddenError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.knowledge import service as knowledge
from saas.knowledge.models import Article, ArticleUse
from saas.portal.rules import is_portal
from saas.schema.relay import to_global_id
from saas.tickets import service as tickets
from saas.tickets.models import Ticket, TicketStatus
from saas.validation import Checker


def _solution(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.text("solution", required=True, max_length=knowledge.MAX_BODY)
    check.tags("tags")
    clean = check.done()
    if clean.get("solution") is None:
        raise InputInvalid([FieldError(["input", "solution"], UserErrorCode.REQUIRED, "solution must not be empty")])
    return clean


def resolve_ticket(
    session: Session, principal: Principal, ticket_id: uuid.UUID, data: dict[str, Any]
) -> tuple[Ticket, Article]:
    """Move the ticket to RESOLVED and return it with its (new or earlier) DRAFT article."""
    require(principal.permissions, KNOWLEDGE_WRITE)
    clean = _solution(data)
    ticket = tickets.update_ticket_status(session, principal, ticket_id, TicketStatus.RESOLVED)
    earlier = session.scalars(
        select(Article).where(Article.tenant_id == principal.tenant_id, Article.source_ticket_id == ticket.id)
    ).first()
    if earlier is not None:
        return ticket, earlier
    article = knowledge.create_article(
        session,
        principal,
        {
            "title": ticket.subject,
            "problem": ticket.body,
            "solution": clean["solution"],
            "type": ticket.type,
            "tags": clean.get("tags") or [],
        },
        source_ticket_id=ticket.id,
    )
    return ticket, article


def record_article_use(
    session: Session, principal: Principal, article_id: uuid.UUID, ticket_id: uuid.UUID
) -> tuple[Article, Ticket, bool]:
    """Count that an article helped with a ticket, once per article and ticket.

    Both must be visible to the caller (`NOT_FOUND` on the field otherwise). The insert is
    `ON CONFLICT DO NOTHING` on the primary key, so concurrent or repeated calls count one use;
    the `article.used` event is emitted only by the call that inserted the row. Returns whether
    this call counted it.
    """
    require(principal.permissions, KNOWLEDGE_READ)
    if is_portal(principal):
        raise ForbiddenError("Not available to portal users")
    try:
        ticket = tickets.get_ticket(session, principal, ticket_id)
    except NotFoundError:
        raise InputInvalid([FieldError(["input", "ticketId"], UserErrorCode.NOT_FOUND, "No such ticket")]) from None
    try:
        article = knowledge.get_article(session, principal, article_id)
    except NotFoundError:
        raise InputInvalid([FieldError(["input", "articleId"], UserErrorCode.NOT_FOUND, "No such article")]) from None
    inserted = session.execute(
        insert(ArticleUse)
        .values(
            tenant_id=principal.tenant_id,
            article_id=article.id,
            ticket_id=ticket.id,
            used_by_id=principal.membership_id,
        )
        .on_conflict_do_nothing()
        .returning(ArticleUse.article_id)
    ).first()
    if inserted is not None:
        emit_event(
            session,
            "article.used",
            {
                "article": {"id": to_global_id("Article", article.id)},
                "ticket": {"id": to_global_id("Ticket", ticket.id)},
            },
        )
    return article, ticket, inserted is not None
