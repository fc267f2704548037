"""Operations and helpers shared by the automation tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from saas.events.dispatch import Dispatched, dispatch_pending
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session

ERRORS = "userErrors { field code message }"
RULE_FIELDS = "id name enabled trigger conditions actions version"
RUNS = "runs(first: 20) { at outcome error eventType depth }"
CREATE = f"""mutation($input: CreateAutomationRuleInput!) {{ createAutomationRule(input: $input) {{
  automationRule {{ {RULE_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdateAutomationRuleInput!) {{ updateAutomationRule(input: $input) {{
  automationRule {{ {RULE_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"""mutation($input: DeleteAutomationRuleInput!) {{ deleteAutomationRule(input: $input) {{
  automationRule {{ id }} {ERRORS} }} }}"""
RULES = f"{{ automationRules {{ {RULE_FIELDS} }} }}"
RULES_WITH_RUNS = f"{{ automationRules {{ {RULE_FIELDS} {RUNS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on AutomationRule { name trigger } } }"
ME = "{ me { member { id } } }"
CREATE_CUSTOMER = f"""mutation($input: CreateCustomerInput!) {{ createCustomer(input: $input) {{
  customer {{ id name version tier tags owner {{ id }} }} {ERRORS} }} }}"""
UPDATE_CUSTOMER = f"""mutation($input: UpdateCustomerInput!) {{ updateCustomer(input: $input) {{
  customer {{ id version }} {ERRORS} }} }}"""
CUSTOMER = "query($id: ID!) { customer(id: $id) { id name tier source tags lifecycleStage customFields owner { id } } }"
CREATE_TEAM = f"""mutation($input: CreateTeamInput!) {{ createTeam(input: $input) {{ team {{ id members {{ id }} }} {ERRORS} }} }}"""
CREATE_WEBHOOK = (
    f"""mutation($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ webhook {{ id }} {ERRORS} }} }}"""
)
ENABLE_PLUGIN = (
    f"""mutation($input: EnablePluginInput!) {{ enablePlugin(input: $input) {{ plugin {{ name }} {ERRORS} }} }}"""
)
DEFINE_FIELD = f"""mutation($input: DefineCustomFieldInput!) {{ defineCustomField(input: $input) {{ customFieldDefinition {{ key }} {ERRORS} }} }}"""


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    payload = client.data(query, {"input": variables})[field]
    assert payload["userErrors"] == [], payload
    return payload  # type: ignore[no-any-return]


def errors(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str] | None, str]]:
    payload = client.data(query, {"input": variables})[field]
    assert payload.get("automationRule") is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def member_id(client: Any) -> str:
    return str(client.data(ME)["me"]["member"]["id"])


def create_rule(client: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "A rule")
    fields.setdefault("trigger", "customer.created")
    fields.setdefault("conditions", {})
    fields.setdefault("actions", [{"type": "add_tag", "tag": "auto"}])
    return ok(client, CREATE, fields, "createAutomationRule")["automationRule"]  # type: ignore[no-any-return]


def create_customer(client: Any, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    variables = {"name": name, "kind": "COMPANY", "allowDuplicate": True, **fields}
    return ok(client, CREATE_CUSTOMER, variables, "createCustomer")["customer"]  # type: ignore[no-any-return]


def customer(client: Any, customer_id: str) -> dict[str, Any]:
    return client.data(CUSTOMER, {"id": customer_id})["customer"]  # type: ignore[no-any-return]


def dispatch(runtime: Runtime, tenant_id: uuid.UUID) -> Dispatched:
    with tenant_session(runtime.engine, tenant_id) as session:
        return dispatch_pending(session, tenant_id, runtime.plugins)


def dispatch_all(runtime: Runtime, tenant_id: uuid.UUID, rounds: int = 20) -> list[uuid.UUID]:
    """Dispatch until the outbox is empty (events caused by automation included); the deliveries made."""
    deliveries: list[uuid.UUID] = []
    for _ in range(rounds):
        result = dispatch(runtime, tenant_id)
        deliveries.extend(result.deliveries)
        if result.events == 0:
            return deliveries
    raise AssertionError("the outbox never emptied")


def runs(runtime: Runtime, tenant_id: uuid.UUID, rule_id: str) -> list[tuple[str, str | None, int]]:
    """(outcome, error code, depth) of a rule's runs, oldest first."""
    with tenant_session(runtime.engine, tenant_id) as session:
        rows = session.execute(
            text("SELECT outcome, error, depth FROM automation_runs WHERE rule_id = :id ORDER BY at, depth"),
            {"id": decode_id(rule_id, "AutomationRule")},
        )
        return [(r.outcome.upper(), r.error.split(":")[0] if r.error else None, r.depth) for r in rows]


def count(runtime: Runtime, tenant_id: uuid.UUID, table: str, where: str = "TRUE") -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())
