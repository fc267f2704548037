"""Follow-ups with deals: opportunities take activities and tasks; stage changes are on the timeline."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import create_opportunity, move, stages
from tests.followups.helpers import (
    LOG_ACTIVITY,
    TIMELINE,
    count,
    create_customer,
    create_task,
    errors_of,
    log_activity,
    member_id,
)

STAGE_NODE = """query Node($id: ID!) { node(id: $id) { __typename id
  ... on StageChange { fromStage { name } toStage { name } }
} }"""


def _timeline(client: GraphQLClient, customer: str) -> list[dict[str, Any]]:
    edges = client.data(TIMELINE, {"id": customer, "first": 50})["customer"]["timeline"]["edges"]
    return [edge["node"] for edge in edges]


def test_an_activity_and_a_task_on_an_opportunity_belong_to_its_customer(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Deal Co")
    opportunity = create_opportunity(owner, customer, name="Big deal")["id"]
    activity = log_activity(owner, opportunity, "Walked through the proposal")
    assert activity["subjectId"] == opportunity and activity["customer"]["id"] == customer
    assert activity["customer"]["lastContactedAt"] is not None
    task = create_task(owner, opportunity, "2030-01-01T00:00:00+00:00", "Send the revised quote")
    assert task["subjectId"] == opportunity and task["customer"]["id"] == customer
    kinds = [entry["kind"] for entry in _timeline(owner, customer)]
    assert kinds.count("ACTIVITY") == 1 and kinds.count("TASK_CREATED") == 1
    assert count(runtime, tenant.id, "activities", "subject_type = 'Opportunity'") == 1


def test_an_opportunity_a_rep_does_not_own_is_not_found(
    owner: GraphQLClient, rep: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    """Deals' own rule: reps see the opportunities they own (no pool), even of a pool customer."""
    customer = create_customer(owner, "Pool Co")
    opportunity = create_opportunity(owner, customer)["id"]
    variables = {"input": {"subjectId": opportunity, "kind": "CALL", "summary": "Tried"}}
    assert errors_of(rep, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    assert errors_of(other_owner, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    assert count(runtime, tenant.id, "activities") == 0
    mine = create_opportunity(owner, customer, ownerId=member_id(rep))["id"]
    assert log_activity(rep, mine, "My deal")["customer"]["id"] == customer


def test_stage_changes_are_on_the_customer_timeline(owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Stage Co")
    stage = stages(owner)
    opportunity = create_opportunity(owner, customer, name="Big deal")["id"]
    assert move(owner, opportunity, stage["Proposal"]["id"], "Sent the proposal")["userErrors"] == []
    assert move(owner, opportunity, stage["Won"]["id"])["userErrors"] == []
    changes = [entry for entry in _timeline(owner, customer) if entry["kind"] == "STAGE_CHANGE"]
    first_stage = min(stage.values(), key=lambda s: s["position"])["name"]
    assert [entry["summary"] for entry in changes] == [
        "Big deal: Proposal → Won",
        f"Big deal: {first_stage} → Proposal",
        f"Big deal: {first_stage}",
    ]
    assert all(entry["actor"]["id"] == member_id(owner) for entry in changes)
    node = owner.data(STAGE_NODE, {"id": changes[0]["recordId"]})["node"]
    assert node == {"__typename": "StageChange", "id": changes[0]["recordId"], "fromStage": {"name": "Proposal"},
                    "toStage": {"name": "Won"}}  # fmt: skip


def test_a_rep_sees_stage_changes_of_their_own_opportunities_only(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient
) -> None:
    customer = create_customer(owner, "Shared Co")  # in the pool: every rep sees it
    create_opportunity(owner, customer, name="Owner's deal")
    create_opportunity(owner, customer, name="Rep's deal", ownerId=member_id(rep))
    summaries = [e["summary"] for e in _timeline(rep, customer) if e["kind"] == "STAGE_CHANGE"]
    assert len(summaries) == 1 and summaries[0].startswith("Rep's deal: ")
    assert [e for e in _timeline(other_rep, customer) if e["kind"] == "STAGE_CHANGE"] == []
    assert len([e for e in _timeline(owner, customer) if e["kind"] == "STAGE_CHANGE"]) == 2
