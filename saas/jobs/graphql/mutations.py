"""Sending a dead letter of the caller's tenant again (owners and admins).

Another tenant's dead letter is NOT_FOUND, exactly as a missing one.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.auth.permissions import JOBS_MANAGE, require
from saas.errors import NotFoundError
from saas.jobs import broker as job_broker
from saas.jobs.deadletters import retry_and_record
from saas.jobs.graphql.types import DeadLetter, RetryDeadLetterInput, RetryDeadLetterPayload
from saas.schema.common import run_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


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
        broker = job_broker.enqueuing_broker(context.runtime)

        async def run() -> dict[str, Any]:
            record = await context.write(retry_and_record, principal, broker, redis_id, input.id)
            if record is None:
                raise NotFoundError("Not found", id=input.id)
            return {"dead_letter": DeadLetter.from_record(record)}

        return await run_mutation(run, RetryDeadLetterPayload)  # type: ignore[no-any-return]
