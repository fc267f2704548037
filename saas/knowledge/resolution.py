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
from sqlalchemy.orm import Session

from saas.auth.permissions import KNOWLEDGE_WRITE, require
from saas.auth.principal import Principal
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.knowledge import service as knowledge
from saas.knowledge.models import Article
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
