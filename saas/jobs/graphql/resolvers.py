"""Dead letters of the caller's tenant: listed for owners and admins, and sent again on request.

Another tenant's dead letter is NOT_FOUND, exactly as a missing one.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.permissions import JOBS_MANAGE, JOBS_READ, require
from saas.errors import NotFoundError
from saas.jobs import broker as job_broker
from saas.jobs.deadletters import list_dead_letters, retry_dead_letter
from saas.schema.common import run_mutation
from saas.schema.context import RequestContext
from saas.jobs.graphql.types import DeadLetter, RetryDeadLetterInput, RetryDeadLetterPayload
from saas.schema.relay import decode_id, page_size


@strawberry.type
class JobQueries:
    @strawberry.field(description="Jobs of the tenant that failed every retry, newest first (owners and admins).")
    async def dead_letters(self, info: Info[RequestContext, None], first: int | None = 20) -> list[DeadLetter]:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, JOBS_READ)
        limit = page_size(first, context.runtime.settings.max_page_size)
        records = await context.global_work(
            list_dead_letters,
            context.runtime.redis,
            job_broker.namespace(),
            principal.tenant_id,
            limit,
            job_broker.dead_message_ttl_ms(),
        )
        return [DeadLetter.from_record(record) for record in records]


@strawberry.type
class JobMutations:
    @strawberry.mutation(description="Enqueue a dead letter again, with fresh retries (owners and admins).")
    async def retry_dead_letter(
        self, info: Info[RequestContext, None], input: RetryDeadLetterInput
    ) -> RetryDeadLetterPayload:
        context = info.context
        principal = context.require_principal()
        require(principal.permissions, JOBS_MANAGE)
        redis_id = str(decode_id(input.id, "DeadLetter"))
        broker = job_broker.enqueuing_broker(context.runtime.redis)

        async def run() -> dict[str, Any]:
            record = await context.global_work(retry_dead_letter, broker, principal.tenant_id, redis_id)
            if record is None:
                raise NotFoundError("Not found", id=input.id)
            return {"dead_letter": DeadLetter.from_record(record)}

        return await run_mutation(run, RetryDeadLetterPayload)  # type: ignore[no-any-return]
