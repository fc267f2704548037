"""The two benchmarked writes, CI-sized: `createCustomer` and `moveOpportunity` send a pinned number
of SQL statements, with every record they owe (the row, its audit entry, its domain event, the
stage history) written. `bench/writes.py` measures their speed; this only counts.

The count is the request's execution (`GraphQLClient.last_statements`, the engine's statement
counter: one per message sent to PostgreSQL), in the steady state (the tenant's pipeline made and
the caller's credentials cached). A statement deferred with `defer_statement` (the tenant
setting, an advisory lock) travels in front of the next one, in its message.

createCustomer, 2: [the tenant setting, the duplicate check's lock, the custom fields' lock] with
the duplicate lookup (leads and customers), which also reads the custom field definitions (one
more column: `saas.custom_fields.validation.DefinitionsRider`); the customer's INSERT, its audit
entry and its event, one statement (the INSERTs as data-modifying CTEs of the event's), every
value of the row known before it (the server's defaults too): no second read.

moveOpportunity, 2: [the tenant setting] with the opportunity, locked, and the target stage (one
SELECT); the UPDATE (with its version check), the stage-history entry, the audit entry and the
event, one statement. The payload's `stage` is the stage the move read: no statement after the
commit.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from saas.audit.log import change_entry, snapshot
from saas.deals.models import Opportunity
from saas.deals.service.pipeline import _opportunity_payload
from saas.events.outbox import emit_event
from saas.events.payloads import node_ref
from saas.runtime import Runtime
from saas.schema.relay import from_global_id
from saas.tenancy.session import CrossTenantWrite, tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import create_customer, create_opportunity, deal_counts, member_id, stages

CREATE_STATEMENTS = 2
MOVE_STATEMENTS = 2

CREATE = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  customer { id name kind lifecycleStage tags version createdAt updatedAt }
  userErrors { field code message } } }"""

MOVE = """mutation($input: MoveOpportunityInput!) { moveOpportunity(input: $input) {
  opportunity { id status version stage { id name probability } }
  userErrors { field code message } } }"""


def _records(runtime: Runtime, tenant_id: uuid.UUID, node_id: str) -> dict[str, Any]:
    """The audit actions and event types recorded for the record `node_id`, as the tenant sees them (RLS)."""
    entity_id = from_global_id(node_id)[1]
    with tenant_session(runtime.engine, tenant_id) as session:
        audit = session.execute(
            text("SELECT action FROM audit_log WHERE entity_id = :id ORDER BY id"), {"id": str(entity_id)}
        ).scalars()
        events = session.execute(
            text("SELECT type FROM outbox_events WHERE payload::text LIKE :id AND tenant_id = :tenant ORDER BY seq"),
            {"id": f"%{node_id}%", "tenant": tenant_id},
        ).scalars()
        return {"audit": list(audit), "events": list(events)}


def test_create_customer_is_two_statements_with_its_audit_entry_and_event(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    owner.data(CREATE, {"input": {"name": "Warm-up Ltd"}})
    payload = owner.data(CREATE, {"input": {"name": "Counted Ltd"}})["createCustomer"]
    assert owner.last_statements == CREATE_STATEMENTS
    assert payload["userErrors"] == []
    customer = payload["customer"]
    # The columns' defaults, as the server's.
    assert (customer["kind"], customer["lifecycleStage"], customer["tags"], customer["version"]) == (
        "COMPANY",
        "LEAD",
        [],
        1,
    )
    assert customer["createdAt"] and customer["updatedAt"]
    assert _records(runtime, tenant.id, customer["id"]) == {
        "audit": ["customer.created"],
        "events": ["customer.created"],
    }


def test_create_customer_with_custom_fields_is_still_two_statements(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    """The definitions come with the duplicate lookup: validating against them asks no statement."""
    for key, kind in (("seats", "NUMBER"), ("region", "TEXT")):
        defined = owner.data(
            "mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { userErrors { code } } }",
            {"input": {"entity": "CUSTOMER", "key": key, "label": key.title(), "type": kind}},
        )
        assert defined["defineCustomField"]["userErrors"] == []
    owner.data(CREATE, {"input": {"name": "Warm-up Ltd"}})
    payload = owner.data(CREATE, {"input": {"name": "Fielded Ltd", "customFields": {"seats": 4, "region": " EMEA "}}})
    assert owner.last_statements == CREATE_STATEMENTS
    assert payload["createCustomer"]["userErrors"] == []
    refused = owner.data(CREATE, {"input": {"name": "Unknown Field Ltd", "customFields": {"colour": "red"}}})
    assert [(e["field"], e["code"]) for e in refused["createCustomer"]["userErrors"]] == [
        (["input", "customFields", "colour"], "UNKNOWN_FIELD")
    ]
    assert _records(runtime, tenant.id, payload["createCustomer"]["customer"]["id"])["events"] == ["customer.created"]


def test_a_duplicate_name_is_still_refused_in_one_lookup(owner: GraphQLClient) -> None:
    owner.data(CREATE, {"input": {"name": "Twin Ltd"}})
    payload = owner.data(CREATE, {"input": {"name": "  twin   LTD "}})["createCustomer"]
    assert payload["customer"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["DUPLICATE"]
    assert "Customer" in payload["userErrors"][0]["message"]


def test_move_opportunity_is_two_statements_with_its_history_audit_entry_and_event(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    customer = create_customer(owner, "Mover Ltd")
    pipeline = stages(owner)
    opportunity = create_opportunity(owner, customer)
    before = deal_counts(runtime, tenant.id)
    payload = owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": pipeline["Proposal"]["id"]}})[
        "moveOpportunity"
    ]
    assert owner.last_statements == MOVE_STATEMENTS
    assert payload["userErrors"] == []
    moved = payload["opportunity"]
    assert moved["stage"] == {
        "id": pipeline["Proposal"]["id"],
        "name": "Proposal",
        "probability": pipeline["Proposal"]["probability"],
    }
    assert moved["version"] == opportunity["version"] + 1
    after = deal_counts(runtime, tenant.id)
    changed = {table: after[table] - before[table] for table in after if after[table] != before[table]}
    assert changed == {"opportunity_stage_changes": 1, "audit_log": 1, "outbox_events": 1}
    records = _records(runtime, tenant.id, moved["id"])
    assert (records["audit"][-1], records["events"][-1]) == ("opportunity.stage_changed", "opportunity.stage_changed")
    history = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Opportunity { stageHistory { fromStage { name } toStage { name } } } } }",
        {"id": moved["id"]},
    )["node"]["stageHistory"]
    assert history[-1] == {"fromStage": {"name": "Needs discovery"}, "toStage": {"name": "Proposal"}}


