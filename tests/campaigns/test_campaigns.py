"""Campaigns: the audience frozen at launch, responses and the leads they make, ROI by hand, bad input."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from saas.campaigns.graphql.sql import CAMPAIGN
from saas.runtime import Runtime
from saas.schema.engine import dumps
from saas.schema.relay import from_global_id
from saas.tenancy.session import tenant_session
from tests.campaigns.support import (
    READ,
    TODAY,
    campaign_input,
    create_campaign,
    customer,
    event_types,
    launch,
    respond,
    table_counts,
)
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import create_opportunity, member_id, move, stages, won_opportunity


def _raw(global_id: str) -> Any:
    return from_global_id(global_id)[1]


CONVERT = """mutation($input: ConvertLeadInput!) {
  convertLead(input: $input) { customer { id } opportunity { id } userErrors { field code message } }
}"""


def test_roi_by_hand(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Budget 1000.00 EUR, from ten days ago. Members A and B (tag vip); C is not one.

    A: 1500.00 EUR won now (counts), 300.00 USD won (other currency), 999.00 EUR open (not won).
    B: 700.00 EUR won twenty days ago, before the campaign (left out). C: 5000.00 EUR won (no member).
    An unknown e-mail registers: a pool lead, converted with 800.00 EUR, won (counts).
    Won: 1500.00 + 800.00 = 2300.00; ROI = (2300.00 - 1000.00) / 1000.00 = 1.3000.
    """
    a, b, c = customer(owner, "Alpha", ["vip"]), customer(owner, "Beta", ["vip"]), customer(owner, "Gamma")
    campaign = create_campaign(owner)
    assert campaign["status"] == "DRAFT" and campaign["audienceSize"] == 2
    assert campaign["budget"] == "1000.00" and campaign["channel"] == "E-mail"
    launched = launch(owner, campaign["id"])
    assert launched["userErrors"] == [] and launched["campaign"]["status"] == "LAUNCHED"
    assert launched["campaign"]["audienceSize"] == 2 and launched["inboundToken"]

    won_opportunity(owner, a, "1500.00")
    usd = create_opportunity(owner, a, "300.00", currency="USD")
    assert move(owner, usd["id"], stages(owner)["Won"]["id"])["userErrors"] == []
    create_opportunity(owner, a, "999.00")
    early = won_opportunity(owner, b, "700.00")
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text("UPDATE opportunities SET closed_at = now() - interval '20 days' WHERE id = :id"), {"id": _raw(early)}
        )
    won_opportunity(owner, c, "5000.00")

    registered = respond(owner, campaign["id"], email="New.Person@Example.com", kind="REGISTERED", note="webinar")
    assert registered["userErrors"] == [] and registered["response"]["leadId"]
    again = respond(owner, campaign["id"], email="new.person@example.com", kind="REPLIED")
    assert again["response"]["leadId"] == registered["response"]["leadId"]  # one lead per e-mail
    opened = respond(owner, campaign["id"], customerId=a, kind="OPENED")
    assert opened["response"]["customerId"] == a and opened["response"]["leadId"] is None
    lead = owner.data(
        "query($id: ID!) { lead(id: $id) { status channel { name } email } }", {"id": registered["response"]["leadId"]}
    )["lead"]
    assert lead == {"status": "POOL", "channel": {"name": "E-mail"}, "email": "New.Person@example.com"}
    converted = owner.data(
        CONVERT,
        {
            "input": {
                "id": registered["response"]["leadId"],
                "opportunity": {"name": "Seats", "amount": "800.00", "currency": "EUR"},
            }
        },
    )["convertLead"]
    assert converted["userErrors"] == [], converted
    assert move(owner, converted["opportunity"]["id"], stages(owner)["Won"]["id"])["userErrors"] == []

    read = owner.data(READ, {"id": campaign["id"]})["campaign"]
    assert owner.last_statements == 1  # compiled: one statement, members and figures included
    assert read["wonAmount"] == "2300.00"
    assert Decimal(read["roi"]) == (Decimal("2300.00") - Decimal("1000.00")) / Decimal("1000.00")
    assert read["roi"] == "1.3000"
    assert (read["responses"], read["leadsCreated"], read["audienceSize"]) == (3, 1, 2)
    assert [e["node"]["customer"]["name"] for e in read["members"]["edges"]] == ["Alpha", "Beta"]
    # The resolver path (taken when a selected field has no SQL) answers the same.
    monkeypatch.delitem(CAMPAIGN.columns, "version")
    fallback = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Campaign { wonAmount roi responses leadsCreated channel "
        "members(first: 1) { edges { node { customer { name } } } pageInfo { hasNextPage endCursor } } } } }",
        {"id": campaign["id"]},
    )["node"]
    assert (fallback["wonAmount"], fallback["roi"], fallback["responses"]) == ("2300.00", "1.3000", 3)
    assert fallback["members"]["edges"][0]["node"]["customer"]["name"] == "Alpha"
    assert fallback["members"]["pageInfo"]["hasNextPage"] is True
    rest = owner.data(
        "query($id: ID!, $after: String) { campaign(id: $id) { members(first: 5, after: $after) { edges { node { customer { name } } } } } }",
        {"id": campaign["id"], "after": fallback["members"]["pageInfo"]["endCursor"]},
    )["campaign"]["members"]["edges"]
    assert [e["node"]["customer"]["name"] for e in rest] == ["Beta"]
    types = event_types(runtime, tenant.id)
    for event in ("channel.created", "campaign.created", "campaign.launched", "campaign.response_recorded"):
        assert event in types


