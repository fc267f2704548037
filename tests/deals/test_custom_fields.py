"""Custom fields on opportunities: `validate_custom_fields` on create and update (a refusal writes
nothing), the values on compiled and resolver reads, the list filter, and the tenant's own fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import GraphQLClient
from tests.deals.support import ERRORS, create_customer

DEFINE = f"""mutation($input: DefineCustomFieldInput!) {{
  defineCustomField(input: $input) {{ customFieldDefinition {{ id key }} {ERRORS} }}
}}"""
CREATE = f"""mutation($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{ opportunity {{ id version customFields }} {ERRORS} }}
}}"""
UPDATE = f"""mutation($input: UpdateOpportunityInput!) {{
  updateOpportunity(input: $input) {{ opportunity {{ id version customFields }} {ERRORS} }}
}}"""
READ = "query($id: ID!) { opportunity(id: $id) { customFields } }"
# A customer's `opportunities` is not compiled (it needs the caller's ownership rule): the resolver path.
READ_RESOLVED = "query($id: ID!) { customer(id: $id) { opportunities { customFields } } }"
LIST = """query($filter: OpportunityFilterInput) {
  opportunities(first: 50, filter: $filter) { totalCount edges { node { name customFields } } }
}"""


def _define(client: GraphQLClient, entity: str = "OPPORTUNITY", **fields: Any) -> None:
    fields.setdefault("label", fields["key"].title())
    payload = client.data(DEFINE, {"input": {"entity": entity, **fields}})["defineCustomField"]
    assert payload["userErrors"] == [], payload


def _fields(client: GraphQLClient) -> None:
    _define(client, key="region", type="SELECT", options=["EMEA", "APAC"])
    _define(client, key="seats", type="NUMBER")


def _create(client: GraphQLClient, customer_id: str, custom_fields: Any, name: str = "Deal") -> dict[str, Any]:
    variables = {"customerId": customer_id, "name": name, "amount": "100.00", "currency": "EUR"}
    return dict(client.data(CREATE, {"input": {**variables, "customFields": custom_fields}})["createOpportunity"])


def _errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def test_values_are_checked_normalised_and_read_back(owner: GraphQLClient) -> None:
    _fields(owner)
    customer_id = create_customer(owner)
    payload = _create(owner, customer_id, {"region": " EMEA ", "seats": 12.0})
    assert payload["userErrors"] == []
    opportunity = payload["opportunity"]
    assert opportunity["customFields"] == {"region": "EMEA", "seats": 12}
    compiled = owner.data(READ, {"id": opportunity["id"]})["opportunity"]
    resolved = owner.data(READ_RESOLVED, {"id": customer_id})["customer"]["opportunities"][0]
    assert compiled["customFields"] == resolved["customFields"] == {"region": "EMEA", "seats": 12}
    # Without customFields, an opportunity has none.
    bare = owner.data(
        CREATE, {"input": {"customerId": customer_id, "name": "Bare", "amount": "1.00", "currency": "EUR"}}
    )["createOpportunity"]
    assert bare["opportunity"]["customFields"] == {}


def test_an_unknown_key_on_create_is_refused_and_nothing_written(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    _fields(owner)
    _define(owner, entity="CUSTOMER", key="tier", type="TEXT")  # a customer's field is unknown on an opportunity
    customer_id = create_customer(owner)
    owner.data("{ pipelineStages { id } }")  # the default stages exist before counting
    before = counts()
    for values, key in (({"nope": 1}, "nope"), ({"region": "EMEA", "tier": "gold"}, "tier")):
        payload = _create(owner, customer_id, values)
        assert payload["opportunity"] is None
        assert _errors(payload) == [(["input", "customFields", key], "UNKNOWN_FIELD")]
    payload = _create(owner, customer_id, {"region": "MARS"})
    assert _errors(payload) == [(["input", "customFields", "region"], "INVALID_OPTION")]
    assert counts() == before


def test_an_update_is_a_patch_and_an_unknown_key_changes_nothing(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]]
) -> None:
    _fields(owner)
    customer_id = create_customer(owner)
    opportunity = _create(owner, customer_id, {"region": "EMEA", "seats": 5})["opportunity"]
    before = counts()
    refused = owner.data(
        UPDATE, {"input": {"id": opportunity["id"], "version": 1, "customFields": {"seats": 6, "nope": True}}}
    )["updateOpportunity"]
    assert refused["opportunity"] is None
    assert _errors(refused) == [(["input", "customFields", "nope"], "UNKNOWN_FIELD")]
    assert counts() == before
    assert owner.data(READ, {"id": opportunity["id"]})["opportunity"]["customFields"] == {"region": "EMEA", "seats": 5}

    updated = owner.data(
        UPDATE, {"input": {"id": opportunity["id"], "version": 1, "customFields": {"seats": 6, "region": None}}}
    )["updateOpportunity"]
    assert updated["userErrors"] == []
    assert updated["opportunity"]["customFields"] == {"seats": 6}
    assert updated["opportunity"]["version"] == 2


def test_a_required_field_is_required_on_create(owner: GraphQLClient, counts: Callable[[], dict[str, int]]) -> None:
    customer_id = create_customer(owner)
    owner.data("{ pipelineStages { id } }")
    _define(owner, key="source", type="TEXT", required=True)
    before = counts()
    payload = _create(owner, customer_id, None)
    assert _errors(payload) == [(["input", "customFields", "source"], "REQUIRED")]
    assert counts() == before
    assert _create(owner, customer_id, {"source": "Fair"})["opportunity"]["customFields"] == {"source": "Fair"}


def test_the_list_filters_by_a_custom_field(owner: GraphQLClient) -> None:
    _fields(owner)
    customer_id = create_customer(owner)
    _create(owner, customer_id, {"region": "EMEA"}, name="Europe")
    _create(owner, customer_id, {"region": "APAC"}, name="Asia")
    found = owner.data(LIST, {"filter": {"customField": {"key": "region", "equals": "APAC"}}})["opportunities"]
    assert found["totalCount"] == 1
    assert [e["node"]["name"] for e in found["edges"]] == ["Asia"]


def test_another_tenants_fields_do_not_apply(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    _fields(other_owner)
    customer_id = create_customer(owner)
    payload = _create(owner, customer_id, {"region": "EMEA"})
    assert _errors(payload) == [(["input", "customFields", "region"], "UNKNOWN_FIELD")]
    other_customer = create_customer(other_owner)
    assert _create(other_owner, other_customer, {"region": "EMEA"})["userErrors"] == []
