"""Automation rule mutations: thin wrappers over saas/automation/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.automation import service
from saas.automation.graphql.types import AutomationRule
from saas.schema.common import Payload, provided, referenced_id, run_mutation
from saas.schema.context import RequestContext


@strawberry.input
class CreateAutomationRuleInput:
    name: str
    trigger: str = strawberry.field(description="An event type, e.g. customer.created.")
    conditions: JSON = strawberry.field(
        description='e.g. {"field": "customer.tier", "op": "eq", "value": "gold"}; {} for all.'
    )
    actions: JSON = strawberry.field(description='e.g. [{"type": "add_tag", "tag": "vip"}].')
    enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="True when left out.")


@strawberry.input
class UpdateAutomationRuleInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    trigger: str | None = strawberry.UNSET
    conditions: JSON | None = strawberry.UNSET
    actions: JSON | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    version: int | None = strawberry.field(default=strawberry.UNSET, description="A stale one fails with CONFLICT.")


@strawberry.input
class DeleteAutomationRuleInput:
    id: strawberry.ID


@strawberry.type
class AutomationRulePayload(Payload):
    automation_rule: AutomationRule | None = None


def _rule(row: Any) -> dict[str, Any]:
    return {"automation_rule": AutomationRule.from_model(row)}


@strawberry.type
class AutomationMutations:
    @strawberry.mutation(description="A rule, checked whole: trigger, conditions and actions (automation:manage).")
    async def create_automation_rule(
        self, info: Info[RequestContext, None], input: CreateAutomationRuleInput
    ) -> AutomationRulePayload:
        context = info.context

        async def run() -> dict[str, Any]:
            data = provided(input)
            return _rule(
                await context.write(service.create_rule, context.require_principal(), context.runtime.plugins, data)
            )

        return await run_mutation(run, AutomationRulePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Change the given fields of a rule; they are checked as on create.")
    async def update_automation_rule(
        self, info: Info[RequestContext, None], input: UpdateAutomationRuleInput
    ) -> AutomationRulePayload:
        context = info.context

        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "AutomationRule", "id")
            data = provided(input, skip=("id",))
            principal = context.require_principal()
            return _rule(await context.write(service.update_rule, principal, context.runtime.plugins, raw_id, data))

        return await run_mutation(run, AutomationRulePayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="The rule stops running; its run log stays.")
    async def delete_automation_rule(
        self, info: Info[RequestContext, None], input: DeleteAutomationRuleInput
    ) -> AutomationRulePayload:
        context = info.context

        async def run() -> dict[str, Any]:
            raw_id = referenced_id(input.id, "AutomationRule", "id")
            return _rule(await context.write(service.delete_rule, context.require_principal(), raw_id))

        return await run_mutation(run, AutomationRulePayload)  # type: ignore[no-any-return]
