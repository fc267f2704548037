"""Custom fields on leads: `createLead` validates `customFields` against the tenant's LEAD
definitions (coded errors on `customFields.<key>`, nothing written), and `leads(filter:
{customField: {key, equals}})` keeps the leads whose field has the value, in the caller's tenant."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, add_member
from tests.custom_fields.test_custom_fields import define
from tests.leads.support import CREATE_LEAD, LEADS, create_lead, errors, events, member_id, table_counts


def _lead_fields(client: GraphQLClient) -> None:
    define(client, entity="LEAD", key="budget", type="SELECT", options=["small", "large"])
    define(client, entity="LEAD", key="products", type="MULTI_SELECT", options=["crm", "erp", "bi"])
    define(client, entity="LEAD", key="seats", type="NUMBER")
    define(client, entity="LEAD", key="ref", type="TEXT", unique=True)


def test_create_lead_stores_checked_and_normalised_values(owner: GraphQLClient) -> None:
    _lead_fields(owner)
    lead = create_lead(
        owner, customFields={"budget": "large", "products": ["erp", "crm"], "seats": 12.0, "ref": "  R-1 "}
    )
    assert lead["customFields"] == {"budget": "large", "products": ["crm", "erp"], "seats": 12, "ref": "R-1"}


def test_bad_custom_fields_are_coded_and_write_nothing(owner: GraphQLClient, runtime: Runtime, tenant: Any) -> None:
    _lead_fields(owner)
    define(owner, entity="CUSTOMER", key="region", type="TEXT")  # a customer's field is no lead's
    create_lead(owner, name="First", customFields={"ref": "R-1"})
    rep = add_member(owner, tenant, "sales")
    before = table_counts(runtime, tenant.id)
    lead_events = events(runtime, tenant.id, "lead.")
    cases: list[tuple[dict[str, Any], list[tuple[list[str], str]]]] = [
        ({"nope": 1}, [(["input", "customFields", "nope"], "UNKNOWN_FIELD")]),
        ({"region": "EMEA"}, [(["input", "customFields", "region"], "UNKNOWN_FIELD")]),
        ({"budget": "huge"}, [(["input", "customFields", "budget"], "INVALID_OPTION")]),
        ({"seats": "twelve"}, [(["input", "customFields", "seats"], "WRONG_TYPE")]),
        ({"ref": "r-1"}, [(["input", "customFields", "ref"], "TAKEN")]),
        (
            {"nope": 1, "seats": True},
            [(["input", "customFields", "nope"], "UNKNOWN_FIELD"), (["input", "customFields", "seats"], "WRONG_TYPE")],
        ),
    ]
    for custom_fields, expected in cases:
        got = errors(owner, CREATE_LEAD, {"name": "Second", "customFields": custom_fields}, "createLead")
        assert sorted(got) == sorted(expected), custom_fields
    assert table_counts(runtime, tenant.id) == before
    assert events(runtime, tenant.id, "lead.") == lead_events
    # A lead a rep creates for themselves is refused the same way.
    assert errors(
        rep, CREATE_LEAD, {"name": "Mine", "ownerId": member_id(rep), "customFields": {"nope": 1}}, "createLead"
    ) == [(["input", "customFields", "nope"], "UNKNOWN_FIELD")]
    assert table_counts(runtime, tenant.id) == before


def _filtered(client: GraphQLClient, key: str, equals: Any) -> set[str]:
    data = client.data(LEADS, {"first": 50, "filter": {"customField": {"key": key, "equals": equals}}})["leads"]
    assert data["totalCount"] == len(data["edges"])
    return {edge["node"]["name"] for edge in data["edges"]}


def test_the_custom_field_filter(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    _lead_fields(owner)
    create_lead(owner, name="Big", customFields={"budget": "large", "products": ["crm", "erp"], "seats": 40})
    create_lead(owner, name="Small", customFields={"budget": "small", "products": ["crm"]})
    create_lead(owner, name="Bare")
    assert _filtered(owner, "budget", "large") == {"Big"}
    assert _filtered(owner, "products", "crm") == {"Big", "Small"}
    assert _filtered(owner, "products", ["erp", "crm"]) == {"Big"}
    assert _filtered(owner, "seats", 40) == {"Big"}
    assert _filtered(owner, "unknownKey", "x") == set()
    # Combined with the other conditions of the filter.
    data = owner.data(
        LEADS, {"first": 50, "filter": {"search": "sma", "customField": {"key": "products", "equals": "crm"}}}
    )
    assert [edge["node"]["name"] for edge in data["leads"]["edges"]] == ["Small"]
    # A malformed filter is BAD_USER_INPUT.
    assert owner.error_codes(LEADS, {"filter": {"customField": {"key": "Not A Key", "equals": "x"}}}) == [
        "BAD_USER_INPUT"
    ]
    assert owner.error_codes(LEADS, {"filter": {"customField": {"key": "budget", "equals": {"a": 1}}}}) == [
        "BAD_USER_INPUT"
    ]
    # Another tenant with the same field sees none of these leads.
    define(other_owner, entity="LEAD", key="budget", type="SELECT", options=["small", "large"])
    assert _filtered(other_owner, "budget", "large") == set()
    create_lead(other_owner, name="Theirs", customFields={"budget": "large"})
    assert _filtered(other_owner, "budget", "large") == {"Theirs"}
    assert _filtered(owner, "budget", "large") == {"Big"}
