"""Helpers of the campaigns tests: campaigns and their records through the API, rows counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient

ERRORS = "userErrors { field code message }"
TODAY = datetime.now(UTC).date()
CAMPAIGN_TABLES = ("campaigns", "campaign_members", "campaign_responses", "leads", "channels", "outbox_events")

CREATE = f"""mutation($input: CreateCampaignInput!) {{
  createCampaign(input: $input) {{ campaign {{ id name channel budget currency status audienceSize }} {ERRORS} }}
}}"""
LAUNCH = f"""mutation($input: CampaignIdInput!) {{
  launchCampaign(input: $input) {{ campaign {{ id status audienceSize }} inboundToken {ERRORS} }}
}}"""
RESPOND = f"""mutation($input: RecordCampaignResponseInput!) {{
  recordCampaignResponse(input: $input) {{ response {{ id kind customerId contactId leadId }} {ERRORS} }}
}}"""
READ = """query($id: ID!) {
  campaign(id: $id) {
    id name channel budget currency startsOn endsOn status audienceSize responses leadsCreated wonAmount roi
    members(first: 10) { edges { cursor node { addedAt customer { id name } } } pageInfo { hasNextPage endCursor } }
  }
}"""


def campaign_input(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Spring mailing",
        "channel": "E-mail",
        "budget": "1000.00",
        "currency": "EUR",
        "startsOn": (TODAY - timedelta(days=10)).isoformat(),
        "endsOn": (TODAY + timedelta(days=10)).isoformat(),
        "audience": {"tag": "vip"},
        **overrides,
    }


def create_campaign(client: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = client.data(CREATE, {"input": campaign_input(**overrides)})["createCampaign"]
    assert payload["userErrors"] == [], payload
    return dict(payload["campaign"])


def launch(client: GraphQLClient, campaign_id: str) -> dict[str, Any]:
    return dict(client.data(LAUNCH, {"input": {"id": campaign_id}})["launchCampaign"])


def respond(client: GraphQLClient, campaign_id: str, **fields: Any) -> dict[str, Any]:
    return dict(client.data(RESPOND, {"input": {"campaignId": campaign_id, **fields}})["recordCampaignResponse"])


def customer(client: GraphQLClient, name: str, tags: list[str] | None = None, owner_id: str | None = None) -> str:
    variables: dict[str, Any] = {"name": name, "tags": tags or [], "allowDuplicate": True}
    if owner_id is not None:
        variables["ownerId"] = owner_id
    result = client.data(
        f"mutation($input: CreateCustomerInput!) {{ createCustomer(input: $input) {{ customer {{ id }} {ERRORS} }} }}",
        {"input": variables},
    )["createCustomer"]
    assert result["userErrors"] == [], result
    return str(result["customer"]["id"])


def table_counts(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in CAMPAIGN_TABLES}


def event_types(runtime: Runtime, tenant_id: uuid.UUID) -> list[str]:
    with tenant_session(runtime.engine, tenant_id) as session:
        return list(session.execute(text("SELECT type FROM outbox_events ORDER BY seq")).scalars())
