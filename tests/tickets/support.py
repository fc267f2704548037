"""Operations and helpers shared by the tickets and portal tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session

ERRORS = "userErrors { field code message }"
TICKET_FIELDS = (
    "id number subject body type priority status channel breached firstResponseDueAt resolutionDueAt "
    "firstRespondedAt resolvedAt closedAt customer { id } contact { id } assignee { id } classifiedBy { id name }"
)
CREATE_TICKET = f"mutation($input: CreateTicketInput!) {{ createTicket(input: $input) {{ ticket {{ {TICKET_FIELDS} }} {ERRORS} }} }}"
ASSIGN = f"mutation($input: AssignTicketInput!) {{ assignTicket(input: $input) {{ ticket {{ id status assignee {{ id }} }} {ERRORS} }} }}"
STATUS = f"mutation($input: UpdateTicketStatusInput!) {{ updateTicketStatus(input: $input) {{ ticket {{ {TICKET_FIELDS} }} {ERRORS} }} }}"
RECLASSIFY = f"mutation($input: ReclassifyTicketInput!) {{ reclassifyTicket(input: $input) {{ ticket {{ {TICKET_FIELDS} }} {ERRORS} }} }}"
COMMENT = f"""mutation($input: CommentOnTicketInput!) {{ commentOnTicket(input: $input) {{
  ticket {{ id firstRespondedAt }} comment {{ id body public fromCustomer authorName author {{ id }} }} {ERRORS} }} }}"""
CREATE_RULE = f"""mutation($input: CreateClassificationRuleInput!) {{ createClassificationRule(input: $input) {{
  classificationRule {{ id name keywords pattern customerTier channel setType setPriority position }} {ERRORS} }} }}"""
UPDATE_RULE = f"""mutation($input: UpdateClassificationRuleInput!) {{ updateClassificationRule(input: $input) {{
  classificationRule {{ id name keywords pattern position setType }} {ERRORS} }} }}"""
DELETE_RULE = f"mutation($input: DeleteClassificationRuleInput!) {{ deleteClassificationRule(input: $input) {{ classificationRule {{ id }} {ERRORS} }} }}"
REORDER_RULES = f"mutation($input: ReorderClassificationRulesInput!) {{ reorderClassificationRules(input: $input) {{ classificationRules {{ id position }} {ERRORS} }} }}"
RULES = "{ classificationRules { id name position setType } }"
SET_TYPE = f"mutation($input: SetTicketTypeInput!) {{ setTicketType(input: $input) {{ ticketType {{ key name skills }} {ERRORS} }} }}"
TYPES = "{ ticketTypes { key name skills } }"
SET_SKILLS = f"mutation($input: SetAgentSkillsInput!) {{ setAgentSkills(input: $input) {{ agentSkills {{ member {{ id }} skills }} {ERRORS} }} }}"
SET_SLA = f"""mutation($input: SetSlaPolicyInput!) {{ setSlaPolicy(input: $input) {{
  slaPolicy {{ type priority firstResponseMinutes resolutionMinutes }} {ERRORS} }} }}"""
SLAS = "{ slaPolicies { type priority firstResponseMinutes resolutionMinutes } }"
TICKETS = """query($first: Int, $after: String, $filter: TicketFilterInput) {
  tickets(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number subject status type priority assignee { id } } }
  }
}"""
TICKET = f"query($id: ID!) {{ ticket(id: $id) {{ {TICKET_FIELDS} comments {{ totalCount edges {{ node {{ body public }} }} }} }} }}"
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Ticket { number subject } ... on ClassificationRule { name } } }"
CREATE_CUSTOMER = (
    f"mutation($input: CreateCustomerInput!) {{ createCustomer(input: $input) {{ customer {{ id name }} {ERRORS} }} }}"
)
CREATE_CONTACT = (
    f"mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ contact {{ id }} {ERRORS} }} }}"
)
CREATE_ACCESS = f"""mutation($input: CreatePortalAccessInput!) {{ createPortalAccess(input: $input) {{
  portalAccess {{ id active customer {{ id }} contact {{ id }} }} token {ERRORS} }} }}"""
REVOKE_ACCESS = f"mutation($input: RevokePortalAccessInput!) {{ revokePortalAccess(input: $input) {{ portalAccess {{ id active revokedAt }} {ERRORS} }} }}"
ACCESSES = "query($customerId: ID) { portalAccesses(first: 50, customerId: $customerId) { totalCount edges { node { id active } } } }"
ME = "{ me { member { id } } }"
NOTIFICATIONS = "{ notifications(first: 50) { edges { node { kind title } } } }"


def member_id(client: Any) -> str:
    return str(client.data(ME)["me"]["member"]["id"])


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    payload = client.data(query, {"input": variables})[field]
    assert payload["userErrors"] == [], payload
    return payload  # type: ignore[no-any-return]


def errors(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str] | None, str]]:
    payload = client.data(query, {"input": variables})[field]
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def create_customer(client: Any, name: str = "Acme", **fields: Any) -> str:
    return str(
        ok(client, CREATE_CUSTOMER, {"name": name, "kind": "COMPANY", **fields}, "createCustomer")["customer"]["id"]
    )


def create_contact(client: Any, customer_id: str, name: str = "Pat Buyer") -> str:
    return str(ok(client, CREATE_CONTACT, {"customerId": customer_id, "name": name}, "createContact")["contact"]["id"])


def create_ticket(client: Any, customer_id: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("subject", "Question about my invoice")
    fields.setdefault("body", "Where can I download it?")
    return ok(client, CREATE_TICKET, {"customerId": customer_id, **fields}, "createTicket")["ticket"]


def listed(client: Any, flt: dict[str, Any] | None = None) -> list[str]:
    data = client.data(TICKETS, {"first": 100, "filter": flt})["tickets"]
    return [edge["node"]["id"] for edge in data["edges"]]


def notification_kinds(client: Any) -> list[str]:
    return [edge["node"]["kind"] for edge in client.data(NOTIFICATIONS)["notifications"]["edges"]]


def count(runtime: Runtime, tenant_id: uuid.UUID, table: str, where: str = "TRUE") -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())


def events(runtime: Runtime, tenant_id: uuid.UUID, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with tenant_session(runtime.engine, tenant_id) as session:
        rows = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE type LIKE :prefix ORDER BY seq"),
            {"prefix": f"{prefix}%"},
        )
        return [(row.type, row.payload) for row in rows]
