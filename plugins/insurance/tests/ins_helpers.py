"""Operations and helpers shared by the insurance tests (through the real GraphQL engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from saas.plugin_api.testing import PluginTestTenant

USER_ERRORS = "userErrors { field code message }"
POLICY = "id number line status premium currency sumInsured startsOn endsOn ratingFactors renewedFromId cancelledOn customer { id } ratingTable { version }"
CLAIM = "id number occurredOn reportedOn cause region status reserve paidAmount incurred decisionReason policy { id }"
ENABLE = f"mutation($input: EnablePluginInput!) {{ enablePlugin(input: $input) {{ plugin {{ name enabled }} {USER_ERRORS} }} }}"
CREATE_CUSTOMER = (
    "mutation($name: String!) { createCustomer(input: {name: $name, allowDuplicate: true}) { customer { id } } }"
)
ISSUE = (
    f"mutation($input: InsIssuePolicyInput!) {{ issuePolicy(input: $input) {{ policy {{ {POLICY} }} {USER_ERRORS} }} }}"
)
RENEW = (
    f"mutation($input: InsRenewPolicyInput!) {{ renewPolicy(input: $input) {{ policy {{ {POLICY} }} {USER_ERRORS} }} }}"
)
CANCEL = f"mutation($input: InsCancelPolicyInput!) {{ cancelPolicy(input: $input) {{ policy {{ {POLICY} cancelReason }} {USER_ERRORS} }} }}"
REPORT = (
    f"mutation($input: InsReportClaimInput!) {{ reportClaim(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
)
RESERVE = f"mutation($input: InsSetClaimReserveInput!) {{ setClaimReserve(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
APPROVE = (
    f"mutation($input: InsApproveClaimInput!) {{ approveClaim(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
)
DENY = f"mutation($input: InsDenyClaimInput!) {{ denyClaim(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
PAY = f"mutation($input: InsPayClaimInput!) {{ payClaim(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
CLOSE = f"mutation($input: InsCloseClaimInput!) {{ closeClaim(input: $input) {{ claim {{ {CLAIM} }} {USER_ERRORS} }} }}"
SET_TABLE = f"mutation($input: InsSetRatingTableInput!) {{ setRatingTable(input: $input) {{ ratingTable {{ id line version baseFrequency baseSeverity fullCredibilityClaims factors {{ name level relativity }} }} {USER_ERRORS} }} }}"
QUOTE = """query($input: InsQuoteInput!) { insuranceQuote(input: $input) { premium currency ratingTableVersion
  breakdown { baseFrequency observedFrequency credibility blendedFrequency expectedSeverity relativity purePremium expenseLoading profitLoading } } }"""
POLICIES = f"query($filter: InsPolicyFilterInput, $first: Int, $after: String) {{ policies(first: $first, after: $after, filter: $filter) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {POLICY} }} }} }} }}"
CLAIMS = f"query($filter: InsClaimFilterInput) {{ claims(first: 100, filter: $filter) {{ totalCount edges {{ node {{ {CLAIM} }} }} }} }}"
STATS = """query($groupBy: [InsStatisticsDimension!]!, $filter: InsStatisticsFilterInput) {
  claimStatistics(groupBy: $groupBy, filter: $filter) { key { line cause region year } exposureYears claimCount frequency severity incurred earnedPremium lossRatio } }"""
RISKS = "query($filter: InsRenewalRiskFilterInput) { renewalRisks(first: 50, filter: $filter) { policy { id number } score reasons kind } }"
NODE = (
    "query($id: ID!) { node(id: $id) { id ... on InsPolicy { number premium } ... on InsClaim { number paidAmount } } }"
)
TRAIN = f"mutation {{ trainChurnModel {{ queued outcomes {USER_ERRORS} }} }}"
CHURN_MODEL = "{ churnModel { kind trainedAt samples auc } }"


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """The payload of a mutation that must succeed without user errors."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"] == [], payload
    return payload


def refused(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str], str]]:
    """(field, code) of the user errors of a mutation that must fail; nothing in its result."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"], payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def enable(client: Any, settings: dict[str, Any] | None = None) -> Any:
    ok(client, ENABLE, {"input": {"name": "insurance", "settings": settings}}, "enablePlugin")
    return client


def create_customer(client: Any, name: str = "Acme") -> str:
    return client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]["customer"]["id"]


def issue(client: Any, customer: str, **fields: Any) -> dict[str, Any]:
    data = {
        "customerId": customer,
        "line": "AUTO",
        "sumInsured": "10000.00",
        "startsOn": "2025-01-01",
        "endsOn": "2026-01-01",
    }
    data.update(fields)
    return ok(client, ISSUE, {"input": data}, "issuePolicy")["policy"]


def report(client: Any, policy: str, **fields: Any) -> dict[str, Any]:
    data = {
        "policyId": policy,
        "occurredOn": "2025-03-01",
        "cause": "collision",
        "region": "North",
        "description": "Rear-ended",
    }
    data.update(fields)
    return ok(client, REPORT, {"input": data}, "reportClaim")["claim"]


def count_rows(tenant: PluginTestTenant, table: str, where: str = "TRUE", **params: Any) -> int:
    """The tenant's rows in `table`, read as the application role (under RLS)."""
    with tenant.session() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def run_concurrently(client: Any, query: str, variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every operation at once through the engine (one event loop, the server's thread pool): real
    concurrent transactions."""
    import asyncio

    import orjson

    engine = client.engine

    async def main() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = engine.prepare(query, None, principal)

        async def one(index: int, values: dict[str, Any]) -> dict[str, Any]:
            outcome = await engine.execute(prepared, values, principal, f"concurrent-{index}")
            result: dict[str, Any] = orjson.loads(orjson.dumps(outcome.payload))
            return result

        return await asyncio.gather(*(one(i, v) for i, v in enumerate(variables)))

    return asyncio.run(main())


def acting_for(tenant: PluginTestTenant) -> Any:
    """A principal holding every insurance permission in `tenant`, seeing every customer (as the
    plugin's jobs do), for arranging data through the services in `tenant.session()`."""
    from saas_insurance.rules import PERMISSIONS

    from saas.plugin_api import Principal

    return Principal(tenant_id=tenant.id, label="test", permissions=frozenset(p.name for p in PERMISSIONS))


def current_term(days_left: int = 300) -> dict[str, str]:
    """startsOn and endsOn of a one-year term running today, ending in `days_left` days."""
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    ends = today + timedelta(days=days_left)
    return {"startsOn": (ends - timedelta(days=365)).isoformat(), "endsOn": ends.isoformat()}


def days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()
