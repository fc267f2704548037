"""Leads, channels and the sales settings through the API: happy paths, bad input, isolation, events."""

from __future__ import annotations

from typing import Any

import pytest

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, add_member
from tests.custom_fields.test_custom_fields import define
from tests.leads.support import (
    CHANNELS,
    CLAIM,
    CREATE_CHANNEL,
    CREATE_CUSTOMER,
    CREATE_LEAD,
    DISQUALIFY,
    LEAD,
    LEADS,
    NODE,
    RETURN,
    SETTINGS,
    UPDATE_SETTINGS,
    create_lead,
    errors,
    events,
    listed,
    member_id,
    ok,
    table_counts,
)

CONVERT_PLAIN = """mutation($input: ConvertLeadInput!) { convertLead(input: $input) {
  customer { id } userErrors { field code message } } }"""


def test_a_new_lead_without_owner_is_in_the_pool(owner: GraphQLClient, runtime: Runtime, tenant: Any) -> None:
    define(owner, entity="LEAD", key="budget", type="SELECT", options=["small", "large"])
    channel = ok(owner, CREATE_CHANNEL, {"name": "Trade fair", "cost": "1200.50", "currency": "eur"}, "createChannel")
    assert channel["channel"]["cost"] == "1200.50" and channel["channel"]["currency"] == "EUR"
    lead = create_lead(
        owner,
        name="Jane Lead",
        company="Acme",
        email="Jane@Example.com",
        phone="+44 20 7946 0958",
        channelId=channel["channel"]["id"],
        customFields={"budget": "large"},
    )
    assert lead["status"] == "POOL" and lead["owner"] is None
    assert lead["phone"] == "+442079460958" and lead["customFields"] == {"budget": "large"}
    assert lead["channel"] == {"id": channel["channel"]["id"], "name": "Trade fair"}
    assert owner.data(LEAD, {"id": lead["id"]})["lead"] == lead
    assert owner.data(NODE, {"id": lead["id"]})["node"] == {
        "__typename": "Lead", "id": lead["id"], "name": "Jane Lead", "status": "POOL",
    }  # fmt: skip
    assert listed(owner, {"pool": True}) == {lead["id"]}
    assert listed(owner, {"status": "CLAIMED"}) == set()
    assert listed(owner, {"search": "acme", "channelId": channel["channel"]["id"]}) == {lead["id"]}
    created = events(runtime, tenant.id, "lead.")
    assert [t for t, _ in created] == ["lead.created"]
    payload = created[0][1]["lead"]
    assert payload["id"] == lead["id"] and payload["status"] == "POOL"
    assert payload["channel"] == {"id": channel["channel"]["id"]} and payload["owner"] is None
    assert events(runtime, tenant.id, "channel.")[0][1]["channel"]["cost"] == "1200.50"


