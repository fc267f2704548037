"""Operations and helpers shared by the leads and teams tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session

ERRORS = "userErrors { field code message }"
LEAD_FIELDS = (
    "id name company email phone status customFields claimedAt returnedAt returnReason disqualifiedAt "
    "disqualifyReason convertedAt version createdAt updatedAt owner { id } channel { id name }"
)
CREATE_LEAD = (
    f"mutation($input: CreateLeadInput!) {{ createLead(input: $input) {{ lead {{ {LEAD_FIELDS} }} {ERRORS} }} }}"
)
CLAIM = f"mutation($input: ClaimLeadsInput!) {{ claimLeads(input: $input) {{ leads {{ id status owner {{ id }} }} {ERRORS} }} }}"
RETURN = f"mutation($input: ReturnLeadsInput!) {{ returnLeads(input: $input) {{ leads {{ id status owner {{ id }} returnReason returnedAt }} {ERRORS} }} }}"
DISQUALIFY = f"mutation($input: DisqualifyLeadInput!) {{ disqualifyLead(input: $input) {{ lead {{ id status disqualifyReason }} {ERRORS} }} }}"
CONVERT = f"""mutation($input: ConvertLeadInput!) {{ convertLead(input: $input) {{
  lead {{ id status convertedAt }} customer {{ id name kind lifecycleStage source owner {{ id }} }}
  contact {{ id name email phone isPrimary }} {ERRORS} }} }}"""
CREATE_CHANNEL = f"mutation($input: CreateChannelInput!) {{ createChannel(input: $input) {{ channel {{ id name cost currency createdAt }} {ERRORS} }} }}"
SETTINGS = "{ salesSettings { leadClaimCap publicPoolDays } }"
UPDATE_SETTINGS = f"mutation($input: UpdateSalesSettingsInput!) {{ updateSalesSettings(input: $input) {{ salesSettings {{ leadClaimCap publicPoolDays }} {ERRORS} }} }}"
LEADS = """query($first: Int, $after: String, $filter: LeadFilterInput) {
  leads(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status owner { id } } }
  }
}"""
LEAD = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Lead { name status } ... on Channel { name cost } ... on Team { name } } }"
CHANNELS = "{ channels { id name cost currency } }"
CREATE_CUSTOMER = f"mutation($input: CreateCustomerInput!) {{ createCustomer(input: $input) {{ customer {{ id name owner {{ id }} }} {ERRORS} }} }}"
CUSTOMERS = "{ customers(first: 100) { edges { node { id name } } } }"
ME = "{ me { member { id } } }"


def member_id(client: Any) -> str:
    return str(client.data(ME)["me"]["member"]["id"])


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    payload = client.data(query, {"input": variables})[field]
    assert payload["userErrors"] == [], payload
    return payload  # type: ignore[no-any-return]


def errors(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str] | None, str]]:
    payload = client.data(query, {"input": variables})[field]
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def create_lead(client: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "Jane Lead")
    return ok(client, CREATE_LEAD, fields, "createLead")["lead"]


def listed(client: Any, flt: dict[str, Any] | None = None) -> set[str]:
    data = client.data(LEADS, {"first": 100, "filter": flt})["leads"]
    return {edge["node"]["id"] for edge in data["edges"]}


def count(runtime: Runtime, tenant_id: uuid.UUID, table: str, where: str = "TRUE") -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())


def table_counts(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    tables = ("leads", "channels", "customers", "contacts", "teams", "team_members", "sales_settings", "outbox_events")
    return {table: count(runtime, tenant_id, table) for table in tables}


def events(runtime: Runtime, tenant_id: uuid.UUID, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with tenant_session(runtime.engine, tenant_id) as session:
        rows = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE type LIKE :p ORDER BY seq"), {"p": f"{prefix}%"}
        )
        return [(row[0], row[1]) for row in rows]
