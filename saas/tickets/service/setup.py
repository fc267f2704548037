"""The tenant's service set-up: ticket types, classification rules, agents' skills and SLA policies.

Managers, admins and owners change it (`tickets:manage`); every change is audited and an event.
The default types (`DEFAULT_TYPES`) are stored on the first change that needs them
(`ensure_ticket_types`, idempotent under concurrency: `INSERT … ON CONFLICT DO NOTHING`); a
read before that shows the same defaults.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import TICKETS_MANAGE, TICKETS_READ, require
from saas.auth.principal import Principal
from saas.errors import UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.tickets.changes import invalid, now
from saas.tickets.classification import check_pattern
from saas.tickets.models import AgentSkills, ClassificationRule, SlaPolicy, TicketType
from saas.tickets.rules import DEFAULT_TYPES, as_priority
from saas.validation import Checker

KEY_FORMAT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_SKILLS = 20
MAX_KEYWORDS = 50
MAX_POSITION = 10_000
MAX_MINUTES = 366 * 24 * 60
MAX_RULES_REORDERED = 500


# -- ticket types -----------------------------------------------------------------------------


def ensure_ticket_types(session: Session, tenant_id: uuid.UUID) -> None:
    """Store the default types the tenant lacks (each key once, whoever runs this at the same time)."""
    session.execute(
        insert(TicketType)
        .values([{"tenant_id": tenant_id, "key": key, "name": name, "skills": [key]} for key, name in DEFAULT_TYPES])
        .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
    )


def list_ticket_types(session: Session, principal: Principal) -> list[TicketType]:
    """The tenant's types by key: the stored ones and the defaults not stored yet."""
    require(principal.permissions, TICKETS_READ)
    stored = {row.key: row for row in session.scalars(select(TicketType))}
    for key, name in DEFAULT_TYPES:
        stored.setdefault(key, TicketType(tenant_id=principal.tenant_id, key=key, name=name, skills=[key]))
    return [stored[key] for key in sorted(stored)]


def type_skills(session: Session, type_key: str) -> list[str]:
    row = session.scalar(select(TicketType).where(TicketType.key == type_key))
    return list(row.skills) if row is not None else []


def existing_type(session: Session, field: str, value: Any) -> str:
    key = str(value or "").strip().lower()
    if not key:
        raise invalid([field], UserErrorCode.REQUIRED, f"{field} is required")
    if session.scalar(select(TicketType.key).where(TicketType.key == key)) is None:
        raise invalid([field], UserErrorCode.NOT_FOUND, f"No ticket type {key!r} (see ticketTypes)")
    return key


def _skills(check: Checker, field: str) -> None:
    check.tags(field, max_items=MAX_SKILLS, max_length=50)


def set_ticket_type(session: Session, principal: Principal, data: dict[str, Any]) -> TicketType:
    """Create or change a type (`key`, `name`, `skills`); its skills default to its key."""
    require(principal.permissions, TICKETS_MANAGE)
    check = Checker(data)
    key = str(data.get("key") or "").strip().lower()
    if not key:
        check.fail("key", UserErrorCode.REQUIRED, "key is required")
    elif not KEY_FORMAT.match(key):
        code = UserErrorCode.TOO_LONG if len(key) > 50 else UserErrorCode.INVALID
        check.fail("key", code, "key must be 1 to 50 lowercase letters, digits, '-' or '_'")
    check.text("name", required=True, max_length=100)
    _skills(check, "skills")
    clean = check.done()
    ensure_ticket_types(session, principal.tenant_id)
    row = session.scalar(select(TicketType).where(TicketType.key == key).with_for_update())
    before = snapshot(row) if row is not None else None
    if row is None:
        row = TicketType(key=key, name=clean["name"], skills=clean.get("skills") or [key])
        session.add(row)
    else:
        row.name = clean["name"]
        if "skills" in clean:
            row.skills = clean["skills"] or [key]
        row.updated_at = now()
    session.flush()
    record_change(session, principal, "ticket_type.saved", "TicketType", key, before, snapshot(row))
    emit_event(session, "ticket_type.saved", {"ticketType": {"key": row.key, "name": row.name, "skills": row.skills}})
    return row


