"""DataLoaders for the ORM path: articles by id, those the caller may read."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.db.conditions import SqlCondition
from saas.knowledge import models
from saas.knowledge.rules import article_visibility
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