def test_roi_without_wins_is_minus_one_and_the_list_pages(owner: GraphQLClient) -> None:
    first = create_campaign(owner, name="One", audience={})
    create_campaign(owner, name="Two", audience={}, budget="250.50", currency="usd")
    page = owner.data("{ campaigns(first: 1) { totalCount edges { node { name currency roi wonAmount } } } }")
    assert page["campaigns"]["totalCount"] == 2
    assert page["campaigns"]["edges"][0]["node"] == {
        "name": "Two",
        "currency": "USD",
        "roi": "-1.0000",
        "wonAmount": "0.00",
    }
    statements = {}
    for first_n in (1, 2):
        owner.data(
            f"{{ campaigns(first: {first_n}) {{ edges {{ node {{ id roi responses members {{ edges {{ cursor }} }} }} }} }} }}"
        )
        statements[first_n] = owner.last_statements
    assert statements[1] == statements[2] == 1
    assert first["audienceSize"] == 0


BAD_INPUTS = [
    ({"budget": "-5.00"}, "budget", "INVALID"),
    ({"budget": "0"}, "budget", "INVALID"),
    ({"budget": "12.345"}, "budget", "INVALID"),
    ({"budget": "1e400"}, "budget", "INVALID"),
    ({"budget": "NaN"}, "budget", "INVALID"),
    ({"budget": "1000000000000.00"}, "budget", "INVALID"),
    ({"currency": "XYZ"}, "currency", "INVALID"),
    ({"currency": ""}, "currency", "INVALID"),
    ({"name": "   "}, "name", "REQUIRED"),
    ({"name": "x" * 201}, "name", "TOO_LONG"),
    ({"channel": ""}, "channel", "REQUIRED"),
    ({"endsOn": (TODAY - timedelta(days=11)).isoformat()}, "endsOn", "INVALID"),
    ({"audience": ["vip"]}, "audience", "WRONG_TYPE"),
    ({"audience": {"colour": "red"}}, "audience.colour", "UNKNOWN_FIELD"),
    ({"audience": {"lifecycleStage": "ALIEN"}}, "audience.lifecycleStage", "INVALID"),
    ({"audience": {"unowned": "yes"}}, "audience.unowned", "WRONG_TYPE"),
    ({"audience": {"ownerId": "not-an-id"}}, "audience", "INVALID"),
]


@pytest.mark.parametrize(("change", "field", "code"), BAD_INPUTS, ids=[f"{f}-{c}" for _, f, c in BAD_INPUTS])
def test_bad_campaign_input_is_refused_and_writes_nothing(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, change: dict[str, Any], field: str, code: str
) -> None:
    before = table_counts(runtime, tenant.id)
    payload = owner.data(
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } userErrors { field code } } }",
        {"input": campaign_input(**change)},
    )["createCampaign"]
    assert payload["campaign"] is None
    assert {"field": ["input", *field.split(".")], "code": code} in payload["userErrors"], payload
    assert table_counts(runtime, tenant.id) == before


