"""Knowledge-base reads: the article list and one article compiled into one SQL statement each, and search."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from saas.auth.permissions import KNOWLEDGE_READ, require
from saas.db.conditions import SqlCondition
from saas.knowledge import models, service
from saas.knowledge.graphql.loaders import article_loader
from saas.knowledge.graphql.sql import ARTICLE, ARTICLE_SORT
from saas.knowledge.graphql.types import Article, ArticleConnection, ArticleFilterInput, ArticleHit
from saas.knowledge.rules import article_conditions
from saas.schema.compiled import compiled_page
from saas.schema.context import RequestContext
from saas.schema.nodes import single_object
from saas.schema.relay import decode_id


def article_condition(context: RequestContext) -> SqlCondition:
    """The articles the caller reads (`node(id)`), once they hold `knowledge:read`."""
    principal = context.require_principal()
    require(principal.permissions, KNOWLEDGE_READ)
    return article_conditions(principal, "r")


async def load_article(context: RequestContext, raw_id: uuid.UUID) -> Article | None:
    return await article_loader(context).load(raw_id)


@strawberry.type
class KnowledgeQueries:
    @strawberry.field(
        description="Knowledge-base articles, newest first (staff: drafts too; portal contacts: published only)."
    )
    async def articles(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ArticleFilterInput | None = None,
    ) -> ArticleConnection:
        principal = info.context.require_principal()
        require(principal.permissions, KNOWLEDGE_READ)
        condition = article_conditions(principal, "r", filter.to_rule() if filter else None)
        return await compiled_page(  # type: ignore[no-any-return]
            info, ARTICLE, models.Article, Article.from_model, condition, ARTICLE_SORT, first, after
        )

    @strawberry.field(description="One article; NOT_FOUND if it does not exist or is not readable by the caller.")
    async def article(self, info: Info[RequestContext, None], id: strawberry.ID) -> Article:
        raw_id = decode_id(id, "Article")
        return await single_object(info, ARTICLE, raw_id, article_condition(info.context), load_article)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Published articles matching the query, best first (full-text, Chinese included; the last "
        "word as a prefix; close spellings by trigrams). `includeDrafts`: staff find drafts too. `first` at most 50."
    )
    async def search_knowledge_base(
        self,
        info: Info[RequestContext, None],
        query: str,
        first: int | None = 10,
        include_drafts: bool | None = False,
    ) -> list[ArticleHit]:
        context = info.context
        hits = await context.read(service.search, context.require_principal(), query, first, bool(include_drafts))
        return [ArticleHit(article=Article.from_model(hit.article), rank=hit.rank, snippet=hit.snippet) for hit in hits]
