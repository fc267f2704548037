"""Pipeline stages (defaults, editable), opportunities, moves and their stage history."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from saas.events.models import OutboxEvent
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import (
    CREATE_OPPORTUNITY,
    ERRORS,
    create_customer,
    create_opportunity,
    member_id,
    move,
    stages,
)

HISTORY = """query($id: ID!) { opportunity(id: $id) {
  id status weightedAmount stage { name }
  stageHistory { fromStage { name } toStage { name } changedBy { id } changedAt reason }
} }"""


def _events(runtime: Runtime, tenant: TenantHandle, prefix: str) -> list[dict[str, Any]]:
    with tenant_session(runtime.engine, tenant.id) as session:
        rows = session.query(OutboxEvent).order_by(OutboxEvent.created_at).all()
        return [{"type": r.type, **r.payload} for r in rows if r.type.startswith(prefix)]


def test_a_tenant_gets_the_default_stages_on_first_read(owner: GraphQLClient) -> None:
    rows = owner.data("{ pipelineStages { name probability kind position } }")["pipelineStages"]
    assert rows == [
        {"name": "Needs discovery", "probability": "10.00", "kind": "OPEN", "position": 1},
        {"name": "Proposal", "probability": "30.00", "kind": "OPEN", "position": 2},
        {"name": "Negotiation", "probability": "60.00", "kind": "OPEN", "position": 3},
        {"name": "Won", "probability": "100.00", "kind": "WON", "position": 4},
        {"name": "Lost", "probability": "0.00", "kind": "LOST", "position": 5},
    ]
    assert owner.data("{ pipelineStages { name } }")["pipelineStages"][0]["name"] == "Needs discovery"
    assert owner.last_statements == 1  # made once; afterwards one compiled statement


def test_stages_are_editable_by_owners_and_admins(owner: GraphQLClient, tenant: TenantHandle) -> None:
    created = owner.data(
        f"""mutation {{ createPipelineStage(input: {{name: "Demo", probability: "25.5", kind: OPEN, position: 2}}) {{
          pipelineStage {{ id name probability kind position version }} {ERRORS} }} }}"""
    )["createPipelineStage"]
    assert created["userErrors"] == []
    stage = created["pipelineStage"]
    assert (stage["probability"], stage["kind"]) == ("25.50", "OPEN")
    updated = owner.data(
        f"""mutation($id: ID!) {{ updatePipelineStage(input: {{id: $id, version: 1, probability: "20"}}) {{
          pipelineStage {{ probability version }} {ERRORS} }} }}""",
        {"id": stage["id"]},
    )["updatePipelineStage"]
    assert updated == {"pipelineStage": {"probability": "20.00", "version": 2}, "userErrors": []}
    stale = owner.error_codes(
        """mutation($id: ID!) { updatePipelineStage(input: {id: $id, version: 1, name: "X"}) { pipelineStage { id } } }""",
        {"id": stage["id"]},
    )
    assert stale == ["CONFLICT"]
    for bad, code in [
        ('name: "proposal", probability: "5", kind: OPEN', "TAKEN"),
        ('name: "Big", probability: "100.01", kind: OPEN', "INVALID"),
        ('name: "Neg", probability: "-1", kind: OPEN', "INVALID"),
        ('name: "Fine", probability: "1.234", kind: OPEN', "INVALID"),
        ('name: "  ", probability: "5", kind: OPEN', "REQUIRED"),
        (f'name: "{"x" * 101}", probability: "5", kind: OPEN', "TOO_LONG"),
    ]:
        result = owner.data(
            f"mutation {{ createPipelineStage(input: {{{bad}}}) {{ pipelineStage {{ id }} {ERRORS} }} }}"
        )
        assert result["createPipelineStage"]["pipelineStage"] is None
        assert [e["code"] for e in result["createPipelineStage"]["userErrors"]] == [code], bad
    sales = add_member(owner, tenant, "sales")
    assert sales.error_codes(
        'mutation { createPipelineStage(input: {name: "Mine", probability: "5", kind: OPEN}) { pipelineStage { id } } }'
    ) == ["FORBIDDEN"]


def test_create_opportunity_in_the_first_open_stage_with_history_and_event(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer, amount="1234.55")
    assert opportunity["stage"] == {"name": "Needs discovery"}
    assert opportunity["status"] == "OPEN"
    # 1234.55 x 10 % = 123.455, to the cent half up
    assert opportunity["weightedAmount"] == "123.46"
    assert opportunity["owner"] == {"id": member_id(owner)}
    read = owner.data(HISTORY, {"id": opportunity["id"]})["opportunity"]
    assert read["weightedAmount"] == "123.46"  # the compiled read computes it in SQL alike
    assert [(h["fromStage"], h["toStage"]["name"]) for h in read["stageHistory"]] == [(None, "Needs discovery")]
    [event] = _events(runtime, tenant, "opportunity.")
    assert event["type"] == "opportunity.created"
    assert event["opportunity"]["amount"] == "1234.55" and event["opportunity"]["id"] == opportunity["id"]
    assert event["opportunity"]["customer"] == {"id": customer}


def test_move_records_every_change_and_lost_needs_a_reason(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, counts: Callable[[], dict[str, int]]
) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer, amount="1000.00")
    by_name = stages(owner)
    moved = move(owner, opportunity["id"], by_name["Negotiation"]["id"])
    assert moved["userErrors"] == [] and moved["opportunity"]["stage"] == {"name": "Negotiation"}
    before = counts()
    refused = move(owner, opportunity["id"], by_name["Lost"]["id"], reason="   ")
    assert refused["opportunity"] is None
    assert refused["userErrors"] == [
        {"field": ["input", "reason"], "code": "REASON_REQUIRED", "message": "Say why the opportunity was lost"}
    ]
    assert counts() == before
    lost = move(owner, opportunity["id"], by_name["Lost"]["id"], reason="Budget cut")
    assert lost["opportunity"]["status"] == "LOST" and lost["opportunity"]["closedAt"]
    reopened = move(owner, opportunity["id"], by_name["Proposal"]["id"])
    assert reopened["opportunity"]["status"] == "OPEN" and reopened["opportunity"]["closedAt"] is None
    read = owner.data(HISTORY, {"id": opportunity["id"]})["opportunity"]
    assert [((h["fromStage"] or {}).get("name"), h["toStage"]["name"], h["reason"]) for h in read["stageHistory"]] == [
        (None, "Needs discovery", None),
        ("Needs discovery", "Negotiation", None),
        ("Negotiation", "Lost", "Budget cut"),
        ("Lost", "Proposal", None),
    ]
    assert {h["changedBy"]["id"] for h in read["stageHistory"]} == {member_id(owner)}
    assert read["weightedAmount"] == "300.00"
    changes = [e for e in _events(runtime, tenant, "opportunity.stage_changed")]
    assert [(e["fromStage"]["id"], e["toStage"]["id"], e["reason"]) for e in changes][1] == (
        by_name["Negotiation"]["id"],
        by_name["Lost"]["id"],
        "Budget cut",
    )


def test_bad_input_to_create_and_move_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer)
    foreign_customer = create_customer(other_owner, "Theirs")
    foreign_stage = stages(other_owner)["Won"]["id"]
    base = {"customerId": customer, "name": "Deal", "amount": "10.00", "currency": "EUR"}
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        ({"name": ""}, ["input", "name"], "REQUIRED"),
        ({"name": "x" * 201}, ["input", "name"], "TOO_LONG"),
        ({"amount": "-1"}, ["input", "amount"], "INVALID"),
        ({"amount": "1.001"}, ["input", "amount"], "INVALID"),
        ({"amount": "1e20"}, ["input", "amount"], "INVALID"),
        ({"currency": "EURO"}, ["input", "currency"], "INVALID"),
        ({"currency": "XYZ"}, ["input", "currency"], "INVALID"),
        ({"customerId": foreign_customer}, ["input", "customerId"], "NOT_FOUND"),
        ({"customerId": "not-an-id"}, ["input", "customerId"], "NOT_FOUND"),
        ({"stageId": foreign_stage}, ["input", "stageId"], "NOT_FOUND"),
        ({"ownerId": member_id(other_owner)}, ["input", "ownerId"], "NOT_FOUND"),
    ]
    before = counts()
    for change, field, code in cases:
        payload = owner.data(CREATE_OPPORTUNITY, {"input": {**base, **change}})["createOpportunity"]
        assert payload["opportunity"] is None, change
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], change
    same = move(owner, opportunity["id"], stages(owner)["Needs discovery"]["id"])
    assert [e["code"] for e in same["userErrors"]] == ["INVALID"]
    assert [e["code"] for e in move(owner, opportunity["id"], foreign_stage)["userErrors"]] == ["NOT_FOUND"]
    long_reason = move(owner, opportunity["id"], stages(owner)["Lost"]["id"], reason="x" * 1001)
    assert [e["code"] for e in long_reason["userErrors"]] == ["TOO_LONG"]
    assert counts() == before
    # a JSON number is read through its decimal text (never a binary float); output is a string
    number = owner.data(CREATE_OPPORTUNITY, {"input": {**base, "amount": 10.1}})["createOpportunity"]
    assert number["opportunity"]["amount"] == "10.10" and number["opportunity"]["weightedAmount"] == "1.01"


def test_stale_version_on_move_and_update(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer)
    stale = owner.error_codes(
        MOVE_WITH_VERSION,
        {"input": {"id": opportunity["id"], "stageId": stages(owner)["Proposal"]["id"], "version": 7}},
    )
    assert stale == ["CONFLICT"]
    updated = owner.data(
        f"""mutation($id: ID!) {{ updateOpportunity(input: {{id: $id, version: 1, amount: "99.99", name: "Renamed"}}) {{
          opportunity {{ name amount version }} {ERRORS} }} }}""",
        {"id": opportunity["id"]},
    )["updateOpportunity"]
    assert updated == {"opportunity": {"name": "Renamed", "amount": "99.99", "version": 2}, "userErrors": []}


MOVE_WITH_VERSION = "mutation($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { opportunity { id } } }"


def test_list_filters_and_weighted_amounts_are_exact(owner: GraphQLClient, tenant: TenantHandle) -> None:
    customer = create_customer(owner)
    other = create_customer(owner, "Other")
    by_name = stages(owner)
    amounts = ["0.10", "0.05", "333.33", "999999999999.99"]
    ids = [create_opportunity(owner, customer, amount=a)["id"] for a in amounts]
    move(owner, ids[1], by_name["Proposal"]["id"])
    move(owner, ids[2], by_name["Negotiation"]["id"])
    move(owner, ids[3], by_name["Won"]["id"])
    create_opportunity(owner, other, amount="5.00")
    query = """query($filter: OpportunityFilterInput, $after: String) {
      opportunities(first: 2, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id amount weightedAmount status } }
      } }"""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = owner.data(query, {"filter": {"customerId": customer}, "after": after})["opportunities"]
        assert owner.last_statements == 1 and page["totalCount"] == 4
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    weighted = {n["amount"]: n["weightedAmount"] for n in nodes}
    for amount, stage in zip(amounts, ["Needs discovery", "Proposal", "Negotiation", "Won"], strict=True):
        probability = Decimal(by_name[stage]["probability"])
        expected = (Decimal(amount) * probability / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert weighted[amount] == str(expected)
    assert weighted == {"0.10": "0.01", "0.05": "0.02", "333.33": "200.00", "999999999999.99": "999999999999.99"}
    won = owner.data(query, {"filter": {"status": "WON"}})["opportunities"]
    assert [e["node"]["id"] for e in won["edges"]] == [ids[3]]
    staged = owner.data(query, {"filter": {"stageId": by_name["Proposal"]["id"]}})["opportunities"]
    assert [e["node"]["id"] for e in staged["edges"]] == [ids[1]]
    mine = owner.data(query, {"filter": {"ownerId": member_id(owner)}})["opportunities"]
    assert mine["totalCount"] == 5


@pytest.mark.parametrize("role", ["sales"])
def test_reps_see_their_own_opportunities_only(owner: GraphQLClient, tenant: TenantHandle, role: str) -> None:
    rep = add_member(owner, tenant, role)
    colleague = add_member(owner, tenant, role)
    pool_customer = create_customer(owner, "Pool")  # unowned: both reps see it
    mine = create_opportunity(rep, pool_customer)["id"]
    theirs = create_opportunity(colleague, pool_customer)["id"]
    bosses = create_opportunity(owner, pool_customer)["id"]
    listed = rep.data("{ opportunities { totalCount edges { node { id } } } }")["opportunities"]
    assert [e["node"]["id"] for e in listed["edges"]] == [mine]
    for hidden in (theirs, bosses):
        assert rep.error_codes("query($id: ID!) { opportunity(id: $id) { id } }", {"id": hidden}) == ["NOT_FOUND"]
        assert rep.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": hidden}) == ["NOT_FOUND"]
        moved = move(rep, hidden, stages(rep)["Proposal"]["id"])
        assert [e["code"] for e in moved["userErrors"]] == ["NOT_FOUND"]
    on_customer = rep.data("query($id: ID!) { customer(id: $id) { opportunities { id } } }", {"id": pool_customer})[
        "customer"
    ]["opportunities"]
    assert on_customer == [{"id": mine}]
    everyone = owner.data("{ opportunities { totalCount } }")["opportunities"]["totalCount"]
    assert everyone == 3
    # a rep cannot give an opportunity to someone else
    payload = rep.data(
        CREATE_OPPORTUNITY,
        {
            "input": {
                "customerId": pool_customer,
                "name": "X",
                "amount": "1",
                "currency": "EUR",
                "ownerId": member_id(colleague),
            }
        },
    )["createOpportunity"]
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID"]
    viewer = add_member(owner, tenant, "viewer")
    assert viewer.data("{ opportunities { totalCount } }")["opportunities"]["totalCount"] == 3
    viewer_input = {"customerId": pool_customer, "name": "X", "amount": "1", "currency": "EUR"}
    assert viewer.error_codes(CREATE_OPPORTUNITY, {"input": viewer_input}) == ["FORBIDDEN"]


def test_another_tenant_gets_nothing(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer)
    stage = stages(owner)["Proposal"]["id"]
    assert other_owner.data("{ opportunities { totalCount } }")["opportunities"]["totalCount"] == 0
    for query in ("query($id: ID!) { opportunity(id: $id) { id } }", "query($id: ID!) { node(id: $id) { id } }"):
        assert other_owner.error_codes(query, {"id": opportunity["id"]}) == ["NOT_FOUND"]
    assert other_owner.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": stage}) == ["NOT_FOUND"]
    assert [
        e["code"] for e in move(other_owner, opportunity["id"], stages(other_owner)["Proposal"]["id"])["userErrors"]
    ] == ["NOT_FOUND"]
    assert stage not in {s["id"] for s in stages(other_owner).values()}
    foreign_update = other_owner.data(
        'mutation($id: ID!) { updatePipelineStage(input: {id: $id, version: 1, name: "Mine"}) { pipelineStage { id } userErrors { code } } }',
        {"id": stage},
    )["updatePipelineStage"]
    assert foreign_update == {"pipelineStage": None, "userErrors": [{"code": "NOT_FOUND"}]}
