"""DataLoaders for the ORM path: articles by id, those the caller may read."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.db.conditions import SqlCondition
from saas.knowledge import models
from saas.knowledge.rules import article_visibility, linked_article_visibility
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.knowledge.graphql.types import Article


def article_loader(context: RequestContext) -> DataLoader[uuid.UUID, Article | None]:
    from saas.knowledge.graphql.types import Article

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Article]:
        condition = SqlCondition()
        article_visibility(context.require_principal(), "articles", condition)
        rows = session.scalars(
            select(models.Article).where(models.Article.id.in_(ids), text(condition.sql)).params(**condition.params)
        )
        return {row.id: Article.from_model(row) for row in rows}

    return request_loader(context, "articles_by_id", batch)


def ticket_article_loader(context: RequestContext) -> DataLoader[uuid.UUID, Article | None]:
    """The article written when a ticket was resolved, by the ticket's id: null when the caller may
    not read it (`linked_article_visibility`, as the compiled read joins it: a portal principal reads
    published articles only), whatever the page size one
    statement."""
    from saas.knowledge.graphql.types import Article

    def batch(session: Session, ticket_ids: list[uuid.UUID]) -> dict[uuid.UUID, Article]:
        condition = linked_article_visibility(context.require_principal(), "articles")
        rows = session.scalars(
            select(models.Article)
            .where(models.Article.source_ticket_id.in_(ticket_ids), text(condition.sql))
            .params(**condition.params)
        )
        return {row.source_ticket_id: Article.from_model(row) for row in rows if row.source_ticket_id is not None}

    return request_loader(context, "articles_by_ticket", batch)
