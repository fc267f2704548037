"""Claims: first notice of loss inside the term (OUTSIDE_TERM), reserve, approve or deny, payments within
the sum insured under concurrent requests, close; policies: renew, cancel; bad input on every mutation."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from ins_helpers import (
    APPROVE,
    CANCEL,
    CLOSE,
    DENY,
    ISSUE,
    PAY,
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
    run_concurrently,
)

ADD_MEMBER = "mutation($input: AddMemberInput!) { addMember(input: $input) { invitationToken userErrors { code } } }"
ACCEPT = (
    "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { id } userErrors { code } } }"
)


def add_member(client: Any, tenant: Any, role: str) -> Any:
    """A new member of `tenant` with `role` (invited, then accepted as a new account), logged in."""
    from saas.plugin_api.testing import TEST_PASSWORD

    email = f"{role}-{secrets.token_hex(3)}@{tenant.slug}.example.com"
    invited = client.data(ADD_MEMBER, {"input": {"email": email, "role": role.upper()}})["addMember"]
    variables = {"input": {"token": invited["invitationToken"], "password": TEST_PASSWORD}}
    assert client.as_token(None).data(ACCEPT, variables)["acceptInvitation"]["member"]
    return client.login(email, TEST_PASSWORD, tenant.slug)


@pytest.fixture
def policy(ins: Any) -> dict[str, Any]:
    """A running AUTO policy insuring 1,000.00."""
    return issue(ins, create_customer(ins), sumInsured="1000.00", **current_term())


def claim_input(policy: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = {
        "policyId": policy["id"],
        "occurredOn": days_ago(2),
        "cause": "collision",
        "region": "North",
        "description": "Dent",
    }
    data.update(fields)
    return {"input": data}


def test_a_claim_goes_from_report_to_close(ins: Any, policy: dict[str, Any]) -> None:
    claim = ok(ins, REPORT, claim_input(policy, estimatedAmount="300.00"), "reportClaim")["claim"]
    assert (claim["status"], claim["reserve"], claim["paidAmount"], claim["number"]) == (
        "REPORTED",
        "300.00",
        "0.00",
        "CLM-000001",
    )
    claim = ok(ins, RESERVE, {"input": {"id": claim["id"], "reserve": "400.00"}}, "setClaimReserve")["claim"]
    assert claim["reserve"] == "400.00"
    claim = ok(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim")["claim"]
    claim = ok(ins, PAY, {"input": {"id": claim["id"], "amount": "250.00"}}, "payClaim")["claim"]
    assert (claim["paidAmount"], claim["reserve"], claim["incurred"]) == ("250.00", "150.00", "400.00")
    claim = ok(ins, CLOSE, {"input": {"id": claim["id"]}}, "closeClaim")["claim"]
    assert (claim["status"], claim["reserve"], claim["incurred"]) == ("CLOSED", "0.00", "250.00")
    assert refused(ins, PAY, {"input": {"id": claim["id"], "amount": "1.00"}}, "payClaim") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]


def test_a_denied_claim_has_a_reason_and_no_reserve(ins: Any, policy: dict[str, Any]) -> None:
    claim = report(ins, policy["id"], occurredOn=days_ago(2), estimatedAmount="100.00")
    assert refused(ins, DENY, {"input": {"id": claim["id"], "reason": ""}}, "denyClaim") == [
        (["input", "reason"], "REQUIRED")
    ]
    denied = ok(ins, DENY, {"input": {"id": claim["id"], "reason": "Driver not insured"}}, "denyClaim")["claim"]
    assert (denied["status"], denied["decisionReason"], denied["reserve"]) == ("DENIED", "Driver not insured", "0.00")
    for query, field, extra in (
        (APPROVE, "approveClaim", {}),
        (PAY, "payClaim", {"amount": "1.00"}),
        (RESERVE, "setClaimReserve", {"reserve": "1.00"}),
    ):
        assert refused(ins, query, {"input": {"id": claim["id"], **extra}}, field) == [
            (["input", "id"], "INVALID_STATUS_TRANSITION")
        ]
    assert ok(ins, CLOSE, {"input": {"id": claim["id"]}}, "closeClaim")["claim"]["status"] == "CLOSED"


def test_a_loss_outside_the_term_is_refused(ins: Any, tenant: Any) -> None:
    customer = create_customer(ins)
    policy = issue(ins, customer, startsOn="2025-01-01", endsOn="2026-01-01")
    for day in ("2024-12-31", "2026-01-01", "2026-06-01"):
        assert refused(ins, REPORT, claim_input(policy, occurredOn=day), "reportClaim") == [
            (["input", "occurredOn"], "OUTSIDE_TERM")
        ]
    assert report(ins, policy["id"], occurredOn="2025-12-31")["occurredOn"] == "2025-12-31"
    running = issue(ins, customer, **current_term())
    assert refused(ins, REPORT, claim_input(running, occurredOn=days_ago(-1)), "reportClaim") == [
        (["input", "occurredOn"], "INVALID")
    ]
    cancelled = ok(ins, CANCEL, {"input": {"id": running["id"], "reason": "Sold the car"}}, "cancelPolicy")["policy"]
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelledOn"] == days_ago(0)
    assert refused(ins, REPORT, claim_input(running, occurredOn=days_ago(0)), "reportClaim") == [
        (["input", "occurredOn"], "OUTSIDE_TERM")
    ]
    assert count_rows(tenant, "ins_claims") == 1


def test_payments_never_exceed_the_sum_insured_in_total(ins: Any, policy: dict[str, Any]) -> None:
    first = report(ins, policy["id"], occurredOn=days_ago(3))
    second = report(ins, policy["id"], occurredOn=days_ago(2))
    for claim in (first, second):
        ok(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim")
    ok(ins, PAY, {"input": {"id": first["id"], "amount": "700.00"}}, "payClaim")
    assert refused(ins, PAY, {"input": {"id": second["id"], "amount": "300.01"}}, "payClaim") == [
        (["input", "amount"], "EXCEEDS_SUM_INSURED")
    ]
    assert (
        ok(ins, PAY, {"input": {"id": second["id"], "amount": "300.00"}}, "payClaim")["claim"]["paidAmount"] == "300.00"
    )
    assert refused(ins, PAY, {"input": {"id": first["id"], "amount": "0.01"}}, "payClaim") == [
        (["input", "amount"], "EXCEEDS_SUM_INSURED")
    ]


def test_concurrent_payments_stay_within_the_sum_insured(ins: Any, policy: dict[str, Any], tenant: Any) -> None:
    """Twenty payments of 150.00 at once on two claims of a policy insuring 1,000.00: six go through."""
    claims = [report(ins, policy["id"], occurredOn=days_ago(d)) for d in (2, 3)]
    for claim in claims:
        ok(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim")
    variables = [{"input": {"id": claims[i % 2]["id"], "amount": "150.00"}} for i in range(20)]
    results = run_concurrently(ins, PAY, variables)
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:1]
    payloads = [r["data"]["payClaim"] for r in results]
    assert sum(1 for p in payloads if p["claim"]) == 6
    assert {e["code"] for p in payloads for e in p["userErrors"]} == {"EXCEEDS_SUM_INSURED"}
    with tenant.session() as session:
        from sqlalchemy import text

        paid = session.execute(text("SELECT sum(amount) FROM ins_claim_payments")).scalar_one()
        claimed = session.execute(text("SELECT sum(paid_amount) FROM ins_claims")).scalar_one()
    assert str(paid) == str(claimed) == "900.00"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"cause": ""}, (["input", "cause"], "REQUIRED")),
        ({"cause": "x" * 101}, (["input", "cause"], "TOO_LONG")),
        ({"region": "  "}, (["input", "region"], "REQUIRED")),
        ({"description": "d" * 5001}, (["input", "description"], "TOO_LONG")),
        ({"estimatedAmount": "-1"}, (["input", "estimatedAmount"], "INVALID")),
        ({"estimatedAmount": "1.001"}, (["input", "estimatedAmount"], "INVALID")),
        ({"estimatedAmount": "1000.01"}, (["input", "estimatedAmount"], "EXCEEDS_SUM_INSURED")),
        ({"policyId": "not-an-id"}, (["input", "policyId"], "NOT_FOUND")),
        (
            {"policyId": "Q3VzdG9tZXI6NTdlODRlZjgtMWI4Zi00YjRmLTk4ZjItMjRkZjAzMDQ0YzJm"},
            (["input", "policyId"], "NOT_FOUND"),
        ),
    ],
)
def test_bad_claim_reports_are_refused_and_nothing_is_written(
    ins: Any, policy: dict[str, Any], tenant: Any, fields: dict[str, Any], error: Any
) -> None:
    assert error in refused(ins, REPORT, claim_input(policy, **fields), "reportClaim")
    assert count_rows(tenant, "ins_claims") == 0


def test_bad_claim_changes_are_refused(ins: Any, policy: dict[str, Any]) -> None:
    claim = report(ins, policy["id"], occurredOn=days_ago(2))
    assert refused(ins, RESERVE, {"input": {"id": claim["id"], "reserve": "-5"}}, "setClaimReserve") == [
        (["input", "reserve"], "INVALID")
    ]
    assert refused(ins, RESERVE, {"input": {"id": claim["id"], "reserve": "1000.01"}}, "setClaimReserve") == [
        (["input", "reserve"], "EXCEEDS_SUM_INSURED")
    ]
    assert refused(ins, PAY, {"input": {"id": claim["id"], "amount": "5.00"}}, "payClaim") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    assert refused(ins, CLOSE, {"input": {"id": claim["id"]}}, "closeClaim") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    ok(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim")
    assert refused(ins, APPROVE, {"input": {"id": claim["id"]}}, "approveClaim") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    assert refused(ins, DENY, {"input": {"id": claim["id"], "reason": "late"}}, "denyClaim") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    assert refused(ins, PAY, {"input": {"id": claim["id"], "amount": "0"}}, "payClaim") == [
        (["input", "amount"], "INVALID")
    ]
    assert refused(ins, DENY, {"input": {"id": claim["id"], "reason": "r" * 501}}, "denyClaim") == [
        (["input", "reason"], "TOO_LONG")
    ]
    for query, field in ((APPROVE, "approveClaim"), (CLOSE, "closeClaim")):
        assert refused(ins, query, {"input": {"id": policy["id"]}}, field) == [(["input", "id"], "NOT_FOUND")]
    assert (
        ins.execute(PAY, {"input": {"id": claim["id"], "amount": "a lot"}})["errors"][0]["extensions"]["code"]
        == "BAD_USER_INPUT"
    )


def test_renewal_links_the_new_policy_to_the_old_once(ins: Any, tenant: Any) -> None:
    policy = issue(
        ins, create_customer(ins), startsOn="2025-01-01", endsOn="2026-01-01", ratingFactors={"driverAge": "65+"}
    )
    assert policy["status"] == "EXPIRED"
    renewed = ok(ins, RENEW, {"input": {"id": policy["id"]}}, "renewPolicy")["policy"]
    assert (renewed["startsOn"], renewed["endsOn"], renewed["renewedFromId"]) == (
        "2026-01-01",
        "2027-01-01",
        policy["id"],
    )
    assert renewed["ratingFactors"] == {"driverAge": "65+"} and renewed["number"] == "POL-000002"
    assert refused(ins, RENEW, {"input": {"id": policy["id"]}}, "renewPolicy") == [(["input", "id"], "ALREADY_RENEWED")]
    results = run_concurrently(ins, RENEW, [{"input": {"id": renewed["id"]}} for _ in range(5)])
    assert sum(1 for r in results if r["data"]["renewPolicy"]["policy"]) == 1
    assert count_rows(tenant, "ins_policies") == 3


def test_cancelling(ins: Any, tenant: Any) -> None:
    policy = issue(ins, create_customer(ins), **current_term())
    assert refused(ins, CANCEL, {"input": {"id": policy["id"], "reason": ""}}, "cancelPolicy") == [
        (["input", "reason"], "REQUIRED")
    ]
    ok(ins, CANCEL, {"input": {"id": policy["id"], "reason": "Moved abroad"}}, "cancelPolicy")
    assert refused(ins, CANCEL, {"input": {"id": policy["id"], "reason": "again"}}, "cancelPolicy") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]
    assert refused(ins, RENEW, {"input": {"id": policy["id"]}}, "renewPolicy") == [
        (["input", "id"], "INVALID_STATUS_TRANSITION")
    ]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"sumInsured": "0"}, (["input", "sumInsured"], "INVALID")),
        ({"sumInsured": "10000000000000"}, (["input", "sumInsured"], "INVALID")),
        ({"premium": "-1"}, (["input", "premium"], "INVALID")),
        ({"endsOn": "2024-12-31"}, (["input", "endsOn"], "INVALID")),
        ({"endsOn": "2035-01-01"}, (["input", "endsOn"], "INVALID")),
        ({"ratingFactors": ["driverAge"]}, (["input", "ratingFactors"], "INVALID")),
        ({"customerId": "bad"}, (["input", "customerId"], "NOT_FOUND")),
    ],
)
def test_bad_policies_are_refused_and_nothing_is_written(
    ins: Any, tenant: Any, fields: dict[str, Any], error: Any
) -> None:
    data = {
        "customerId": create_customer(ins),
        "line": "AUTO",
        "sumInsured": "1000.00",
        "startsOn": "2025-01-01",
        "endsOn": "2026-01-01",
    }
    data.update(fields)
    assert error in refused(ins, ISSUE, {"input": data}, "issuePolicy")
    assert count_rows(tenant, "ins_policies") == 0


def _two_reps_with_a_policy_each(ins: Any, tenant: Any) -> tuple[Any, str, Any, str]:
    """Two sales reps, each owning one customer with one policy: (rep, its customer, colleague, theirs)."""
    rep = add_member(ins, tenant, "sales")
    mine = create_customer(rep, "Rep's own")
    issue(rep, mine)
    colleague = add_member(ins, tenant, "sales")
    others = create_customer(colleague, "A colleague's")
    issue(colleague, others)
    return rep, mine, colleague, others


def test_sales_reps_see_their_customers_policies_only(ins: Any, tenant: Any) -> None:
    from ins_helpers import POLICIES

    rep, mine, _colleague, others = _two_reps_with_a_policy_each(ins, tenant)
    seen = {e["node"]["customer"]["id"] for e in rep.data(POLICIES, {})["policies"]["edges"]}
    assert mine in seen and others not in seen
    assert ins.data(POLICIES, {})["policies"]["totalCount"] == 2
    assert rep.error_codes(
        'mutation { setRatingTable(input: {line: AUTO, baseFrequency: "0.1", baseSeverity: "0.1", expenseLoading: "0.1", profitLoading: "0.1", factors: []}) { ratingTable { id } } }'
    ) == ["FORBIDDEN"]


def test_each_caller_keeps_its_own_visible_customers(ins: Any, tenant: Any, other_ins: Any) -> None:
    """`visible_customers_sql` is built once per principal (`Principal.derived`): callers of every
    kind taking turns on the same lists (compiled, and `Customer.policies`) each see their own
    customers' policies, every time; another tenant's owner sees none of them."""
    from ins_helpers import POLICIES

    rep, mine, colleague, others = _two_reps_with_a_policy_each(ins, tenant)
    nested = "{ customers(first: 10) { edges { node { id policies { id } } } } }"
    for _ in range(3):
        for client, expected in ((rep, {mine}), (colleague, {others}), (ins, {mine, others}), (other_ins, set())):
            for variables in ({}, {"first": 5}):
                edges = client.data(POLICIES, variables)["policies"]["edges"]
                assert {e["node"]["customer"]["id"] for e in edges} == expected
            customers = client.data(nested)["customers"]["edges"]
            assert {e["node"]["id"] for e in customers if e["node"]["policies"]} == expected


def test_visible_customers_sql_is_the_rule_of_each_principal() -> None:
    """The kept subquery and parameters are what building them again gives, per principal; a caller
    changing its copy of the parameters changes nothing kept."""
    import dataclasses
    import uuid

    from saas_insurance.service import common

    from saas.plugin_api import Principal, Role

    tenant_id, other_tenant_id = uuid.uuid4(), uuid.uuid4()
    admin = Principal(tenant_id=tenant_id, label="admin", permissions=frozenset(), role=Role.ADMIN)
    rep = Principal(
        tenant_id=tenant_id, label="rep", permissions=frozenset(), role=Role.SALES, membership_id=uuid.uuid4()
    )
    portal = Principal(tenant_id=tenant_id, label="portal", permissions=frozenset(), scope=(("customer_id", "c1"),))
    elsewhere = dataclasses.replace(admin, tenant_id=other_tenant_id)
    other_rep = dataclasses.replace(rep, membership_id=uuid.uuid4())
    for principal in (admin, rep, portal, elsewhere, other_rep, admin, rep):
        built = common._visible_customers_sql(principal)
        for _ in range(2):
            sql, params = common.visible_customers_sql(principal)
            assert (sql, params) == built
            params["vis_tenant"] = "changed"
    assert common.visible_customers_sql(admin)[1] == {"vis_tenant": str(tenant_id)}
    assert common.visible_customers_sql(elsewhere)[1] == {"vis_tenant": str(other_tenant_id)}
    assert "owner_id" not in common.visible_customers_sql(admin)[0]
    assert common.visible_customers_sql(rep)[1]["viewer_membership_id"] == rep.membership_id
    assert common.visible_customers_sql(other_rep)[1]["viewer_membership_id"] == other_rep.membership_id
    assert common.visible_customers_sql(portal)[1]["scoped_customer_id"] == "c1"
