"""The plugin as a whole: a tenant without it, tenant isolation of every read and change, forced RLS,
`Customer.policies` / `Customer.claims`, the timeline, events and statements per request."""

from __future__ import annotations

from typing import Any

import pytest
from ins_helpers import (
    APPROVE,
    CANCEL,
    CLAIMS,
    CLOSE,
    DENY,
    ISSUE,
    NODE,
    PAY,
    POLICIES,
    RENEW,
    REPORT,
    RESERVE,
    count_rows,
    create_customer,
    current_term,
    days_ago,
    issue,
    ok,
    refused,
    report,
)
from sqlalchemy import create_engine, text

from saas.plugin_api.testing import disable_plugin

OPERATIONS = {
    "policies": "{ policies { totalCount } }",
    "claims": "{ claims { totalCount } }",
    "claimStatistics": "{ claimStatistics(groupBy: [LINE]) { claimCount } }",
    "insuranceQuote": '{ insuranceQuote(input: {line: AUTO, sumInsured: "1000"}) { premium } }',
    "ratingTables": "{ ratingTables { version } }",
    "renewalRisks": "{ renewalRisks { score } }",
    "churnModel": "{ churnModel { kind } }",
    "setRatingTable": 'mutation { setRatingTable(input: {line: AUTO, baseFrequency: "0.1", baseSeverity: "0.1", expenseLoading: "0.2", profitLoading: "0.05", factors: []}) { ratingTable { id } } }',
    "issuePolicy": 'mutation { issuePolicy(input: {customerId: "x", line: AUTO, sumInsured: "1", startsOn: "2025-01-01", endsOn: "2026-01-01"}) { policy { id } } }',
    "renewPolicy": 'mutation { renewPolicy(input: {id: "x"}) { policy { id } } }',
    "cancelPolicy": 'mutation { cancelPolicy(input: {id: "x", reason: "r"}) { policy { id } } }',
    "reportClaim": 'mutation { reportClaim(input: {policyId: "x", occurredOn: "2025-01-01", cause: "c", region: "r", description: "d"}) { claim { id } } }',
    "setClaimReserve": 'mutation { setClaimReserve(input: {id: "x", reserve: "1"}) { claim { id } } }',
    "approveClaim": 'mutation { approveClaim(input: {id: "x"}) { claim { id } } }',
    "denyClaim": 'mutation { denyClaim(input: {id: "x", reason: "r"}) { claim { id } } }',
    "payClaim": 'mutation { payClaim(input: {id: "x", amount: "1"}) { claim { id } } }',
    "closeClaim": 'mutation { closeClaim(input: {id: "x"}) { claim { id } } }',
    "trainChurnModel": "mutation { trainChurnModel { queued } }",
    "Customer.policies": "{ customers(first: 1) { edges { node { policies { id } claims { id } } } } }",
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_tenant_without_the_plugin_gets_plugin_not_enabled(tenant: Any, operation: str) -> None:
    assert tenant.client.error_codes(OPERATIONS[operation]) == ["PLUGIN_NOT_ENABLED"]


def test_disabling_hides_the_plugin_and_keeps_the_data(ins: Any, tenant: Any) -> None:
    issue(ins, create_customer(ins))
    disable_plugin(ins, "insurance")
    assert ins.error_codes(OPERATIONS["policies"]) == ["PLUGIN_NOT_ENABLED"]
    assert count_rows(tenant, "ins_policies") == 1


def test_every_table_has_forced_row_level_security(ins: Any, saas_database_url: str) -> None:
    engine = create_engine(saas_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname LIKE 'ins\\_%' AND relkind = 'r'"
                )
            ).all()
    finally:
        engine.dispose()
    assert {r.relname for r in rows} == {
        "ins_counters",
        "ins_rating_tables",
        "ins_policies",
        "ins_claims",
        "ins_claim_payments",
        "ins_churn_models",
        "ins_retention_tasks",
        "ins_cross_sell_leads",
    }
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)