def test_another_tenant_cannot_move_the_opportunity_and_nothing_is_written(
    owner: GraphQLClient, other_owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    opportunity = create_opportunity(owner, create_customer(owner, "Kept Ltd"))
    theirs = stages(other_owner)["Proposal"]["id"]
    before = deal_counts(runtime, tenant.id)
    payload = other_owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": theirs}})["moveOpportunity"]
    assert payload["opportunity"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert deal_counts(runtime, tenant.id) == before


def test_rows_written_with_an_event_belong_to_the_session_tenant(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    entry = change_entry(_Actor(), "customer.updated", "Customer", uuid.uuid4(), None, {})
    entry.tenant_id = other_tenant.id
    with pytest.raises(CrossTenantWrite):
        with tenant_session(runtime.engine, tenant.id) as session:
            emit_event(session, "customer.updated", {"customer": None}, with_rows=[entry])
    with tenant_session(runtime.engine, other_tenant.id) as session:
        found = session.execute(
            text("SELECT count(*) FROM audit_log WHERE entity_id = :id"), {"id": entry.entity_id}
        ).scalar_one()
    assert found == 0


class _Actor:
    user_id = None
    label = "test"


def test_a_move_into_another_tenants_stage_is_not_found_and_nothing_is_written(
    owner: GraphQLClient, other_owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    opportunity = create_opportunity(owner, create_customer(owner, "Own Stages Ltd"))
    before = deal_counts(runtime, tenant.id)
    foreign = stages(other_owner)["Proposal"]["id"]
    payload = owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": foreign}})["moveOpportunity"]
    assert payload["opportunity"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "stageId"], "NOT_FOUND")]
    assert deal_counts(runtime, tenant.id) == before


def test_the_moves_audit_entry_holds_the_rows_snapshots_before_and_after(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    opportunity = create_opportunity(owner, create_customer(owner, "Snapshot Ltd"))
    opportunity_id = from_global_id(opportunity["id"])[1]
    with tenant_session(runtime.engine, tenant.id) as session:
        before = snapshot(session.get(Opportunity, (tenant.id, opportunity_id)))
    lost = stages(owner)["Lost"]["id"]
    payload = owner.data(MOVE, {"input": {"id": opportunity["id"], "stageId": lost, "reason": "Budget"}})
    assert payload["moveOpportunity"]["userErrors"] == []
    with tenant_session(runtime.engine, tenant.id) as session:
        stored = session.get(Opportunity, (tenant.id, opportunity_id))
        after = snapshot(stored)
        # The event's payload in full: the stored row in the API's form, the stages, who and why.
        expected_payload = _opportunity_payload(
            stored,
            from_stage=node_ref("PipelineStage", before["stage_id"]),
            to_stage=node_ref("PipelineStage", from_global_id(lost)[1]),
            reason="Budget",
            changed_by={"id": member_id(owner)},
        )
        entry = session.execute(
            text("SELECT before, after FROM audit_log WHERE entity_id = :id AND action = 'opportunity.stage_changed'"),
            {"id": str(opportunity_id)},
        ).one()
        event = session.execute(
            text(
                "SELECT payload FROM outbox_events WHERE type = 'opportunity.stage_changed' AND payload::text LIKE :id"
            ),
            {"id": f"%{opportunity['id']}%"},
        ).scalar_one()
    assert (entry.before, entry.after) == (before, after)
    assert after["status"] == "lost" and after["version"] == before["version"] + 1 and after["closed_at"]
    assert event["opportunity"]["version"] == after["version"] and event["reason"] == "Budget"
    assert event["toStage"]["id"] == lost
    assert event == expected_payload
