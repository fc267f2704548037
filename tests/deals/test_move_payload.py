"""`moveOpportunity`'s payload: answered from the move's own reads, equal to its event's opportunity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saas.events.models import OutboxEvent
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import ERRORS, create_customer, create_opportunity, deal_counts, stages

MOVE = f"""mutation($input: MoveOpportunityInput!) {{ moveOpportunity(input: $input) {{
  opportunity {{
    id name amount currency expectedCloseOn status closedAt customFields version createdAt updatedAt
    weightedAmount stage {{ id name probability }}
  }}
  {ERRORS}
}} }}"""
MOVE_STATEMENTS = 2  # the read `FOR UPDATE`, then the UPDATE with its history, audit entry and event


def _last_stage_change(runtime: Runtime, tenant: TenantHandle) -> dict[str, Any]:
    with tenant_session(runtime.engine, tenant.id) as session:
        rows = session.query(OutboxEvent).filter(OutboxEvent.type == "opportunity.stage_changed").all()
        return dict(max(rows, key=lambda row: row.seq).payload)


def test_the_payload_is_the_moved_row_its_event_carries_and_weighs_with_the_new_stage(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer, amount="1234.55")
    by_name = stages(owner)
    assert opportunity["weightedAmount"] == "123.46"  # 10 % in the first stage
    payload = owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": by_name["Negotiation"]["id"]}})[
        "moveOpportunity"
    ]
    assert payload["userErrors"] == []
    assert owner.last_statements == MOVE_STATEMENTS  # the stage and the weight: nothing read after the commit
    moved = payload["opportunity"]
    assert moved["weightedAmount"] == "740.73"  # 60 % of 1234.55, half up: the stage moved into
    assert moved["stage"] == {
        "id": by_name["Negotiation"]["id"],
        "name": "Negotiation",
        "probability": by_name["Negotiation"]["probability"],
    }
    event = _last_stage_change(runtime, tenant)
    shown = {key: value for key, value in moved.items() if key not in ("weightedAmount", "stage")}
    assert {key: event["opportunity"][key] for key in shown} == shown
    assert event["opportunity"]["stage"] == event["toStage"] == {"id": by_name["Negotiation"]["id"]}
    assert event["opportunity"]["customer"] == {"id": customer}
    read = owner.data(
        "query($id: ID!) { opportunity(id: $id) { version updatedAt status weightedAmount stage { id } } }",
        {"id": opportunity["id"]},
    )["opportunity"]
    assert read == {
        "version": moved["version"],
        "updatedAt": moved["updatedAt"],
        "status": "OPEN",
        "weightedAmount": "740.73",
        "stage": {"id": by_name["Negotiation"]["id"]},
    }


def test_another_tenant_moving_the_opportunity_gets_not_found_and_nothing_is_written(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    runtime: Runtime,
    other_tenant: TenantHandle,
    counts: Callable[[], dict[str, int]],
) -> None:
    customer = create_customer(owner)
    opportunity = create_opportunity(owner, customer)
    theirs = stages(other_owner)["Proposal"]["id"]
    before, their_before = counts(), deal_counts(runtime, other_tenant.id)
    for stage in (theirs, stages(owner)["Proposal"]["id"]):
        payload = other_owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": stage}})["moveOpportunity"]
        assert payload["opportunity"] is None
        assert [error["code"] for error in payload["userErrors"]] == ["NOT_FOUND"]
    assert (counts(), deal_counts(runtime, other_tenant.id)) == (before, their_before)
    read = owner.data("query($id: ID!) { opportunity(id: $id) { version stage { name } } }", {"id": opportunity["id"]})
    assert read["opportunity"] == {"version": opportunity["version"], "stage": {"name": "Needs discovery"}}
