"""GraphQL types of the knowledge base (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from saas.knowledge import models
from saas.knowledge.models import ArticleStatus
from saas.knowledge.rules import ArticleFilter
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

if TYPE_CHECKING:
    from saas.tickets.graphql.types import Ticket

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
    source_ticket_id: strawberry.Private[uuid.UUID | None] = None

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
            source_ticket_id=row.source_ticket_id,
        )

    @strawberry.field(description="The ticket whose resolution wrote it; null when written by hand or not visible.")
    async def source_ticket(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Ticket, strawberry.lazy("saas.tickets.graphql.types")] | None:
        from saas.tickets.graphql.loaders import linked_ticket

        return await linked_ticket(info.context, self.source_ticket_id)


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
