"""Dead letters of the caller's tenant, listed for owners and admins."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.auth.permissions import JOBS_READ, require
from saas.jobs import broker as job_broker
from saas.jobs.deadletters import list_dead_letters
from saas.jobs.graphql.types import DeadLetter
from saas.schema.context import RequestContext
from saas.schema.relay import page_size


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
            job_broker.namespace(context.runtime),
            principal.tenant_id,
            limit,
            job_broker.dead_message_ttl_ms(context.runtime),
        )
        return [DeadLetter.from_record(record) for record in records]
