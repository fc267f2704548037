"""DataLoaders of the automation domain: a rule's runs, one statement for every rule of a list."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.automation import models, service
from saas.automation.rules import rule_visibility
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.automation.graphql.types import AutomationRule, AutomationRun


def runs_loader(context: RequestContext) -> DataLoader[tuple[uuid.UUID, int], list[AutomationRun]]:
    """The newest runs of rules, by (rule id, how many)."""
    from saas.automation.graphql.types import AutomationRun

    def batch(session: Session, keys: list[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], list[AutomationRun]]:
        found = service.runs_of(session, keys)
        return {key: [AutomationRun.from_model(run) for run in runs] for key, runs in found.items()}

    return request_loader(context, "automation_runs", batch, missing=list)


def rule_loader(context: RequestContext) -> DataLoader[uuid.UUID, AutomationRule | None]:
    """Live rules by id, for callers who manage automation."""
    from saas.automation.graphql.types import AutomationRule

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, AutomationRule]:
        condition = rule_visibility(context.require_principal(), "automation_rules")
        rows = session.scalars(
            select(models.AutomationRule)
            .where(models.AutomationRule.id.in_(ids), text(condition.sql))
            .params(**condition.params)
        )
        return {row.id: AutomationRule.from_model(row) for row in rows}

    return request_loader(context, "automation_rules_by_id", batch)
