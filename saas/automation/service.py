"""Changing automation rules: validation of the trigger, conditions and actions, audit, events.

A rule is checked whole on save, against the tenant as it is then: its trigger must be an
event type of the catalog that the core or one of the tenant's enabled plugins owns
(`UNKNOWN_TRIGGER`, `PLUGIN_NOT_ENABLED`); its conditions must parse (saas/automation/conditions.py,
codes with the path to the offending node); each action must name a known type with valid
parameters and existing records (saas/automation/actions.py). Nothing is written when any
check fails. Updates take the rule's `version` when given (stale: CONFLICT); deletes are soft.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import AUTOMATION_MANAGE, require
from saas.auth.principal import Principal
from saas.automation.actions import check_actions
from saas.automation.conditions import check_conditions
from saas.automation.extensions import Extensions, extensions_of
from saas.automation.models import AutomationRule, AutomationRun
from saas.automation.rules import rule_visibility
from saas.db.paging import pages_per_parent
from saas.errors import ConflictError, FieldError, InputInvalid, UserErrorCode
from saas.events.catalog import is_registered, owner_of
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.plugin_host.host import PluginHost
from saas.validation import Checker

MAX_CONDITIONS_BYTES = 20_000
MAX_ACTIONS_BYTES = 20_000
MAX_RUNS = 100


def _now() -> datetime:
    return datetime.now(UTC)


def list_rules(session: Session, principal: Principal) -> list[AutomationRule]:
    """The tenant's live rules, oldest first."""
    condition = rule_visibility(principal, "automation_rules")
    query = select(AutomationRule).where(text(condition.sql)).params(**condition.params)
    return list(session.scalars(query.order_by(AutomationRule.created_at, AutomationRule.id)))


def get_rule(session: Session, principal: Principal, rule_id: uuid.UUID, *, lock: bool = False) -> AutomationRule:
    condition = rule_visibility(principal, "automation_rules")
    query = select(AutomationRule).where(AutomationRule.id == rule_id, text(condition.sql)).params(**condition.params)
    rule = session.scalar(query.with_for_update() if lock else query)
    if rule is None:
        raise InputInvalid([FieldError(["input", "id"], UserErrorCode.NOT_FOUND, "No such automation rule")])
    return rule


def runs_of(
    session: Session, keys: Sequence[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], list[AutomationRun]]:
    """The newest `first` runs of each rule, for every (rule id, first) key, in one statement."""
    if not keys:
        return {}
    limit = max(first for _, first in keys)
    pages = pages_per_parent(
        session,
        AutomationRun,
        AutomationRun.rule_id,
        [rule_id for rule_id, _ in keys],
        (AutomationRun.at, AutomationRun.id),
        limit,
        descending=True,
        count=False,
    )
    return {(rule_id, first): pages[rule_id].rows[:first] for rule_id, first in keys}


# -- checks -----------------------------------------------------------------------------------


def _json_size(check: Checker, field: str, value: Any, maximum: int) -> bool:
    """Whether the JSON is small enough and storable (PostgreSQL's jsonb refuses NUL characters)."""
    encoded = json.dumps(value, ensure_ascii=False)
    if len(encoded.encode()) > maximum:
        check.fail(field, UserErrorCode.TOO_LARGE, f"{field} must be at most {maximum} bytes as JSON")
        return False
    if "\\u0000" in encoded:
        check.fail(field, UserErrorCode.INVALID, f"{field} must not contain NUL characters")
        return False
    return True


