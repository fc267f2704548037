"""convertLead: customer, primary contact and (when asked) opportunity in one transaction, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from saas.runtime import Runtime
from saas.schema.engine import dumps
from tests.conftest import GraphQLClient, add_member
from tests.leads.support import CLAIM, CONVERT, count, create_lead, errors, events, member_id, ok, table_counts
from tests.schema.helpers import create_customer


def test_a_claimed_lead_becomes_a_customer_with_its_primary_contact(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    rep = add_member(owner, tenant, "sales")
    channel = ok(
        owner,
        "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } userErrors { code } } }",
        {"name": "Webinar"},
        "createChannel",
    )
    lead = create_lead(
        owner, name="Jane Doe", company="Acme", email="jane@acme.example", phone="+442079460958",
        channelId=channel["channel"]["id"],
    )  # fmt: skip
    ok(rep, CLAIM, {"ids": [lead["id"]]}, "claimLeads")
    done = ok(rep, CONVERT, {"id": lead["id"]}, "convertLead")
    assert done["lead"]["status"] == "CONVERTED" and done["lead"]["convertedAt"]
    assert done["customer"] == {
        "id": done["customer"]["id"], "name": "Acme", "kind": "COMPANY", "lifecycleStage": "PROSPECT",
        "source": "Webinar", "owner": {"id": member_id(rep)},
    }  # fmt: skip
    assert done["contact"] == {
        "id": done["contact"]["id"], "name": "Jane Doe", "email": "jane@acme.example",
        "phone": "+442079460958", "isPrimary": True,
    }  # fmt: skip
    assert errors(rep, CONVERT, {"id": lead["id"]}, "convertLead") == [(["input", "id"], "ALREADY_CONVERTED")]
    assert count(runtime, tenant.id, "customers") == 1
    converted = events(runtime, tenant.id, "lead.converted")
    assert len(converted) == 1
    assert converted[0][1]["lead"]["customer"] == {"id": done["customer"]["id"]}
    assert converted[0][1]["lead"]["contact"] == {"id": done["contact"]["id"]}
    assert converted[0][1]["lead"]["opportunity"] is None
    assert [t for t, _ in events(runtime, tenant.id, "c")] == ["channel.created", "customer.created", "contact.created"]


def test_a_person_lead_from_the_pool_becomes_the_converters_customer(owner: GraphQLClient, tenant: Any) -> None:
    rep = add_member(owner, tenant, "sales")
    lead = create_lead(owner, name="Solo Trader")
    done = ok(rep, CONVERT, {"id": lead["id"]}, "convertLead")
    assert (done["customer"]["name"], done["customer"]["kind"]) == ("Solo Trader", "PERSON")
    assert done["customer"]["owner"] == {"id": member_id(rep)}
    assert (done["contact"]["email"], done["contact"]["phone"]) == (None, None)


def test_conversion_refuses_a_duplicate_customer_unless_allowed(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    existing = create_customer(owner, name="Umbrella")
    lead = create_lead(owner, name="Alice", company="Umbrella", allowDuplicate=True)
    before = table_counts(runtime, tenant.id)
    payload = owner.data(CONVERT, {"input": {"id": lead["id"]}})["convertLead"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "id"], "DUPLICATE")]
    assert existing["id"] in payload["userErrors"][0]["message"]
    assert table_counts(runtime, tenant.id) == before
    ok(owner, CONVERT, {"id": lead["id"], "allowDuplicate": True}, "convertLead")


def test_bad_input_writes_nothing(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    before = table_counts(runtime, tenant.id)
    assert errors(owner, CONVERT, {"id": "bm9wZQ=="}, "convertLead") == [(["input", "id"], "NOT_FOUND")]
    assert owner.error_codes(CONVERT, {"input": {"opportunity": None}}) == ["BAD_USER_INPUT"]
    rep = add_member(owner, tenant, "sales")
    other_rep = add_member(owner, tenant, "sales")
    lead = create_lead(owner)
    ok(other_rep, CLAIM, {"ids": [lead["id"]]}, "claimLeads")
    assert rep.error_codes(CONVERT, {"input": {"id": lead["id"]}}) == ["NOT_FOUND"]  # another rep's lead
    assert add_member(owner, tenant, "viewer").error_codes(CONVERT, {"input": {"id": lead["id"]}}) == ["FORBIDDEN"]
    after = table_counts(runtime, tenant.id)
    assert (after["customers"], after["contacts"]) == (before["customers"], before["contacts"])


OPPORTUNITY = """mutation($input: ConvertLeadInput!) { convertLead(input: $input) {
  customer { id } opportunity { id name amount currency status customer { id } owner { id } }
  userErrors { field code message } } }"""


def test_conversion_makes_the_opportunity_too(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    rep = add_member(owner, tenant, "sales")
    lead = create_lead(owner, company="Acme", ownerId=member_id(rep))
    opportunity = {"name": "First order", "amount": "1000.50", "currency": "EUR"}
    done = owner.data(OPPORTUNITY, {"input": {"id": lead["id"], "opportunity": opportunity}})["convertLead"]
    assert done["userErrors"] == []
    made = done["opportunity"]
    assert {k: made[k] for k in ("name", "amount", "currency")} == opportunity
    # For the new customer, owned as the lead was, in the pipeline's first open stage.
    assert made["customer"] == done["customer"] and made["owner"] == {"id": member_id(rep)}
    assert made["status"] == "OPEN"
    assert rep.data("query($id: ID!) { opportunity(id: $id) { id } }", {"id": made["id"]})["opportunity"] == {
        "id": made["id"]
    }
    converted = events(runtime, tenant.id, "lead.converted")
    assert [payload["lead"]["opportunity"] for _, payload in converted] == [{"id": made["id"]}]
    assert len(events(runtime, tenant.id, "opportunity.created")) == 1


def test_a_refused_opportunity_rolls_the_whole_conversion_back(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    """The opportunity is made in the conversion's transaction: its input errors (under
    `input.opportunity`) leave no customer, contact, opportunity or event behind."""
    lead = create_lead(owner, company="Bad Co", email="a@bad.example")
    before = table_counts(runtime, tenant.id)
    before_events = count(runtime, tenant.id, "outbox_events")
    good = {"name": "Deal", "amount": "10.00", "currency": "EUR"}
    cases = [
        ({**good, "currency": "EURO"}, ["input", "opportunity", "currency"]),
        ({**good, "name": ""}, ["input", "opportunity", "name"]),
        ({**good, "amount": "-1"}, ["input", "opportunity", "amount"]),
    ]
    for opportunity, field in cases:
        failed = owner.data(OPPORTUNITY, {"input": {"id": lead["id"], "opportunity": opportunity}})["convertLead"]
        assert [e["field"] for e in failed["userErrors"]] == [field], opportunity
        assert failed["customer"] is None and failed["opportunity"] is None
    assert table_counts(runtime, tenant.id) == before
    assert count(runtime, tenant.id, "opportunities") == 0
    assert count(runtime, tenant.id, "outbox_events") == before_events
    assert owner.data("query($id: ID!) { lead(id: $id) { status } }", {"id": lead["id"]})["lead"]["status"] == "POOL"


def test_a_manager_converts_a_team_members_lead_with_its_opportunity(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    """The customer and the opportunity go to the lead's owner, whom a team's manager may name."""
    manager = add_member(owner, tenant, "manager")
    rep = add_member(owner, tenant, "sales")
    ok(
        owner,
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { field code message } } }",
        {"name": "North", "managerId": member_id(manager), "memberIds": [member_id(rep)]},
        "createTeam",
    )
    lead = create_lead(rep, company="Team Co", ownerId=member_id(rep))
    opportunity = {"name": "Team deal", "amount": "5.00", "currency": "USD"}
    done = manager.data(OPPORTUNITY, {"input": {"id": lead["id"], "opportunity": opportunity}})["convertLead"]
    assert done["userErrors"] == []
    assert done["opportunity"]["owner"] == {"id": member_id(rep)}


def test_concurrent_conversions_make_one_customer(
    graphql_engine: Any, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    lead = create_lead(owner, company="Race Corp")

    async def run_all() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
        prepared = graphql_engine.prepare(CONVERT, None, principal)

        async def one(i: int) -> dict[str, Any]:
            outcome = await graphql_engine.execute(prepared, {"input": {"id": lead["id"]}}, principal, f"c{i}")
            return orjson.loads(dumps(outcome.payload))  # type: ignore[no-any-return]

        return await asyncio.gather(*(one(i) for i in range(6)))

    results = [r["data"]["convertLead"] for r in asyncio.run(run_all())]
    winners = [r for r in results if not r["userErrors"]]
    assert len(winners) == 1
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["ALREADY_CONVERTED"] * 5
    assert count(runtime, tenant.id, "customers") == 1
    assert count(runtime, tenant.id, "contacts") == 1
    assert len(events(runtime, tenant.id, "lead.converted")) == 1