# -- classification rules ---------------------------------------------------------------------


def active_rules(session: Session) -> list[ClassificationRule]:
    """The tenant's rules in the order they are tried."""
    return list(
        session.scalars(
            select(ClassificationRule)
            .where(ClassificationRule.deleted_at.is_(None))
            .order_by(ClassificationRule.position, ClassificationRule.created_at, ClassificationRule.id)
        )
    )


def list_rules(session: Session, principal: Principal) -> list[ClassificationRule]:
    require(principal.permissions, TICKETS_READ)
    if principal.scope:
        return []  # the portal does not see how tickets are sorted
    return active_rules(session)


def _lock_rules(session: Session, tenant_id: uuid.UUID) -> None:
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"classification-rules:{tenant_id}"}
    )


def _check_rule(session: Session, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating, max_length=100)
    check.tags("keywords", max_items=MAX_KEYWORDS, max_length=100)
    check.text("pattern", max_length=500)
    check.text("customer_tier", max_length=20)
    check.text("channel", max_length=50)
    if check.clean.get("pattern"):
        problem = check_pattern(check.clean["pattern"])
        if problem is not None:
            check.fail("pattern", UserErrorCode.INVALID, f"pattern is {problem}")
    if "set_priority" in data:
        if data["set_priority"] is None:
            check.fail("set_priority", UserErrorCode.REQUIRED, "setPriority must not be null")
        else:
            check.clean["set_priority"] = as_priority(data["set_priority"]).value
    if "position" in data and data["position"] is not None:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int):
            check.fail("position", UserErrorCode.INVALID, "position must be a whole number")
        elif not 1 <= position <= MAX_POSITION:
            check.fail("position", UserErrorCode.OUT_OF_RANGE, f"position must be between 1 and {MAX_POSITION}")
        else:
            check.clean["position"] = position
    if creating or "set_type" in data:
        check.passthrough("set_type")
    clean = check.done()
    if "set_type" in clean:
        clean["set_type"] = existing_type(session, "setType", clean["set_type"])
    return clean


def _has_condition(values: dict[str, Any]) -> bool:
    return bool(values.get("keywords") or values.get("pattern") or values.get("customer_tier") or values.get("channel"))


def _rule_event(session: Session, principal: Principal, action: str, rule: ClassificationRule, before: Any) -> None:
    from saas.tickets.graphql.types import ClassificationRule as RuleType

    record_change(session, principal, action, "ClassificationRule", rule.id, before, snapshot(rule))
    emit_event(session, action, {"classificationRule": api_object(RuleType.from_model(rule))})


def _make_room(session: Session, position: int, keep: uuid.UUID | None = None) -> None:
    """Move the rules at `position` and after one place down, so that a rule can take it."""
    query = select(ClassificationRule).where(
        ClassificationRule.deleted_at.is_(None), ClassificationRule.position >= position
    )
    for rule in session.scalars(query):
        if rule.id != keep:
            rule.position += 1


def create_rule(session: Session, principal: Principal, data: dict[str, Any]) -> ClassificationRule:
    """A new rule at `position` (the rules from there on move down one), or after the last one."""
    require(principal.permissions, TICKETS_MANAGE)
    ensure_ticket_types(session, principal.tenant_id)
    clean = _check_rule(session, data, creating=True)
    if not _has_condition(clean):
        raise invalid([], UserErrorCode.REQUIRED, "A rule needs keywords, a pattern, a customer tier or a channel")
    _lock_rules(session, principal.tenant_id)
    last = session.scalar(select(func.max(ClassificationRule.position)).where(ClassificationRule.deleted_at.is_(None)))
    position = clean.pop("position", None)
    if position is None or position > (last or 0):
        position = (last or 0) + 1
    else:
        _make_room(session, position)
    rule = ClassificationRule(id=uuid.uuid4(), position=position, **clean)
    session.add(rule)
    session.flush()
    session.refresh(rule)
    _rule_event(session, principal, "classification_rule.created", rule, None)
    return rule