def test_launch_twice_and_a_response_to_a_draft(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> None:
    customer(owner, "Alpha", ["vip"])
    draft = create_campaign(owner)
    before = table_counts(runtime, tenant.id)
    refused = respond(owner, draft["id"], email="someone@example.com", kind="REGISTERED")
    assert refused["response"] is None
    assert refused["userErrors"] == [
        {"field": ["input", "campaignId"], "code": "NOT_LAUNCHED", "message": "This campaign has not been launched"}
    ]
    assert table_counts(runtime, tenant.id) == before
    assert launch(owner, draft["id"])["userErrors"] == []
    customer(owner, "Late", ["vip"])  # joins the audience after the launch: not a member
    before = table_counts(runtime, tenant.id)
    again = launch(owner, draft["id"])
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_LAUNCHED"] and again["inboundToken"] is None
    assert table_counts(runtime, tenant.id) == before
    read = owner.data(READ, {"id": draft["id"]})["campaign"]
    assert read["audienceSize"] == 1 and len(read["members"]["edges"]) == 1


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"kind": "LIKED", "email": "a@example.com"}, "kind", "INVALID"),
        ({"kind": ""}, "kind", "REQUIRED"),
        ({"kind": "OPENED"}, "email", "REQUIRED"),
        ({"kind": "OPENED", "email": "not an e-mail"}, "email", "INVALID_EMAIL"),
        ({"kind": "OPENED", "email": "a@example.com", "note": "n" * 501}, "note", "TOO_LONG"),
        (
            {"kind": "OPENED", "customerId": "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"},
            "customerId",
            "NOT_FOUND",
        ),
    ],
)
def test_bad_responses_are_refused(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, fields: dict[str, Any], field: str, code: str
) -> None:
    campaign = create_campaign(owner, audience={})
    assert launch(owner, campaign["id"])["userErrors"] == []
    before = table_counts(runtime, tenant.id)
    payload = respond(owner, campaign["id"], **fields)
    assert payload["response"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", field], code)]
    assert table_counts(runtime, tenant.id) == before


def test_contact_of_another_customer_is_refused(owner: GraphQLClient) -> None:
    a, b = customer(owner, "Alpha"), customer(owner, "Beta")
    contact = owner.data(
        'mutation($id: ID!) { createContact(input: {customerId: $id, name: "Ann", email: "ann@alpha.example"}) { contact { id } } }',
        {"id": a},
    )["createContact"]["contact"]["id"]
    campaign = create_campaign(owner, audience={})
    launch(owner, campaign["id"])
    wrong = respond(owner, campaign["id"], customerId=b, contactId=contact, kind="CLICKED")
    assert [e["code"] for e in wrong["userErrors"]] == ["OTHER_CUSTOMER"]
    by_email = respond(owner, campaign["id"], email="ANN@alpha.example", kind="REPLIED")
    assert by_email["response"]["customerId"] == a and by_email["response"]["contactId"] == contact
    assert by_email["response"]["leadId"] is None  # a known e-mail makes no lead


def test_another_tenant_gets_nothing(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, other_owner: GraphQLClient, other_tenant: TenantHandle
) -> None:
    a = customer(owner, "Alpha", ["vip"])
    campaign = create_campaign(owner)
    assert other_owner.data("{ campaigns { totalCount } }")["campaigns"]["totalCount"] == 0
    assert other_owner.error_codes(READ, {"id": campaign["id"]}) == ["NOT_FOUND"]
    assert other_owner.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": campaign["id"]}) == ["NOT_FOUND"]
    before = table_counts(runtime, tenant.id)
    launch_mutation = "mutation($id: ID!) { launchCampaign(input: {id: $id}) { inboundToken } }"
    assert other_owner.error_codes(launch_mutation, {"id": campaign["id"]}) == ["NOT_FOUND"]
    respond_mutation = (
        'mutation($id: ID!) { recordCampaignResponse(input: {campaignId: $id, kind: "OPENED", email: "a@b.example"})'
        " { response { id } } }"
    )
    assert other_owner.error_codes(respond_mutation, {"id": campaign["id"]}) == ["NOT_FOUND"]
    assert table_counts(runtime, tenant.id) == before
    assert owner.data(READ, {"id": campaign["id"]})["campaign"]["status"] == "DRAFT"
    own = create_campaign(other_owner, audience={})
    launch(other_owner, own["id"])
    foreign = respond(other_owner, own["id"], customerId=a, kind="OPENED")
    assert [(e["field"], e["code"]) for e in foreign["userErrors"]] == [(["input", "customerId"], "NOT_FOUND")]
    with tenant_session(runtime.engine, other_tenant.id) as session:  # RLS, as the application role
        rows = session.execute(
            text("SELECT count(*) FROM campaigns WHERE id = :id"), {"id": _raw(campaign["id"])}
        ).scalar_one()
        assert rows == 0


def test_a_rep_sees_only_their_members(tenant: TenantHandle, owner: GraphQLClient) -> None:
    rep = add_member(owner, tenant, "sales")
    other = add_member(owner, tenant, "sales")
    customer(owner, "Rep's", ["vip"], owner_id=member_id(rep))
    customer(owner, "Other's", ["vip"], owner_id=member_id(other))
    campaign = create_campaign(owner)
    launch(owner, campaign["id"])
    members = rep.data(READ, {"id": campaign["id"]})["campaign"]
    assert [e["node"]["customer"]["name"] for e in members["members"]["edges"]] == ["Rep's"]
    assert members["audienceSize"] == 2  # the campaign's figures are the tenant's
    create = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }"
    assert rep.error_codes(create, {"input": campaign_input()}) == ["FORBIDDEN"]