def test_another_tenant_sees_and_changes_nothing_of_the_first(ins: Any, other_ins: Any, tenant: Any) -> None:
    customer = create_customer(ins)
    policy = issue(ins, customer, **current_term())
    claim = report(ins, policy["id"], estimatedAmount="100.00", occurredOn=days_ago(3))
    assert other_ins.data(POLICIES, {})["policies"]["totalCount"] == 0
    assert other_ins.data(CLAIMS, {})["claims"]["totalCount"] == 0
    assert other_ins.error_codes(NODE, {"id": policy["id"]}) == ["NOT_FOUND"]
    assert other_ins.error_codes(NODE, {"id": claim["id"]}) == ["NOT_FOUND"]
    assert other_ins.data(POLICIES, {"filter": {"customerId": customer}})["policies"]["totalCount"] == 0
    assert refused(other_ins, RENEW, {"input": {"id": policy["id"]}}, "renewPolicy") == [(["input", "id"], "NOT_FOUND")]
    assert refused(other_ins, CANCEL, {"input": {"id": policy["id"], "reason": "x"}}, "cancelPolicy") == [
        (["input", "id"], "NOT_FOUND")
    ]
    variables = {
        "input": {"policyId": policy["id"], "occurredOn": "2025-02-01", "cause": "c", "region": "r", "description": "d"}
    }
    assert refused(other_ins, REPORT, variables, "reportClaim") == [(["input", "policyId"], "NOT_FOUND")]
    for query, field, extra in (
        (RESERVE, "setClaimReserve", {"reserve": "1.00"}),
        (APPROVE, "approveClaim", {}),
        (DENY, "denyClaim", {"reason": "no"}),
        (PAY, "payClaim", {"amount": "1.00"}),
        (CLOSE, "closeClaim", {}),
    ):
        assert refused(other_ins, query, {"input": {"id": claim["id"], **extra}}, field) == [
            (["input", "id"], "NOT_FOUND")
        ]
    issued = {
        "customerId": customer,
        "line": "AUTO",
        "sumInsured": "1.00",
        "startsOn": "2025-01-01",
        "endsOn": "2026-01-01",
    }
    assert refused(other_ins, ISSUE, {"input": issued}, "issuePolicy") == [(["input", "customerId"], "NOT_FOUND")]
    # Nothing changed in the first tenant.
    assert count_rows(tenant, "ins_policies") == 1 and count_rows(tenant, "ins_claims") == 1
    assert ins.data(NODE, {"id": claim["id"]})["node"]["paidAmount"] == "0.00"


def test_customer_fields_and_the_timeline_in_constant_statements(ins: Any) -> None:
    query = """query($first: Int) { customers(first: $first) { edges { node { name
      policies { number ratingTable { version } renewalRisk { score } claims { number } }
      claims { number policy { number } }
      timeline(first: 50) { edges { node { kind summary recordId } } } } } } }"""
    customers = [create_customer(ins, f"Customer {i}") for i in range(4)]
    for customer in customers:
        policy = issue(ins, customer, **current_term())
        report(ins, policy["id"], occurredOn=days_ago(3))
    ins.data(query, {"first": 1})
    one = ins.last_statements
    page = ins.data(query, {"first": 4})
    assert ins.last_statements == one
    node = next(e["node"] for e in page["customers"]["edges"] if e["node"]["name"] == "Customer 0")
    assert [p["number"] for p in node["policies"]] and node["claims"][0]["policy"]["number"] == node["policies"][0][
        "number"
    ]
    kinds = [e["node"]["kind"] for e in node["timeline"]["edges"]]
    assert kinds == ["INS_CLAIM_REPORTED", "INS_POLICY_ISSUED"]
    assert node["timeline"]["edges"][1]["node"]["recordId"]  # the policy, readable with node(id)
    assert ins.data(NODE, {"id": node["timeline"]["edges"][1]["node"]["recordId"]})["node"]["number"]


