"""GraphQL types of dead letters (jobs that failed every retry)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from saas.jobs.deadletters import DeadLetter as DeadLetterRecord
from saas.schema.common import Payload
from saas.schema.relay import to_global_id


@strawberry.type(description="A job message of the tenant that failed every retry; kept for 7 days.")
class DeadLetter:
    id: strawberry.ID
    message_id: str = strawberry.field(description="The job message's id, the same across its retries.")
    job: str = strawberry.field(description="The job's name.")
    args: JSON = strawberry.field(description="The job's positional arguments (the tenant left out).")
    kwargs: JSON = strawberry.field(description="The job's keyword arguments.")
    reason: str = strawberry.field(description="The last failure: exception type and message.")
    attempts: int
    failed_at: datetime

    @classmethod
    def from_record(cls, record: DeadLetterRecord) -> DeadLetter:
        return cls(
            id=strawberry.ID(to_global_id("DeadLetter", record.id)),
            message_id=record.message_id,
            job=record.job,
            args=cast(JSON, record.args),
            kwargs=cast(JSON, record.kwargs),
            reason=record.reason,
            attempts=record.attempts,
            failed_at=record.failed_at,
        )


@strawberry.input
class RetryDeadLetterInput:
    id: strawberry.ID


@strawberry.type
class RetryDeadLetterPayload(Payload):
    dead_letter: DeadLetter | None = strawberry.field(default=None, description="The message, enqueued again.")