def _rule(session: Session, rule_id: uuid.UUID) -> ClassificationRule:
    rule = session.scalar(
        select(ClassificationRule)
        .where(ClassificationRule.id == rule_id, ClassificationRule.deleted_at.is_(None))
        .with_for_update()
    )
    if rule is None:
        raise invalid(["id"], UserErrorCode.NOT_FOUND, "No such classification rule")
    return rule


def update_rule(session: Session, principal: Principal, rule_id: uuid.UUID, data: dict[str, Any]) -> ClassificationRule:
    """Change the given fields of a rule; it keeps at least one condition."""
    require(principal.permissions, TICKETS_MANAGE)
    _lock_rules(session, principal.tenant_id)
    rule = _rule(session, rule_id)
    clean = _check_rule(session, data, creating=False)
    if "name" in clean and clean["name"] is None:
        raise invalid(["name"], UserErrorCode.REQUIRED, "name must not be empty")
    before = snapshot(rule)
    position = clean.pop("position", None)
    merged = {key: getattr(rule, key) for key in ("keywords", "pattern", "customer_tier", "channel")} | clean
    if not _has_condition(merged):
        raise invalid([], UserErrorCode.REQUIRED, "A rule needs keywords, a pattern, a customer tier or a channel")
    for key, value in clean.items():
        setattr(rule, key, value if key != "keywords" else (value or []))
    if position is not None and position != rule.position:
        _make_room(session, position, keep=rule.id)
        rule.position = position
    rule.updated_at = now()
    session.flush()
    _rule_event(session, principal, "classification_rule.updated", rule, before)
    return rule


def delete_rule(session: Session, principal: Principal, rule_id: uuid.UUID) -> ClassificationRule:
    """The rule stops classifying; tickets it classified still name it."""
    require(principal.permissions, TICKETS_MANAGE)
    rule = _rule(session, rule_id)
    before = snapshot(rule)
    rule.deleted_at = now()
    session.flush()
    _rule_event(session, principal, "classification_rule.deleted", rule, before)
    return rule


def reorder_rules(session: Session, principal: Principal, ids: Sequence[uuid.UUID]) -> list[ClassificationRule]:
    """Positions 1, 2, … in the order of `ids`, which names every rule of the tenant once."""
    require(principal.permissions, TICKETS_MANAGE)
    if len(ids) > MAX_RULES_REORDERED:
        raise invalid(["ids"], UserErrorCode.TOO_LONG, f"at most {MAX_RULES_REORDERED} rules")
    if len(set(ids)) != len(ids):
        raise invalid(["ids"], UserErrorCode.INVALID, "ids names a rule twice")
    _lock_rules(session, principal.tenant_id)
    rules = {rule.id: rule for rule in active_rules(session)}
    unknown = [i for i in ids if i not in rules]
    if unknown:
        raise invalid(["ids"], UserErrorCode.NOT_FOUND, "No such classification rule")
    if set(ids) != set(rules):
        raise invalid(["ids"], UserErrorCode.INVALID, "ids must name every classification rule once")
    for position, rule_id in enumerate(ids, start=1):
        rules[rule_id].position = position
        rules[rule_id].updated_at = now()
    session.flush()
    ordered = [rules[i] for i in ids]
    record_change(session, principal, "classification_rules.reordered", "ClassificationRule", principal.tenant_id, None,
                  {"order": [str(i) for i in ids]})  # fmt: skip
    emit_event(
        session,
        "classification_rules.reordered",
        {"classificationRules": [node_ref("ClassificationRule", rule.id) for rule in ordered]},
    )
    return ordered


