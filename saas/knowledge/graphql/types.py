"""GraphQL types of the knowledge base (the ORM path builds them from rows)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from saas.knowledge import models
from saas.knowledge.models import ArticleStatus
from saas.knowledge.rules import ArticleFilter
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.relay import to_global_id

strawberry.enum(ArticleStatus, name="ArticleStatus", description="DRAFT: staff only; PUBLISHED: every reader.")


@strawberry.type(description="A knowledge-base article: a problem and its solution.")
class Article(Node):
    title: str
    problem: str
    solution: str
    type: str = strawberry.field(description="The ticket type it answers, e.g. `repair` or `inquiry`.")
    tags: list[str]
    status: ArticleStatus
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Article) -> Article:
        return cls(
            id=strawberry.ID(to_global_id("Article", row.id)),
            title=row.title,
            problem=row.problem,
            solution=row.solution,
            type=row.type,
            tags=list(row.tags or []),
            status=ArticleStatus(row.status),
            published_at=row.published_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


ArticleConnection = CountedConnection[Article]


@strawberry.type(description="One article found by `searchKnowledgeBase`.")
class ArticleHit:
    article: Article
    rank: float = strawberry.field(description="Higher is better: the query's words close together, in the title.")
    snippet: str = strawberry.field(
        description="Where the article matches: HTML-escaped text with the matched words in <b>…</b>."
    )


@strawberry.input(description="All given conditions must hold.")
class ArticleFilterInput:
    status: ArticleStatus | None = None
    type: str | None = None

    def to_rule(self) -> ArticleFilter:
        return ArticleFilter(status=self.status, type=self.type)
