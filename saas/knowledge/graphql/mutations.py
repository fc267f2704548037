"""Knowledge-base mutations: thin wrappers over saas/knowledge/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.knowledge import resolution, service
from saas.knowledge.graphql.types import Article
from saas.schema.common import Payload, provided, referenced_id, run_mutation
from saas.schema.context import RequestContext
from saas.tickets.graphql.types import Ticket


@strawberry.input
class CreateArticleInput:
    title: str
    problem: str
    solution: str
    type: str | None = strawberry.field(
        default=strawberry.UNSET, description="A ticket type key; `inquiry` if left out."
    )
    tags: list[str] | None = strawberry.UNSET


@strawberry.input
class UpdateArticleInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    problem: str | None = strawberry.UNSET
    solution: str | None = strawberry.UNSET
    type: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET


@strawberry.input
class PublishArticleInput:
    id: strawberry.ID


@strawberry.input
class UnpublishArticleInput:
    id: strawberry.ID


@strawberry.type
class ArticlePayload(Payload):
    article: Article | None = None


@strawberry.input
class ResolveTicketInput:
    id: strawberry.ID
    solution: str
    tags: list[str] | None = strawberry.UNSET


@strawberry.type
class ResolveTicketPayload(Payload):
    ticket: Ticket | None = None
    article: Article | None = None


@strawberry.input
class RecordArticleUseInput:
    article_id: strawberry.ID
    ticket_id: strawberry.ID


@strawberry.type
class RecordArticleUsePayload(Payload):
    article: Article | None = None
    ticket: Ticket | None = None
    counted: bool = strawberry.field(default=False, description="False when this use was already recorded.")


def _article(row: Any) -> dict[str, Any]:
    return {"article": Article.from_model(row)}


@strawberry.type
class KnowledgeMutations:
    @strawberry.mutation(description="A new DRAFT article (staff with knowledge:write).")
    async def create_article(self, info: Info[RequestContext, None], input: CreateArticleInput) -> ArticlePayload:
        async def run() -> dict[str, Any]:
            context = info.context
            return _article(await context.write(service.create_article, context.require_principal(), provided(input)))

        return await run_mutation(run, ArticlePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Change an article's text, type or tags; left-out fields stay.")
    async def update_article(self, info: Info[RequestContext, None], input: UpdateArticleInput) -> ArticlePayload:
        async def run() -> dict[str, Any]:
            context = info.context
            raw_id = referenced_id(input.id, "Article", "id")
            data = provided(input, skip=("id",))
            return _article(await context.write(service.update_article, context.require_principal(), raw_id, data))

        return await run_mutation(run, ArticlePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="DRAFT → PUBLISHED; already published is INVALID_TRANSITION.")
    async def publish_article(self, info: Info[RequestContext, None], input: PublishArticleInput) -> ArticlePayload:
        async def run() -> dict[str, Any]:
            context = info.context
            raw_id = referenced_id(input.id, "Article", "id")
            return _article(await context.write(service.publish_article, context.require_principal(), raw_id))

        return await run_mutation(run, ArticlePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="PUBLISHED → DRAFT; a draft is INVALID_TRANSITION.")
    async def unpublish_article(self, info: Info[RequestContext, None], input: UnpublishArticleInput) -> ArticlePayload:
        async def run() -> dict[str, Any]:
            context = info.context
            raw_id = referenced_id(input.id, "Article", "id")
            return _article(await context.write(service.unpublish_article, context.require_principal(), raw_id))

        return await run_mutation(run, ArticlePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Move a ticket to RESOLVED and write its solution down as a DRAFT article linked to it, "
        "in one transaction (a ticket resolved again keeps its first article)."
    )
    async def resolve_ticket(self, info: Info[RequestContext, None], input: ResolveTicketInput) -> ResolveTicketPayload:
        async def run() -> dict[str, Any]:
            context = info.context
            raw_id = referenced_id(input.id, "Ticket", "id")
            data = provided(input)
            data.pop("id", None)
            ticket, article = await context.write(resolution.resolve_ticket, context.require_principal(), raw_id, data)
            return {"ticket": Ticket.from_model(ticket), "article": Article.from_model(article)}

        return await run_mutation(run, ResolveTicketPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Count that an article helped with a ticket (once per article and ticket; "
        "recording it again changes nothing), for `serviceReport.topArticles`."
    )
    async def record_article_use(
        self, info: Info[RequestContext, None], input: RecordArticleUseInput
    ) -> RecordArticleUsePayload:
        async def run() -> dict[str, Any]:
            context = info.context
            article_id = referenced_id(input.article_id, "Article", "articleId")
            ticket_id = referenced_id(input.ticket_id, "Ticket", "ticketId")
            article, ticket, counted = await context.write(
                resolution.record_article_use, context.require_principal(), article_id, ticket_id
            )
            return {"article": Article.from_model(article), "ticket": Ticket.from_model(ticket), "counted": counted}

        return await run_mutation(run, RecordArticleUsePayload)  # type: ignore[no-any-return]