def test_the_inbound_token_is_stored_hashed(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> None:
    campaign = create_campaign(owner, audience={})
    token = launch(owner, campaign["id"])["inboundToken"]
    secret = token.split(".", 1)[1]
    with tenant_session(runtime.engine, tenant.id) as session:
        stored = session.execute(
            text("SELECT inbound_token_hash FROM campaigns WHERE id = :id"), {"id": _raw(campaign["id"])}
        ).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored


def test_concurrent_launches_freeze_the_members_once(
    graphql_engine: Any, runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient
) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        customer(owner, name, ["vip"])
    campaign = create_campaign(owner)
    mutation = (
        "mutation($input: CampaignIdInput!) { launchCampaign(input: $input) { inboundToken userErrors { code } } }"
    )

    async def run_all() -> list[dict[str, Any]]:
        async def one(index: int) -> dict[str, Any]:
            principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {owner.token}")
            prepared = graphql_engine.prepare(mutation, None, principal)
            variables = {"input": {"id": campaign["id"]}}
            outcome = await graphql_engine.execute(prepared, variables, principal, f"launch{index}")
            return orjson.loads(dumps(outcome.payload))["data"]["launchCampaign"]  # type: ignore[no-any-return]

        return await asyncio.gather(*(one(i) for i in range(3)))

    results = asyncio.run(run_all())
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["ALREADY_LAUNCHED", "ALREADY_LAUNCHED"]
    assert len([r for r in results if r["inboundToken"]]) == 1
    assert table_counts(runtime, tenant.id)["campaign_members"] == 3
    assert event_types(runtime, tenant.id).count("campaign.launched") == 1


def test_a_campaign_past_its_last_day_is_ended(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched, draft = create_campaign(owner, audience={}), create_campaign(owner, name="Late", audience={})
    launch(owner, launched["id"])
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text("UPDATE campaigns SET starts_on = current_date - 30, ends_on = current_date - 2"),
        )
    compiled = owner.data(READ, {"id": launched["id"]})["campaign"]
    monkeypatch.delitem(CAMPAIGN.columns, "version")
    resolved = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Campaign { version status members { edges { cursor } } } } }",
        {"id": launched["id"]},
    )["node"]
    assert compiled["status"] == resolved["status"] == "ENDED"
    late = launch(owner, draft["id"])
    assert [e["code"] for e in late["userErrors"]] == ["INVALID_TRANSITION"]


def test_concurrent_responses_from_one_new_email_make_one_pool_lead(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both writers look for the lead before either has made it; only one may make it."""
    import threading

    from saas.campaigns import service

    campaign = create_campaign(owner, audience={})
    launch(owner, campaign["id"])
    principal = runtime.authenticate(f"Bearer {owner.token}")
    both_looked = threading.Barrier(2, timeout=2)
    original = service.create_lead

    def create_lead_after_both_looked(*args: Any, **kwargs: Any) -> Any:
        try:
            both_looked.wait()  # unsafe code: both get here; safe code: the second waits on the lock
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "create_lead", create_lead_after_both_looked)
    failures: list[BaseException] = []

    def one(email: str) -> None:
        try:
            with tenant_session(runtime.engine, tenant.id) as session:
                service.record_response(
                    session, principal, _raw(campaign["id"]), {"kind": "REGISTERED", "email": email}
                )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=one, args=(e,)) for e in ("new@example.com", " NEW@Example.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    counts = table_counts(runtime, tenant.id)
    assert counts["leads"] == 1 and counts["campaign_responses"] == 2
    with tenant_session(runtime.engine, tenant.id) as session:
        linked = session.execute(text("SELECT count(DISTINCT lead_id) FROM campaign_responses")).scalar_one()
    assert linked == 1
