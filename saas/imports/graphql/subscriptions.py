"""The `importProgress` subscription: an import's state after each chunk, until it finishes."""

from __future__ import annotations

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
from saas.realtime import Listening
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
        # Listening starts before the first read, so that a chunk finished in between is not missed
        # (a job that finished before the subscription answers once, with its final state).
        async with Listening(context.runtime.redis_url, principal.tenant_id, TOPIC) as messages:
            sent, finished = await context.read(_fresh_job, principal, raw_id)
            yield sent
            while not finished:
                message = await messages.next()
                if message.get("job_id") != str(raw_id) or not import_visible_to(
                    principal, message.get("created_by_id")
                ):
                    continue
                job, finished = await context.read(_fresh_job, principal, raw_id)
                if job == sent:  # a message of a chunk the last read already saw
                    continue
                sent = job
                yield job


def _fresh_job(session: Session, principal: Any, raw_id: uuid.UUID) -> tuple[ImportJob, bool]:
    """The job as committed now (the request's session may hold an older copy), and whether it finished.

    Read whole here: the ORM row may be expired once the read returns."""
    session.expire_all()
    job = service.get_import_job(session, principal, raw_id)
    return ImportJob.from_model(job), service.is_finished(job)