# -- agents' skills ----------------------------------------------------------------------------


def list_agent_skills(session: Session, principal: Principal) -> list[AgentSkills]:
    require(principal.permissions, TICKETS_READ)
    if principal.scope:
        return []
    return list(session.scalars(select(AgentSkills).order_by(AgentSkills.membership_id)))


def set_agent_skills(session: Session, principal: Principal, member_id: uuid.UUID, skills: list[str]) -> AgentSkills:
    """The member's skills, replaced (an empty list: no tickets are dispatched to them)."""
    require(principal.permissions, TICKETS_MANAGE)
    check = Checker({"skills": skills})
    _skills(check, "skills")
    clean = check.done()
    member = session.get(Membership, (principal.tenant_id, member_id))
    if member is None or not member.is_active:
        raise invalid(["memberId"], UserErrorCode.NOT_FOUND, "No such member")
    row = session.get(AgentSkills, (principal.tenant_id, member_id), with_for_update=True)
    before = snapshot(row) if row is not None else None
    if row is None:
        row = AgentSkills(membership_id=member_id, skills=clean["skills"])
        session.add(row)
    else:
        row.skills = clean["skills"]
        row.updated_at = now()
    session.flush()
    session.refresh(row)
    record_change(session, principal, "agent_skills.set", "AgentSkills", member_id, before, snapshot(row))
    emit_event(
        session, "agent_skills.set", {"agentSkills": {"member": node_ref("Member", member_id), "skills": row.skills}}
    )
    return row


# -- SLA policies -------------------------------------------------------------------------------


def list_sla_policies(session: Session, principal: Principal) -> list[SlaPolicy]:
    require(principal.permissions, TICKETS_READ)
    return list(session.scalars(select(SlaPolicy).order_by(SlaPolicy.type, SlaPolicy.priority)))


def _minutes(check: Checker, field: str, value: Any) -> None:
    name = "firstResponseMinutes" if field == "first_response_minutes" else "resolutionMinutes"
    if isinstance(value, bool) or not isinstance(value, int):
        check.fail(field, UserErrorCode.INVALID, f"{name} must be a whole number")
    elif not 1 <= value <= MAX_MINUTES:
        check.fail(field, UserErrorCode.OUT_OF_RANGE, f"{name} must be between 1 and {MAX_MINUTES}")
    else:
        check.clean[field] = value


def set_sla_policy(session: Session, principal: Principal, data: dict[str, Any]) -> SlaPolicy:
    """The policy of a type and priority, created or replaced; tickets created from then on use it."""
    require(principal.permissions, TICKETS_MANAGE)
    check = Checker(data)
    _minutes(check, "first_response_minutes", data.get("first_response_minutes"))
    _minutes(check, "resolution_minutes", data.get("resolution_minutes"))
    clean = check.done()
    if clean["first_response_minutes"] > clean["resolution_minutes"]:
        raise invalid(
            ["firstResponseMinutes"], UserErrorCode.INVALID, "the first response cannot be due after the resolution"
        )
    ensure_ticket_types(session, principal.tenant_id)
    type_key = existing_type(session, "type", data.get("type"))
    priority = as_priority(data["priority"]).value
    row = session.get(SlaPolicy, (principal.tenant_id, type_key, priority), with_for_update=True)
    before = snapshot(row) if row is not None else None
    if row is None:
        row = SlaPolicy(type=type_key, priority=priority, **clean)
        session.add(row)
    else:
        row.first_response_minutes = clean["first_response_minutes"]
        row.resolution_minutes = clean["resolution_minutes"]
        row.updated_at = now()
    session.flush()
    record_change(session, principal, "sla_policy.set", "SlaPolicy", f"{type_key}:{priority}", before, snapshot(row))
    from saas.tickets.graphql.types import SlaPolicy as SlaPolicyType

    emit_event(session, "sla_policy.set", {"slaPolicy": api_object(SlaPolicyType.from_model(row))})
    return row
