"""The `importProgress` subscription: an import's state after each chunk, until it finishes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.imports import service
from saas.imports.graphql.types import ImportJob
from saas.imports.progress import TOPIC
from saas.imports.rules import import_visible_to
from saas.realtime import listen
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


@strawberry.type
class ImportSubscriptions:
    @strawberry.subscription(
        description="The import now, then after each chunk until it is PREVIEWED, COMPLETED or FAILED; "
        "NOT_FOUND for an import the caller does not see."
    )
    async def import_progress(
        self, info: Info[RequestContext, None], job_id: strawberry.ID
    ) -> AsyncGenerator[ImportJob, None]:
        context = info.context
        principal = context.require_principal()
        raw_id = decode_id(job_id, "ImportJob")
        messages = listen(context.runtime.redis_url, principal.tenant_id, TOPIC)
        # Listening starts before the first read, so that a chunk finished in between is not missed.
        pending: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(anext(messages))
        await asyncio.sleep(0)
        try:
            job = await context.read(_fresh_job, principal, raw_id)
            yield ImportJob.from_model(job)
            while not service.is_finished(job):
                message = await pending
                pending = asyncio.ensure_future(anext(messages))
                if message.get("job_id") != str(raw_id) or not import_visible_to(
                    principal, message.get("created_by_id")
                ):
                    continue
                job = await context.read(_fresh_job, principal, raw_id)
                yield ImportJob.from_model(job)
        finally:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending  # the listener ends inside its own task; then the generator is closed
            await messages.aclose()  # type: ignore[attr-defined]  # an async generator


def _fresh_job(session: Session, principal: Any, raw_id: uuid.UUID) -> Any:
    """The job as committed now (the request's session may hold an older copy)."""
    session.expire_all()
    return service.get_import_job(session, principal, raw_id)