def test_lists_cost_the_same_statements_for_any_page_size(ins: Any) -> None:
    customer = create_customer(ins)
    for _ in range(5):
        issue(ins, customer, **current_term())
    ins.data(POLICIES, {"first": 1})
    one = ins.last_statements
    assert ins.data(POLICIES, {"first": 5})["policies"]["totalCount"] == 5
    assert ins.last_statements == one
    page = ins.data(POLICIES, {"first": 2})["policies"]
    rest = ins.data(POLICIES, {"first": 5, "after": page["pageInfo"]["endCursor"]})["policies"]
    numbers = [e["node"]["number"] for e in page["edges"] + rest["edges"]]
    assert sorted(numbers) == [f"POL-00000{i}" for i in range(1, 6)] and len(set(numbers)) == 5


def test_node_of_a_policy_is_one_statement(ins: Any) -> None:
    policy = issue(ins, create_customer(ins))
    assert ins.data(NODE, {"id": policy["id"]})["node"]["number"] == policy["number"]
    assert ins.last_statements <= 3  # the credential check's and the compiled read


def test_changes_emit_events_in_the_api_shape(ins: Any, tenant: Any) -> None:
    policy = issue(ins, create_customer(ins), **current_term())
    claim = report(ins, policy["id"], estimatedAmount="50.00", occurredOn=days_ago(3))
    ok(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim")
    ok(ins, PAY, {"input": {"id": claim["id"], "amount": "20.00"}}, "payClaim")
    with tenant.session() as session:
        rows = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE type LIKE 'ins.%' ORDER BY seq")
        ).all()
    types = [r.type for r in rows]
    assert types == ["ins.policy.issued", "ins.claim.reported", "ins.claim.approved", "ins.claim.paid"]
    paid = rows[-1].payload
    assert paid["claim"]["id"] == claim["id"] and paid["claim"]["status"] == "APPROVED"
    assert paid["claim"]["paidAmount"] == "20.00" and paid["claim"]["policy"] == {"id": policy["id"]}
    assert rows[0].payload["policy"]["line"] == "AUTO" and rows[0].payload["policy"]["customer"]["id"]


def test_numbers_are_per_tenant(ins: Any, other_ins: Any) -> None:
    assert issue(ins, create_customer(ins))["number"] == "POL-000001"
    assert issue(other_ins, create_customer(other_ins))["number"] == "POL-000001"
    assert issue(ins, create_customer(ins))["number"] == "POL-000002"


def test_rating_tables_risks_and_models_are_per_tenant(ins: Any, other_ins: Any, tenant: Any) -> None:
    from ins_helpers import CHURN_MODEL, RISKS, SET_TABLE

    table = {
        "line": "HOME",
        "baseFrequency": "0.5",
        "baseSeverity": "0.5",
        "expenseLoading": "0.1",
        "profitLoading": "0.1",
        "factors": [],
    }
    ok(other_ins, SET_TABLE, {"input": table}, "setRatingTable")
    assert [t["version"] for t in ins.data("{ ratingTables(line: HOME) { version } }")["ratingTables"]] == [1]
    issue(ins, create_customer(ins), **current_term(10))
    assert len(ins.data(RISKS, {})["renewalRisks"]) == 1
    assert other_ins.data(RISKS, {})["renewalRisks"] == []
    with tenant.session() as session:
        session.execute(
            text(
                "INSERT INTO ins_churn_models (tenant_id, samples, auc, intercept, coefficients) "
                "VALUES (:t, 300, 0.8, 0, '{}'::jsonb)"
            ),
            {"t": tenant.id},
        )
    assert ins.data(CHURN_MODEL)["churnModel"]["kind"] == "LOGISTIC_REGRESSION"
    assert other_ins.data(CHURN_MODEL)["churnModel"]["kind"] == "RULES"
    rating_table = ins.data("{ ratingTables(line: AUTO) { id } }")["ratingTables"][0]["id"]
    assert other_ins.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": rating_table}) == ["NOT_FOUND"]