def test_leads_are_keyset_paged_newest_first(owner: GraphQLClient) -> None:
    ids = [create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(5)]
    first = owner.data(LEADS, {"first": 2})["leads"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"]
    seen = [e["node"]["id"] for e in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = owner.data(LEADS, {"first": 2, "after": after})["leads"]
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == list(reversed(ids))


def test_sales_settings_have_defaults_and_only_admins_change_them(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    rep = add_member(owner, tenant, "sales")
    assert rep.data(SETTINGS)["salesSettings"] == {"leadClaimCap": 50, "publicPoolDays": 30}
    assert rep.error_codes(UPDATE_SETTINGS, {"input": {"leadClaimCap": 5}}) == ["FORBIDDEN"]
    before = table_counts(runtime, tenant.id)
    for bad, code in ((0, "OUT_OF_RANGE"), (-3, "OUT_OF_RANGE"), (10_001, "OUT_OF_RANGE"), (None, "REQUIRED")):
        assert errors(owner, UPDATE_SETTINGS, {"leadClaimCap": bad}, "updateSalesSettings") == [
            (["input", "leadClaimCap"], code)
        ]
    assert errors(owner, UPDATE_SETTINGS, {"publicPoolDays": 3651, "leadClaimCap": 0}, "updateSalesSettings") == [
        (["input", "leadClaimCap"], "OUT_OF_RANGE"),
        (["input", "publicPoolDays"], "OUT_OF_RANGE"),
    ]
    assert owner.error_codes(UPDATE_SETTINGS, {"input": {"leadClaimCap": "many"}}) == ["BAD_USER_INPUT"]
    assert table_counts(runtime, tenant.id) == before
    changed = ok(owner, UPDATE_SETTINGS, {"leadClaimCap": 7}, "updateSalesSettings")["salesSettings"]
    assert changed == {"leadClaimCap": 7, "publicPoolDays": 30}
    changed = ok(owner, UPDATE_SETTINGS, {"publicPoolDays": 14}, "updateSalesSettings")["salesSettings"]
    assert changed == {"leadClaimCap": 7, "publicPoolDays": 14}
    assert [p for _, p in events(runtime, tenant.id, "sales_settings.")][-1] == {
        "salesSettings": {"leadClaimCap": 7, "publicPoolDays": 14}
    }


def test_settings_of_one_tenant_are_not_anothers(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    ok(owner, UPDATE_SETTINGS, {"leadClaimCap": 3}, "updateSalesSettings")
    assert other_owner.data(SETTINGS)["salesSettings"]["leadClaimCap"] == 50


def test_channels_refuse_bad_input_and_writing_nothing(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    ok(owner, CREATE_CHANNEL, {"name": "Web"}, "createChannel")
    before = table_counts(runtime, tenant.id)
    cases = [
        ({"name": ""}, (["input", "name"], "REQUIRED")),
        ({"name": "x" * 101}, (["input", "name"], "TOO_LONG")),
        ({"name": "WEB"}, (["input", "name"], "TAKEN")),
        ({"name": "Ads", "cost": "-1"}, (["input", "cost"], "INVALID")),
        ({"name": "Ads", "cost": "1.234"}, (["input", "cost"], "INVALID")),
        ({"name": "Ads", "currency": "EURO"}, (["input", "currency"], "INVALID")),
    ]
    for variables, expected in cases:
        assert errors(owner, CREATE_CHANNEL, variables, "createChannel") == [expected], variables
    assert (
        owner.error_codes(CREATE_CHANNEL, {"input": {"name": "Ads", "cost": 1.5}}) == []
    )  # a JSON number is parsed exactly
    rep = add_member(owner, tenant, "sales")
    assert rep.error_codes(CREATE_CHANNEL, {"input": {"name": "Mine"}}) == ["FORBIDDEN"]
    assert [c["name"] for c in rep.data(CHANNELS)["channels"]] == ["Ads", "Web"]
    assert table_counts(runtime, tenant.id)["channels"] == before["channels"] + 1


def test_create_lead_refuses_bad_input_and_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    foreign_channel = ok(other_owner, CREATE_CHANNEL, {"name": "Theirs"}, "createChannel")["channel"]["id"]
    rep = add_member(owner, tenant, "sales")
    colleague = member_id(add_member(owner, tenant, "sales"))
    before = table_counts(runtime, tenant.id)
    cases: list[tuple[GraphQLClient, dict[str, Any], tuple[list[str], str]]] = [
        (owner, {"name": ""}, (["input", "name"], "REQUIRED")),
        (owner, {"name": "x" * 201}, (["input", "name"], "TOO_LONG")),
        (owner, {"name": "A", "email": "not-an-email"}, (["input", "email"], "INVALID_EMAIL")),
        (owner, {"name": "A", "phone": "12"}, (["input", "phone"], "INVALID_PHONE")),
        (owner, {"name": "A", "customFields": [1, 2]}, (["input", "customFields"], "INVALID")),
        (owner, {"name": "A", "channelId": foreign_channel}, (["input", "channelId"], "NOT_FOUND")),
        (owner, {"name": "A", "channelId": "bm9wZQ=="}, (["input", "channelId"], "NOT_FOUND")),
        (owner, {"name": "A", "ownerId": member_id(other_owner)}, (["input", "ownerId"], "NOT_FOUND")),
        (rep, {"name": "A", "ownerId": colleague}, (["input", "ownerId"], "INVALID")),
    ]
    for client, variables, expected in cases:
        assert errors(client, CREATE_LEAD, variables, "createLead") == [expected], variables
    assert owner.error_codes(CREATE_LEAD, {"input": {"name": 5}}) == ["BAD_USER_INPUT"]
    after = table_counts(runtime, tenant.id)
    assert after == before
    assert events(runtime, tenant.id, "lead.") == []
    viewer = add_member(owner, tenant, "viewer")
    assert viewer.error_codes(CREATE_LEAD, {"input": {"name": "A"}}) == ["FORBIDDEN"]
    assert table_counts(runtime, tenant.id)["leads"] == 0


def test_claim_return_and_disqualify(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    rep = add_member(owner, tenant, "sales")
    rep_id = member_id(rep)
    one, two, three = (create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(3))
    claimed = ok(rep, CLAIM, {"ids": [one, two]}, "claimLeads")["leads"]
    assert {(lead["id"], lead["status"], lead["owner"]["id"]) for lead in claimed} == {
        (one, "CLAIMED", rep_id), (two, "CLAIMED", rep_id),
    }  # fmt: skip
    assert errors(owner, CLAIM, {"ids": [three, one]}, "claimLeads") == [(["input", "ids"], "NOT_IN_POOL")]
    assert rep.data(LEAD, {"id": three})["lead"]["owner"] is None  # all or none: three stayed in the pool
    assert errors(rep, CLAIM, {"ids": []}, "claimLeads") == [(["input", "ids"], "REQUIRED")]
    assert errors(rep, CLAIM, {"ids": ["bm9wZQ=="]}, "claimLeads") == [(["input", "ids", "0"], "NOT_FOUND")]
    assert errors(rep, RETURN, {"ids": [one], "reason": " "}, "returnLeads") == [(["input", "reason"], "REQUIRED")]
    assert errors(rep, RETURN, {"ids": [one], "reason": "x" * 501}, "returnLeads") == [
        (["input", "reason"], "TOO_LONG")
    ]
    assert errors(rep, RETURN, {"ids": [one, three], "reason": "No budget"}, "returnLeads") == [
        (["input", "ids"], "NOT_CLAIMED")
    ]
    returned = ok(rep, RETURN, {"ids": [one], "reason": "No budget"}, "returnLeads")["leads"]
    assert returned[0]["status"] == "POOL" and returned[0]["owner"] is None
    assert returned[0]["returnReason"] == "No budget" and returned[0]["returnedAt"]
    assert errors(rep, DISQUALIFY, {"id": two, "reason": ""}, "disqualifyLead") == [(["input", "reason"], "REQUIRED")]
    done = ok(rep, DISQUALIFY, {"id": two, "reason": "Student"}, "disqualifyLead")["lead"]
    assert done == {"id": two, "status": "DISQUALIFIED", "disqualifyReason": "Student"}
    assert errors(rep, DISQUALIFY, {"id": two, "reason": "again"}, "disqualifyLead") == [
        (["input", "id"], "ALREADY_DISQUALIFIED")
    ]
    assert errors(rep, CLAIM, {"ids": [two]}, "claimLeads") == [(["input", "ids"], "NOT_IN_POOL")]
    assert errors(rep, CONVERT_PLAIN, {"id": two}, "convertLead") == [(["input", "id"], "ALREADY_DISQUALIFIED")]
    types = [t for t, _ in events(runtime, tenant.id, "lead.")]
    assert types == ["lead.created"] * 3 + ["lead.claimed"] * 2 + ["lead.returned", "lead.disqualified"]
    returned_event = events(runtime, tenant.id, "lead.returned")[0][1]["lead"]
    assert returned_event["returnReason"] == "No budget" and returned_event["returnedBy"] == {"id": rep_id}


def test_claims_stop_at_the_cap(owner: GraphQLClient, tenant: Any) -> None:
    ok(owner, UPDATE_SETTINGS, {"leadClaimCap": 2}, "updateSalesSettings")
    rep = add_member(owner, tenant, "sales")
    ids = [create_lead(owner, name=f"Lead {i}", allowDuplicate=True)["id"] for i in range(4)]
    assert errors(rep, CLAIM, {"ids": ids[:3]}, "claimLeads") == [(["input", "ids"], "CLAIM_CAP_EXCEEDED")]
    assert listed(rep, {"status": "CLAIMED"}) == set()
    ok(rep, CLAIM, {"ids": ids[:2]}, "claimLeads")
    assert errors(rep, CLAIM, {"ids": ids[2:3]}, "claimLeads") == [(["input", "ids"], "CLAIM_CAP_EXCEEDED")]
    # A lead assigned at creation counts too.
    assert errors(owner, CREATE_LEAD, {"name": "Z", "ownerId": member_id(rep)}, "createLead") == [
        (["input", "ownerId"], "CLAIM_CAP_EXCEEDED")
    ]
    ok(rep, RETURN, {"ids": ids[:1], "reason": "Wrong region"}, "returnLeads")
    ok(rep, CLAIM, {"ids": ids[2:3]}, "claimLeads")
    ok(rep, DISQUALIFY, {"id": ids[1], "reason": "Spam"}, "disqualifyLead")  # closed leads free a place
    ok(rep, CLAIM, {"ids": ids[3:]}, "claimLeads")


def test_an_api_key_cannot_hold_leads(owner: GraphQLClient, graphql_engine: Any) -> None:
    key = owner.data('mutation { createApiKey(input: {name: "k", scopes: ["leads:read", "leads:write"]}) { secret } }')[
        "createApiKey"
    ]["secret"]
    lead = create_lead(owner)
    assert errors(owner.as_token(key), CLAIM, {"ids": [lead["id"]]}, "claimLeads") == [(["input"], "INVALID")]


def test_another_tenant_sees_and_changes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime
) -> None:
    channel = ok(owner, CREATE_CHANNEL, {"name": "Web"}, "createChannel")["channel"]["id"]
    lead = create_lead(owner, channelId=channel)["id"]
    before = table_counts(runtime, tenant.id)
    assert other_owner.data(LEADS, {})["leads"]["totalCount"] == 0
    assert other_owner.data(CHANNELS)["channels"] == []
    assert other_owner.error_codes(LEAD, {"id": lead}) == ["NOT_FOUND"]
    for node_id in (lead, channel):
        assert other_owner.error_codes(NODE, {"id": node_id}) == ["NOT_FOUND"]
    assert errors(other_owner, CLAIM, {"ids": [lead]}, "claimLeads") == [(["input", "ids"], "NOT_FOUND")]
    assert errors(other_owner, RETURN, {"ids": [lead], "reason": "x"}, "returnLeads") == [
        (["input", "ids"], "NOT_FOUND")
    ]
    assert other_owner.error_codes(DISQUALIFY, {"input": {"id": lead, "reason": "x"}}) == ["NOT_FOUND"]
    assert other_owner.error_codes(CONVERT_PLAIN, {"input": {"id": lead}}) == ["NOT_FOUND"]
    assert errors(other_owner, CREATE_LEAD, {"name": "B", "channelId": channel}, "createLead") == [
        (["input", "channelId"], "NOT_FOUND")
    ]
    assert table_counts(runtime, tenant.id) == before
    assert table_counts(runtime, other_tenant.id)["leads"] == 0


def test_money_is_never_a_float(owner: GraphQLClient) -> None:
    channel = ok(owner, CREATE_CHANNEL, {"name": "Ads", "cost": "0.10"}, "createChannel")["channel"]
    assert channel["cost"] == "0.10"
    assert owner.data(CHANNELS)["channels"][0]["cost"] == "0.10"
    assert owner.data(NODE, {"id": channel["id"]})["node"]["cost"] == "0.10"


@pytest.mark.parametrize("role", ["viewer", "service"])
def test_read_only_roles_read_leads_but_do_not_change_them(owner: GraphQLClient, tenant: Any, role: str) -> None:
    lead = create_lead(owner)["id"]
    client = add_member(owner, tenant, role)
    assert listed(client) == {lead}
    assert client.error_codes(CLAIM, {"input": {"ids": [lead]}}) == ["FORBIDDEN"]


def test_create_customer_reports_duplicates_of_leads(owner: GraphQLClient) -> None:
    lead = create_lead(owner, company="Globex  Corp")
    payload = owner.data(CREATE_CUSTOMER, {"input": {"name": "globex corp"}})["createCustomer"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "name"], "DUPLICATE")]
    assert lead["id"] in payload["userErrors"][0]["message"] and "Globex Corp" in payload["userErrors"][0]["message"]
    created = owner.data(CREATE_CUSTOMER, {"input": {"name": "globex corp", "allowDuplicate": True}})["createCustomer"]
    assert created["userErrors"] == []
    person = owner.data(CREATE_CUSTOMER, {"input": {"name": "Globex Corp", "kind": "PERSON"}})["createCustomer"]
    assert person["userErrors"] == []  # a person's name is not a company name
