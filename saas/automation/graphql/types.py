"""GraphQL types of automation rules and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.automation import models
from saas.automation.models import RunOutcome
from saas.schema.common import Node
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id

MAX_RUNS_SHOWN = 100

strawberry.enum(
    RunOutcome,
    name="AutomationRunOutcome",
    description="SUCCEEDED: every action ran; FAILED: an action failed (its writes undone); "
    "SKIPPED: not acted on (see `error`, e.g. DEPTH_LIMIT).",
)


@strawberry.type(description="One run of a rule on one event (at most one per rule and event).")
class AutomationRun:
    at: datetime
    outcome: RunOutcome
    error: str | None = strawberry.field(description="`CODE: message` when FAILED or SKIPPED.")
    event_id: str = strawberry.field(description="The event's id, as webhooks receive it (`event.id`).")
    event_type: str
    depth: int = strawberry.field(description="How many automation runs led to the event (0: a person or job).")

    @classmethod
    def from_model(cls, row: models.AutomationRun) -> AutomationRun:
        return cls(
            at=row.at,
            outcome=RunOutcome(row.outcome),
            error=row.error,
            event_id=str(row.event_id),
            event_type=row.event_type,
            depth=row.depth,
        )


@strawberry.type(description='"When <trigger> and <conditions> then <actions>" (docs/api.md, Automation rules).')
class AutomationRule(Node):
    name: str
    enabled: bool
    trigger: str = strawberry.field(description="An event type of the catalog (the core's or an enabled plugin's).")
    conditions: JSON = strawberry.field(description='all/any/not and {"field", "op", "value"} leaves; {} matches all.')
    actions: JSON = strawberry.field(description="A list of {type, …parameters}, run in order.")
    version: int
    created_at: datetime
    updated_at: datetime
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The newest runs first (`first` at most 100).")
    async def runs(self, info: Info[RequestContext, None], first: int = 20) -> list[AutomationRun]:
        from saas.automation.graphql.loaders import runs_loader

        if not 0 <= first <= MAX_RUNS_SHOWN:
            from saas.errors import BadUserInputError

            raise BadUserInputError(f"first must be between 0 and {MAX_RUNS_SHOWN}")
        if first == 0:
            return []
        return await runs_loader(info.context).load((self.raw_id, first))

    @classmethod
    def from_model(cls, row: models.AutomationRule) -> AutomationRule:
        return cls(
            id=strawberry.ID(to_global_id("AutomationRule", row.id)),
            name=row.name,
            enabled=row.enabled,
            trigger=row.trigger,
            conditions=cast(JSON, row.conditions),
            actions=cast(JSON, row.actions),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            raw_id=row.id,
        )
