"""Churn: the transparent rule score with its reasons, the logistic regression trained on generated
outcomes with a known signal, `trainChurnModel`, and the daily retention run (tasks and cross-sell leads)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from ins_helpers import (
    CHURN_MODEL,
    RISKS,
    TRAIN,
    acting_for,
    count_rows,
    create_customer,
    current_term,
    issue,
    ok,
    refused,
)
from sqlalchemy import select, text

from saas.plugin_api import JobContext, decode_id

TODAY = datetime.now(UTC).date()
LOG_ACTIVITY = (
    "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } userErrors { code } } }"
)


def renewal_with_increase(tenant: Any, customer: str, increase: str, days_left: int) -> uuid.UUID:
    """A running AUTO policy renewing one whose premium was 100.00, at 100 * (1 + increase)."""
    from saas_insurance.service.policies import issue_policy

    with tenant.session() as session:
        principal = acting_for(tenant)
        ends = TODAY + timedelta(days=days_left)
        old = issue_policy(
            session,
            principal,
            {
                "customer_id": decode_id(customer, "Customer"),
                "line": "auto",
                "sum_insured": Decimal("10000.00"),
                "starts_on": ends - timedelta(days=730),
                "ends_on": ends - timedelta(days=365),
                "premium": Decimal("100.00"),
            },
        )
        new = issue_policy(
            session,
            principal,
            {
                "customer_id": old.customer_id,
                "line": "auto",
                "sum_insured": Decimal("10000.00"),
                "starts_on": old.ends_on,
                "ends_on": ends,
                "premium": (Decimal(100) * (1 + Decimal(increase))).quantize(Decimal("0.01")),
                "renewed_from_id": old.id,
                "renewals": 1,
            },
        )
        return new.id


def test_rule_scores_and_their_reasons(ins: Any, tenant: Any) -> None:
    """Expiring in 20 days (0.20), premium up 30% at renewal (0.35), never contacted (0.20): 0.75.
    Expiring in 50 days (0.10), up 5% (nothing), contacted today (nothing): 0.10."""
    risky = create_customer(ins, "Risky")
    calm = create_customer(ins, "Calm")
    renewal_with_increase(tenant, risky, "0.30", 20)
    renewal_with_increase(tenant, calm, "0.05", 50)
    ok(ins, LOG_ACTIVITY, {"input": {"subjectId": calm, "kind": "CALL", "summary": "Checked in"}}, "logActivity")
    found = ins.data(RISKS, {})["renewalRisks"]
    assert [(r["score"], r["reasons"], r["kind"]) for r in found] == [
        ("0.7500", ["Expires in 20 days", "Premium rose 30% at renewal", "Never contacted"], "RULES"),
        ("0.1000", ["Expires in 50 days"], "RULES"),
    ]
    assert ins.data(RISKS, {"filter": {"expiringWithinDays": 30}})["renewalRisks"][0]["score"] == "0.7500"
    assert len(ins.data(RISKS, {"filter": {"expiringWithinDays": 30}})["renewalRisks"]) == 1
    assert ins.error_codes(RISKS, {"filter": {"expiringWithinDays": -1}}) == ["BAD_USER_INPUT"]


def test_denied_claims_raise_the_rule_score(ins: Any, tenant: Any) -> None:
    from ins_helpers import DENY, days_ago, report

    customer = create_customer(ins)
    policy = issue(ins, customer, **current_term(10))
    claim = report(ins, policy["id"], occurredOn=days_ago(5))
    ok(ins, DENY, {"input": {"id": claim["id"], "reason": "Excluded"}}, "denyClaim")
    query = "query($id: ID!) { node(id: $id) { ... on InsPolicy { renewalRisk { score reasons } } } }"
    risk = ins.data(query, {"id": policy["id"]})["node"]["renewalRisk"]
    assert risk == {
        "score": "0.6500",
        "reasons": ["Expires in 10 days", "1 denied claim(s) in 3 years", "Never contacted"],
    }


def generate_outcomes(tenant: Any, count: int, seed: int = 7) -> None:
    """`count` ended policies, one customer each: a customer with a denied claim in the term lapses
    with probability 0.8, a premium increase of 20% adds 0.3, otherwise 0.1 (the known signal)."""
    from saas_insurance.models import Claim, Policy, RatingTable

    rng = random.Random(seed)
    with tenant.session() as session:
        table = session.scalars(select(RatingTable).where(RatingTable.line == "auto")).first()
        for index in range(count):
            customer_id = uuid.uuid4()
            session.execute(
                text("INSERT INTO customers (tenant_id, id, name) VALUES (:t, :id, :name)"),
                {"t": tenant.id, "id": customer_id, "name": f"Generated {index}"},
            )
            ends = TODAY - timedelta(days=rng.randrange(30, 330))  # a renewal is still running
            denied = rng.random() < 0.35
            increased = rng.random() < 0.3
            policy = Policy(
                id=uuid.uuid4(),
                number=f"GEN-{index:06d}",
                customer_id=customer_id,
                line="auto",
                status="expired",
                premium=Decimal("120.00") if increased else Decimal("100.00"),
                currency="USD",
                sum_insured=Decimal("10000.00"),
                starts_on=ends - timedelta(days=365),
                ends_on=ends,
                rating_table_id=table.id,
            )
            session.add(policy)
            session.flush()
            if increased:
                previous = Policy(
                    id=uuid.uuid4(),
                    number=f"GEP-{index:06d}",
                    customer_id=customer_id,
                    line="auto",
                    status="expired",
                    premium=Decimal("100.00"),
                    currency="USD",
                    sum_insured=Decimal("10000.00"),
                    starts_on=ends - timedelta(days=730),
                    ends_on=ends - timedelta(days=365),
                    rating_table_id=table.id,
                )
                session.add(previous)
                session.flush()
                policy.renewed_from_id = previous.id
            if denied:
                session.add(
                    Claim(
                        id=uuid.uuid4(),
                        number=f"GEC-{index:06d}",
                        policy_id=policy.id,
                        customer_id=customer_id,
                        occurred_on=ends - timedelta(days=100),
                        reported_on=ends - timedelta(days=95),
                        cause="collision",
                        region="North",
                        description="Generated",
                        status="denied",
                        reserve=Decimal(0),
                        paid_amount=Decimal(0),
                    )
                )
            lapse = 0.8 if denied else 0.1
            if increased:
                lapse = min(0.95, lapse + 0.3)
            if rng.random() >= lapse:
                session.flush()
                session.add(
                    Policy(
                        id=uuid.uuid4(),
                        number=f"GER-{index:06d}",
                        customer_id=customer_id,
                        line="auto",
                        status="expired" if ends + timedelta(days=365) <= TODAY else "active",
                        premium=Decimal("100.00"),
                        currency="USD",
                        sum_insured=Decimal("10000.00"),
                        starts_on=ends,
                        ends_on=ends + timedelta(days=365),
                        rating_table_id=table.id,
                        renewed_from_id=policy.id,
                    )
                )
            session.flush()


class RecordedSends:
    """Stands in for the broker's actor in this process (no worker runs in the tests): records what
    `trainChurnModel` enqueues, so the test runs that job itself, as a worker would."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send(self, *args: Any) -> None:
        self.sent.append(args)


