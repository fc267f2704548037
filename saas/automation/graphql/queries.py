"""Automation reads: the rule list compiled into one statement (their runs through one loader)."""

from __future__ import annotations

import uuid

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.automation import service
from saas.automation.graphql.loaders import rule_loader
from saas.automation.graphql.sql import AUTOMATION_RULE, RULE_ORDER
from saas.automation.graphql.types import AutomationRule
from saas.automation.rules import rule_visibility
from saas.db.conditions import SqlCondition
from saas.schema.compiled import compiled_list
from saas.schema.context import RequestContext


def rule_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    """The live rules, for callers who manage automation (FORBIDDEN for the others)."""
    return rule_visibility(context.require_principal(), alias)


async def load_rule(context: RequestContext, raw_id: uuid.UUID) -> AutomationRule | None:
    rule_condition(context)
    return await rule_loader(context).load(raw_id)


@strawberry.type
class AutomationQueries:
    @strawberry.field(description="The tenant's automation rules, oldest first (automation:manage).")
    async def automation_rules(self, info: Info[RequestContext, None]) -> list[AutomationRule]:
        context = info.context
        principal = context.require_principal()
        condition = rule_condition(context)

        def rules(session: Session) -> list[AutomationRule]:
            return [AutomationRule.from_model(row) for row in service.list_rules(session, principal)]

        return await compiled_list(  # type: ignore[no-any-return]
            info, AUTOMATION_RULE, condition, RULE_ORDER, lambda: context.read(rules)
        )
