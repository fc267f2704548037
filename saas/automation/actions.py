"""What automation rules do: each built-in action checked on save and run on an event.

Every action acts through the domain's own service, as a tenant job does (a principal with no
member behind it and the permissions the action needs), so the domain's rules, audit entries,
events and notifications apply as if a member had acted. The record an action works on is
named by a dotted path into the event's payload (`subject`, default `customer.id`), and text
parameters may quote the payload with `{path}` (`"Call {customer.name}"`).

- `assign_owner` `{"teamId"}`: the customer's owner becomes the team's next member in turn
  (round robin by member id; the cursor is one row per rule and action, moved by one atomic
  `INSERT … ON CONFLICT DO UPDATE … RETURNING`, so concurrent runs never pick the same turn).
- `create_task` `{"title", "dueInDays"?, "assigneeId"?}`: a follow-up task on the subject, for
  the named member or else the subject's owner (`<subject's object>.owner.id`).
- `set_field` `{"field", "value"}`: one of `SETTABLE_FIELDS` or `customFields.<key>` of the customer.
- `add_tag` `{"tag"}`: the customer gets the tag (once).
- `notify` `{"title", "body"?, "roles"?, "toOwner"?}`: a notification to the members holding the
  roles and/or to the subject's owner.
- `call_webhook` `{"webhookId"}`: a delivery of the event to one of the tenant's webhooks, by the
  webhooks' own delivery jobs (signed, retried, SSRF-protected, in the delivery log).
- `create_lead` `{"name", "company"?, "email"?, "phone"?, "note"?}`: a lead in the lead pool.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.accounts.models import Membership
from saas.auth.permissions import Role
from saas.auth.principal import Principal
from saas.automation.conditions import resolve, valid_path
from saas.automation.extensions import Extensions
from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import definitions_for, normalise_value
from saas.customers import service as customers
from saas.customers.models import LifecycleStage
from saas.errors import FieldError, NotFoundError, UserErrorCode
from saas.events.payloads import node_ref
from saas.plugin_host.contributions import DomainEvent, PluginContext
from saas.schema.relay import decode_id, from_global_id, to_global_id
from saas.teams.models import Team, TeamMember
from saas.webhooks.models import Webhook, WebhookDelivery

MAX_ACTIONS = 10
MAX_TITLE = 200
MAX_BODY = 2_000
MAX_TAG = 50
MAX_DUE_DAYS = 365
DEFAULT_SUBJECT = "customer.id"
TEMPLATE = re.compile(r"\{([^{}]*)\}")
# Customer fields `set_field` may change (GraphQL name -> column, and the longest text it takes).
SETTABLE_FIELDS: dict[str, tuple[str, int]] = {
    "tier": ("tier", 20),
    "industry": ("industry", 100),
    "source": ("source", 100),
    "lifecycleStage": ("lifecycle_stage", 20),
}
CUSTOM_FIELD_PREFIX = "customFields."
BUILT_IN = ("assign_owner", "create_task", "set_field", "add_tag", "notify", "call_webhook", "create_lead")


class ActionFailed(Exception):
    """An action could not act on this event: logged on the run as `code: message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


# -- checking on save --------------------------------------------------------------------------


@dataclass
class _Check:
    session: Session
    tenant_id: uuid.UUID
    extensions: Extensions
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, path: list[str], code: UserErrorCode, message: str) -> None:
        self.errors.append(FieldError(["input", "actions", *path], code, message))

    def text(self, params: dict[str, Any], key: str, path: list[str], *, required: bool, max_length: int) -> None:
        value = params.get(key)
        if value is None:
            if required:
                self.fail([*path, key], UserErrorCode.REQUIRED, f"{key} is required")
            return
        if not isinstance(value, str):
            self.fail([*path, key], UserErrorCode.TYPE_MISMATCH, f"{key} must be a string")
        elif not value.strip():
            self.fail([*path, key], UserErrorCode.REQUIRED, f"{key} must not be empty")
        elif len(value) > max_length:
            self.fail([*path, key], UserErrorCode.TOO_LONG, f"{key} must be at most {max_length} characters")
        elif any(not valid_path(p.strip()) for p in TEMPLATE.findall(value)):
            self.fail([*path, key], UserErrorCode.INVALID_PATH, f"{key} quotes the payload as {{dotted.path}}")

    def path(self, params: dict[str, Any], key: str, path: list[str]) -> None:
        if key in params and not valid_path(params[key]):
            self.fail([*path, key], UserErrorCode.INVALID_PATH, f"{key} must be a dotted path such as customer.id")

    def reference(self, params: dict[str, Any], key: str, path: list[str], type_name: str, *, required: bool) -> Any:
        """The raw id a parameter names, None when it is missing or malformed (reported, if wrong)."""
        value = params.get(key)
        if value is None:
            if required:
                self.fail([*path, key], UserErrorCode.REQUIRED, f"{key} is required")
            return None
        if not isinstance(value, str):
            self.fail([*path, key], UserErrorCode.TYPE_MISMATCH, f"{key} must be the id of a {type_name}")
            return None
        try:
            return decode_id(value, type_name)
        except NotFoundError:
            return None

    def missing(self, path: list[str], key: str, type_name: str) -> None:
        self.fail([*path, key], UserErrorCode.NOT_FOUND, f"No such {type_name}")


def _check_assign_owner(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.path(params, "subject", path)
    team_id = check.reference(params, "teamId", path, "Team", required=True)
    named = isinstance(params.get("teamId"), str)
    if named and (team_id is None or check.session.get(Team, (check.tenant_id, team_id)) is None):
        check.missing(path, "teamId", "Team")


def _check_member(check: _Check, params: dict[str, Any], key: str, path: list[str]) -> None:
    if params.get(key) is None:
        return
    member_id = check.reference(params, key, path, "Member", required=False)
    if isinstance(params[key], str):
        member = check.session.get(Membership, (check.tenant_id, member_id)) if member_id else None
        if member is None or not member.is_active:
            check.missing(path, key, "Member")


def _check_create_task(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.path(params, "subject", path)
    check.text(params, "title", path, required=True, max_length=MAX_TITLE)
    days = params.get("dueInDays", 1)
    if isinstance(days, bool) or not isinstance(days, int):
        check.fail([*path, "dueInDays"], UserErrorCode.TYPE_MISMATCH, "dueInDays must be a whole number")
    elif not 0 <= days <= MAX_DUE_DAYS:
        check.fail([*path, "dueInDays"], UserErrorCode.OUT_OF_RANGE, f"dueInDays must be between 0 and {MAX_DUE_DAYS}")
    _check_member(check, params, "assigneeId", path)


def _check_set_field(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.path(params, "subject", path)
    name, value = params.get("field"), params.get("value")
    if not isinstance(name, str) or not name:
        check.fail([*path, "field"], UserErrorCode.REQUIRED, "field is required")
        return
    if name.startswith(CUSTOM_FIELD_PREFIX):
        key = name[len(CUSTOM_FIELD_PREFIX) :]
        definition = definitions_for(check.session, check.tenant_id, CustomFieldEntity.CUSTOMER).get(key)
        if definition is None or definition.archived:
            check.fail([*path, "field"], UserErrorCode.UNKNOWN_FIELD, f"No custom field {key!r} on customers")
            return
        if value is not None:
            try:
                normalise_value(definition, value)
            except Exception as refused:  # the custom field's own verdict, with its code
                code = getattr(refused, "code", UserErrorCode.TYPE_MISMATCH)
                check.fail([*path, "value"], UserErrorCode(code), str(refused))
        return
    if name not in SETTABLE_FIELDS:
        allowed = ", ".join([*SETTABLE_FIELDS, "customFields.<key>"])
        check.fail([*path, "field"], UserErrorCode.UNKNOWN_FIELD, f"field must be one of {allowed}")
        return
    if name == "lifecycleStage":
        if not isinstance(value, str) or value.upper() not in LifecycleStage.__members__:
            stages = ", ".join(LifecycleStage.__members__)
            check.fail([*path, "value"], UserErrorCode.TYPE_MISMATCH, f"lifecycleStage is one of {stages}")
        return
    if value is not None and not isinstance(value, str):
        check.fail([*path, "value"], UserErrorCode.TYPE_MISMATCH, f"{name} takes a string or null")
    elif isinstance(value, str) and len(value) > SETTABLE_FIELDS[name][1]:
        check.fail(
            [*path, "value"], UserErrorCode.TOO_LONG, f"{name} takes at most {SETTABLE_FIELDS[name][1]} characters"
        )


def _check_add_tag(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.path(params, "subject", path)
    check.text(params, "tag", path, required=True, max_length=MAX_TAG)


def _check_notify(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.path(params, "subject", path)
    check.text(params, "title", path, required=True, max_length=MAX_TITLE)
    check.text(params, "body", path, required=False, max_length=MAX_BODY)
    roles, to_owner = params.get("roles", []), params.get("toOwner", False)
    if not isinstance(to_owner, bool):
        check.fail([*path, "toOwner"], UserErrorCode.TYPE_MISMATCH, "toOwner must be true or false")
    if not isinstance(roles, list) or not all(
        isinstance(r, str) and r.lower() in Role.__members__.values() for r in roles
    ):
        names = ", ".join(role.name for role in Role)
        check.fail([*path, "roles"], UserErrorCode.TYPE_MISMATCH, f"roles must be a list of {names}")
    elif not roles and to_owner is not True:
        check.fail([*path, "roles"], UserErrorCode.REQUIRED, "notify needs roles or toOwner")


def _check_call_webhook(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    webhook_id = check.reference(params, "webhookId", path, "Webhook", required=True)
    if isinstance(params.get("webhookId"), str):
        webhook = check.session.get(Webhook, (check.tenant_id, webhook_id)) if webhook_id else None
        if webhook is None or webhook.deleted_at is not None:
            check.missing(path, "webhookId", "Webhook")


def _check_create_lead(check: _Check, params: dict[str, Any], path: list[str]) -> None:
    check.text(params, "name", path, required=True, max_length=200)
    for key in ("company", "email", "phone"):
        check.text(params, key, path, required=False, max_length=254)
    check.text(params, "note", path, required=False, max_length=MAX_BODY)


_CHECKS: dict[str, Callable[[_Check, dict[str, Any], list[str]], None]] = {
    "assign_owner": _check_assign_owner,
    "create_task": _check_create_task,
    "set_field": _check_set_field,
    "add_tag": _check_add_tag,
    "notify": _check_notify,
    "call_webhook": _check_call_webhook,
    "create_lead": _check_create_lead,
}


def check_actions(session: Session, tenant_id: uuid.UUID, actions: Any, extensions: Extensions) -> list[FieldError]:
    """The problems of a rule's action list, each on its path (`input.actions.<index>.<key>`)."""
    check = _Check(session, tenant_id, extensions)
    if not isinstance(actions, list):
        check.fail([], UserErrorCode.TYPE_MISMATCH, "actions must be a list of objects")
        return check.errors
    if not 1 <= len(actions) <= MAX_ACTIONS:
        code = UserErrorCode.REQUIRED if not actions else UserErrorCode.TOO_LARGE
        check.fail([], code, f"a rule has 1 to {MAX_ACTIONS} actions")
        return check.errors
    for index, action in enumerate(actions):
        path = [str(index)]
        if not isinstance(action, dict):
            check.fail(path, UserErrorCode.TYPE_MISMATCH, "an action must be an object with a type")
            continue
        kind = action.get("type")
        params = {key: value for key, value in action.items() if key != "type"}
        if isinstance(kind, str) and kind in _CHECKS:
            _CHECKS[kind](check, params, path)
        elif isinstance(kind, str) and kind in extensions.actions:
            problem = extensions.actions[kind][1].check(params)
            if problem:
                check.fail(path, UserErrorCode.INVALID, str(problem)[:500])
        elif isinstance(kind, str) and extensions.plugin_of(kind) is not None:
            check.fail([*path, "type"], UserErrorCode.UNKNOWN_ACTION, f"{kind} is not an action of an enabled plugin")
        else:
            check.fail([*path, "type"], UserErrorCode.UNKNOWN_ACTION, f"type must be one of {', '.join(BUILT_IN)}")
    return check.errors


# -- running ---------------------------------------------------------------------------------


@dataclass
class ActionRun:
    """One rule's run on one event: what its actions act with, and what they leave for after commit."""

    session: Session
    principal: Principal
    rule_id: uuid.UUID
    rule_name: str
    run_id: uuid.UUID
    event: DomainEvent
    extensions: Extensions
    plugin_context: Callable[[str], PluginContext]
    deliveries: list[uuid.UUID] = field(default_factory=list)


def render(template: str, payload: dict[str, Any]) -> str:
    """`template` with each `{path}` replaced by the payload's value there ("" when it has none)."""

    def value(match: re.Match[str]) -> str:
        found = resolve(payload, match[1].strip())
        return "" if found is None or isinstance(found, dict | list) else str(found)

    return TEMPLATE.sub(value, template).strip()


def _subject(run: ActionRun, params: dict[str, Any], type_name: str | None = "Customer") -> tuple[str, uuid.UUID]:
    path = params.get("subject", DEFAULT_SUBJECT)
    global_id = resolve(run.event.payload, path)
    if not isinstance(global_id, str):
        raise ActionFailed("SUBJECT_MISSING", f"the event has no {path}")
    try:
        kind, raw_id = from_global_id(global_id)
    except NotFoundError:
        raise ActionFailed("SUBJECT_MISSING", f"{path} is not an id") from None
    if type_name is not None and kind != type_name:
        raise ActionFailed("SUBJECT_MISSING", f"{path} is not a {type_name}")
    return global_id, raw_id


def _owner(run: ActionRun, params: dict[str, Any]) -> uuid.UUID | None:
    root = str(params.get("subject", DEFAULT_SUBJECT)).split(".")[0]
    owner = resolve(run.event.payload, f"{root}.owner.id")
    try:
        return decode_id(owner, "Member") if isinstance(owner, str) else None
    except NotFoundError:
        return None


def _change_customer(run: ActionRun, params: dict[str, Any], change: Callable[[Any], dict[str, Any]]) -> None:
    _, customer_id = _subject(run, params)
    customer = customers.get_customer(run.session, run.principal, customer_id, lock=True)
    data = change(customer)
    if data:
        customers.update_customer(run.session, run.principal, customer_id, customer.version, data)


def _assign_owner(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    team_id = decode_id(params["teamId"], "Team")
    members = list(
        run.session.scalars(
            select(TeamMember.membership_id)
            .join(
                Membership, (Membership.tenant_id == TeamMember.tenant_id) & (Membership.id == TeamMember.membership_id)
            )
            .where(TeamMember.team_id == team_id, Membership.is_active.is_(True))
            .order_by(TeamMember.membership_id)
        )
    )
    if not members:
        raise ActionFailed("NO_TEAM_MEMBERS", "the team has no active members")
    position = run.session.execute(
        text(
            "INSERT INTO automation_cursors (tenant_id, rule_id, action_index, position) "
            "VALUES (:tenant_id, :rule_id, :index, 1) "
            "ON CONFLICT (tenant_id, rule_id, action_index) "
            "DO UPDATE SET position = automation_cursors.position + 1 RETURNING position"
        ),
        {"tenant_id": run.principal.tenant_id, "rule_id": run.rule_id, "index": index},
    ).scalar_one()
    owner = members[(int(position) - 1) % len(members)]
    _change_customer(run, params, lambda customer: {"owner_id": owner} if customer.owner_id != owner else {})


def _create_task(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    from saas.followups.service import create_task  # followups names customers' records: imported when used

    subject, _ = _subject(run, params, None)
    assignee = decode_id(params["assigneeId"], "Member") if params.get("assigneeId") else _owner(run, params)
    if assignee is None:
        raise ActionFailed("NO_ASSIGNEE", "the subject has no owner and the action names no assignee")
    due_at = datetime.now(UTC) + timedelta(days=int(params.get("dueInDays", 1)))
    title = render(params["title"], run.event.payload)[:MAX_TITLE] or "Follow up"
    create_task(
        run.session, run.principal, {"title": title, "due_at": due_at, "subject_id": subject, "assignee_id": assignee}
    )


def _set_field(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    name, value = params["field"], params.get("value")

    def change(customer: Any) -> dict[str, Any]:
        if name.startswith(CUSTOM_FIELD_PREFIX):
            return {"custom_fields": {**customer.custom_fields, name[len(CUSTOM_FIELD_PREFIX) :]: value}}
        column = SETTABLE_FIELDS[name][0]
        if name == "lifecycleStage":
            return {column: LifecycleStage[str(value).upper()].value}
        return {column: value}

    _change_customer(run, params, change)


def _add_tag(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    tag = params["tag"].strip()
    _change_customer(run, params, lambda c: {} if tag in (c.tags or []) else {"tags": [*(c.tags or []), tag]})


def _notify(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    from saas.notifications.service import notify, notify_roles

    title = render(params["title"], run.event.payload)[:MAX_TITLE] or run.rule_name
    body = render(params.get("body") or "", run.event.payload)
    data = {
        "automationRule": node_ref("AutomationRule", run.rule_id),
        "event": {"id": str(run.event.id), "type": run.event.type},
    }
    notified = {
        n.recipient_id
        for n in notify_roles(
            run.session, [Role(r.lower()) for r in params.get("roles", [])], "automation", title, body, data
        )
    }
    if params.get("toOwner"):
        owner = _owner(run, params)
        if owner is None:
            raise ActionFailed("NO_OWNER", "the subject has no owner to notify")
        if owner not in notified:
            notify(run.session, owner, "automation", title, body, data)


def _call_webhook(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    webhook_id = decode_id(params["webhookId"], "Webhook")
    webhook = run.session.get(Webhook, (run.principal.tenant_id, webhook_id))
    if webhook is None or webhook.deleted_at is not None:
        raise ActionFailed("NOT_FOUND", "the webhook was deleted")
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=webhook_id,
        # One delivery per run and action: the run's id stands for the event (a webhook also
        # subscribed to the event type gets its own delivery of it besides).
        event_id=uuid.uuid5(run.run_id, str(index)),
        event_type=run.event.type,
        payload={
            **run.event.payload,
            "automationRule": {"id": to_global_id("AutomationRule", run.rule_id), "name": run.rule_name},
        },
        occurred_at=run.event.occurred_at,
    )
    run.session.add(delivery)
    run.deliveries.append(delivery.id)


def _create_lead(run: ActionRun, index: int, params: dict[str, Any]) -> None:
    from saas.followups.service import log_activity
    from saas.leads.service import create_lead

    payload = run.event.payload
    data = {key: render(params[key], payload) for key in ("name", "company", "email", "phone") if params.get(key)}
    if not data.get("name"):
        raise ActionFailed("REQUIRED", "the lead's name is empty for this event")
    lead = create_lead(run.session, run.principal, {**{k: v for k, v in data.items() if v}, "allow_duplicate": True})
    note = render(params.get("note") or "", payload)
    if note:
        log_activity(
            run.session,
            run.principal,
            {"subject_id": to_global_id("Lead", lead.id), "kind": "note", "summary": note[:500]},
        )


_RUNS: dict[str, Callable[[ActionRun, int, dict[str, Any]], None]] = {
    "assign_owner": _assign_owner,
    "create_task": _create_task,
    "set_field": _set_field,
    "add_tag": _add_tag,
    "notify": _notify,
    "call_webhook": _call_webhook,
    "create_lead": _create_lead,
}


def run_actions(run: ActionRun, actions: list[dict[str, Any]]) -> None:
    """Each action in order; the first that fails raises (`ActionFailed`, or the service's error)."""
    for index, action in enumerate(actions):
        kind = action["type"]
        params = {key: value for key, value in action.items() if key != "type"}
        if kind in _RUNS:
            _RUNS[kind](run, index, params)
        elif kind in run.extensions.actions:
            plugin, extension = run.extensions.actions[kind]
            extension.run(run.plugin_context(plugin), run.event, params)
        else:
            raise ActionFailed("PLUGIN_NOT_ENABLED", f"{kind} is not an action of an enabled plugin")