def test_the_model_learns_the_known_signal(ins: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from saas_insurance import jobs
    from saas_insurance.models import ChurnModel
    from saas_insurance.service import churn

    assert refused(ins, TRAIN, {}, "trainChurnModel") == [(["trainChurnModel"], "NOT_ENOUGH_OUTCOMES")]
    generate_outcomes(tenant, 320)
    recorder = RecordedSends()
    monkeypatch.setattr(jobs.train_churn_model, "actor", recorder)
    payload = ok(ins, TRAIN, {}, "trainChurnModel")
    assert payload["queued"] and payload["outcomes"] >= 320 and recorder.sent == [(str(tenant.id),)]
    assert ins.data(CHURN_MODEL)["churnModel"]["kind"] == "RULES"  # until the job ran

    with tenant.session() as session:
        model_id = jobs.train_churn_model.function(JobContext(tenant_id=tenant.id, session=session, message_id="m-1"))
    model = ins.data(CHURN_MODEL)["churnModel"]
    assert model["kind"] == "LOGISTIC_REGRESSION" and model["samples"] >= 320
    assert Decimal(model["auc"]) > Decimal("0.7"), model
    with tenant.session() as session:
        row = session.get(ChurnModel, (tenant.id, uuid.UUID(model_id)))
        assert float(row.coefficients["denied_claims"]["coefficient"]) > 0
        assert float(row.coefficients["premium_increase"]["coefficient"]) > 0
        base = churn.Signals(uuid.uuid4(), 20, 0, 0, Decimal(0), 10, 0, False)
        worse = churn.Signals(uuid.uuid4(), 20, 1, 0, Decimal("0.2"), 10, 0, False)
        calm, risky = churn.model_risk(base, row), churn.model_risk(worse, row)
    assert risky.score > calm.score
    assert risky.reasons[:2] == ["1 denied claim(s) in 3 years", "Premium changed 20% at renewal"] or set(
        risky.reasons[:2]
    ) == {
        "1 denied claim(s) in 3 years",
        "Premium changed 20% at renewal",
    }

    customer = create_customer(ins)
    issue(ins, customer, **current_term(15))
    found = ins.data(RISKS, {})["renewalRisks"]
    assert found and {r["kind"] for r in found} == {"LOGISTIC_REGRESSION"}


def test_the_daily_run_makes_retention_tasks_and_cross_sell_leads_once(
    ins: Any, tenant: Any, other_ins: Any, other_tenant: Any
) -> None:
    from saas_insurance.jobs import daily_retention

    me = ins.data("{ me { member { id } } }")["me"]["member"]["id"]
    created = ins.data(
        'mutation($owner: ID) { createCustomer(input: {name: "Risky Ltd", allowDuplicate: true, ownerId: $owner}) { customer { id } } }',
        {"owner": me},
    )
    risky = created["createCustomer"]["customer"]["id"]  # owned by the owner, who gets the task
    renewal_with_increase(tenant, risky, "0.30", 20)
    calm = create_customer(ins, "Calm Ltd")
    issue(ins, calm, line="HOME", sumInsured="300000.00", **current_term(200))
    other = create_customer(other_ins, "Other tenant's")
    issue(other_ins, other, **current_term(20))

    def run() -> dict[str, Any]:
        with tenant.session() as session:
            return daily_retention.function(
                JobContext(tenant_id=tenant.id, session=session, message_id=str(uuid.uuid4()))
            )

    first = run()
    assert first["tasks"] == 1 and first["leads"] == 2, first  # Risky holds AUTO: HOME; Calm holds HOME 300k: LIFE
    tasks = "SELECT title FROM tasks"
    with tenant.session() as session:
        titles = [r.title for r in session.execute(text(tasks))]
        assignees = session.execute(text("SELECT assignee_id FROM tasks")).scalars().all()
        leads = session.execute(text("SELECT name, company, status FROM leads ORDER BY name")).all()
        scored = session.execute(text("SELECT count(*) FROM ins_policies WHERE renewal_score IS NOT NULL")).scalar_one()
    assert len(titles) == 1 and titles[0].startswith("Retain POL-000002 (risk 0.7500)")
    assert [decode_id(me, "Member")] == assignees
    assert scored == 1
    assert all(lead.status == "pool" for lead in leads)
    again = run()
    assert (again["tasks"], again["leads"]) == (0, 0)
    assert count_rows(tenant, "tasks") == 1 and count_rows(tenant, "ins_cross_sell_leads") == 2
    assert count_rows(other_tenant, "tasks") == 0 and count_rows(other_tenant, "leads") == 0


CREATE_TICKET = (
    "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { code } } }"
)
RECLASSIFY = (
    "mutation($input: ReclassifyTicketInput!) { reclassifyTicket(input: $input) { ticket { id } userErrors { code } } }"
)


def complain(client: Any, customer: str, type_: str = "complaint") -> None:
    ticket = ok(
        client, CREATE_TICKET, {"input": {"customerId": customer, "subject": "Bad", "body": "…"}}, "createTicket"
    )
    ok(client, RECLASSIFY, {"input": {"id": ticket["ticket"]["id"], "type": type_}}, "reclassifyTicket")


def test_complaint_tickets_raise_the_rule_score_in_their_tenant_only(ins: Any, other_ins: Any) -> None:
    """Two complaints (0.30) on top of expiring in 10 days (0.20) and never contacted (0.20); an
    inquiry is no complaint; another tenant's complaints count for its own customers only."""
    angry = create_customer(ins, "Angry")
    calm = create_customer(ins, "Calm")
    angry_policy = issue(ins, angry, **current_term(10))
    calm_policy = issue(ins, calm, **current_term(10))
    complain(ins, angry)
    complain(ins, angry)
    complain(ins, calm, "inquiry")
    foreign = create_customer(other_ins, "Elsewhere")
    foreign_policy = issue(other_ins, foreign, **current_term(10))
    for _ in range(3):
        complain(other_ins, foreign)

    found = {r["policy"]["id"]: (r["score"], r["reasons"]) for r in ins.data(RISKS, {})["renewalRisks"]}
    assert found == {
        angry_policy["id"]: (
            "0.7000",
            ["Expires in 10 days", "2 complaint tickets in the last 90 days", "Never contacted"],
        ),
        calm_policy["id"]: ("0.4000", ["Expires in 10 days", "Never contacted"]),
    }
    query = "query($id: ID!) { node(id: $id) { ... on InsPolicy { renewalRisk { score reasons } } } }"
    assert ins.data(query, {"id": angry_policy["id"]})["node"]["renewalRisk"]["score"] == "0.7000"
    theirs = other_ins.data(RISKS, {})["renewalRisks"]
    assert [(r["policy"]["id"], r["score"], r["reasons"]) for r in theirs] == [
        (
            foreign_policy["id"],
            "0.8500",
            ["Expires in 10 days", "3 complaint tickets in the last 90 days", "Never contacted"],
        )
    ]