def _check(
    session: Session, principal: Principal, extensions: Extensions, data: dict[str, Any], *, creating: bool
) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating, max_length=100)
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            check.fail("enabled", UserErrorCode.TYPE_MISMATCH, "enabled must be true or false")
        else:
            check.clean["enabled"] = data["enabled"]
    if creating or "trigger" in data:
        trigger = data.get("trigger")
        if not isinstance(trigger, str) or not trigger.strip():
            check.fail("trigger", UserErrorCode.REQUIRED, "trigger is required")
        elif not is_registered(trigger.strip()):
            check.fail("trigger", UserErrorCode.UNKNOWN_TRIGGER, f"{trigger.strip()[:100]!r} is not an event type")
        elif (owner := owner_of(trigger.strip())) is not None and owner not in principal.plugins:
            check.fail(
                "trigger", UserErrorCode.PLUGIN_NOT_ENABLED, f"{trigger.strip()} needs the {owner} plugin enabled"
            )
        else:
            check.clean["trigger"] = trigger.strip()
    if creating or "conditions" in data:
        conditions = data.get("conditions")
        if conditions is None:
            check.fail("conditions", UserErrorCode.REQUIRED, "conditions is required ({} matches every event)")
        elif _json_size(check, "conditions", conditions, MAX_CONDITIONS_BYTES):
            operators = {name: found[1].check for name, found in extensions.conditions.items()}
            errors = check_conditions(
                conditions, ["input", "conditions"], {k: _plugin_check(v) for k, v in operators.items()}
            )
            check.errors.extend(errors)
            check.clean["conditions"] = conditions
    if creating or "actions" in data:
        actions = data.get("actions")
        if actions is None:
            check.fail("actions", UserErrorCode.REQUIRED, "actions is required")
        elif _json_size(check, "actions", actions, MAX_ACTIONS_BYTES):
            check.errors.extend(check_actions(session, principal.tenant_id, actions, extensions))
            check.clean["actions"] = actions
    return check.done()


def _extensions(plugins: PluginHost | None, principal: Principal) -> Extensions:
    return Extensions() if plugins is None else extensions_of(plugins, principal.plugins)


def _plugin_check(check: Any) -> Any:
    return lambda _op, value: check(value)


def _event(session: Session, principal: Principal, action: str, rule: AutomationRule, before: Any) -> None:
    from saas.automation.graphql.types import AutomationRule as RuleType  # the API's shape of a rule

    record_change(session, principal, action, "AutomationRule", rule.id, before, snapshot(rule))
    emit_event(session, action, {"automationRule": api_object(RuleType.from_model(rule))})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


# -- changes ----------------------------------------------------------------------------------


def create_rule(
    session: Session, principal: Principal, plugins: PluginHost | None, data: dict[str, Any]
) -> AutomationRule:
    """A new rule (enabled unless `enabled` is false), checked whole; `plugins` None: core actions only."""
    require(principal.permissions, AUTOMATION_MANAGE)
    clean = _check(session, principal, _extensions(plugins, principal), data, creating=True)
    rule = AutomationRule(id=uuid.uuid4(), **clean)
    session.add(rule)
    session.flush()
    session.refresh(rule)
    _event(session, principal, "automation_rule.created", rule, None)
    return rule


def update_rule(
    session: Session, principal: Principal, plugins: PluginHost | None, rule_id: uuid.UUID, data: dict[str, Any]
) -> AutomationRule:
    """Change the given fields; `version`, when given, must be the rule's (else CONFLICT)."""
    require(principal.permissions, AUTOMATION_MANAGE)
    data = dict(data)
    version = data.pop("version", None)
    rule = get_rule(session, principal, rule_id, lock=True)
    if version is not None and version != rule.version:
        raise ConflictError(current_version=rule.version)
    if "name" in data and data["name"] is None:
        raise InputInvalid([FieldError(["input", "name"], UserErrorCode.REQUIRED, "name must not be null")])
    clean = _check(session, principal, _extensions(plugins, principal), data, creating=False)
    before = snapshot(rule)
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.updated_at = _now()
    _flush(session)
    _event(session, principal, "automation_rule.updated", rule, before)
    return rule


def delete_rule(session: Session, principal: Principal, rule_id: uuid.UUID) -> AutomationRule:
    """The rule stops running; its run log stays."""
    require(principal.permissions, AUTOMATION_MANAGE)
    rule = get_rule(session, principal, rule_id, lock=True)
    before = snapshot(rule)
    rule.deleted_at = _now()
    _flush(session)
    _event(session, principal, "automation_rule.deleted", rule, before)
    return rule
