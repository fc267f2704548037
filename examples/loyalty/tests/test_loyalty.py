"""Loyalty's own tests, as a partner writes them: the saas test kit, a real database, GraphQL only.

Run with `python -m pytest examples/loyalty` (pyproject.toml loads `-p saas.plugin_api.testing`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from saas.plugin_api import DomainEvent, PluginContext
from saas.plugin_api.testing import GraphQLClient, disable_plugin, enable_plugin

import saas_plugin_loyalty
from saas_plugin_loyalty.models import LoyaltyEntry

CREATE_CUSTOMER = 'mutation { createCustomer(input: {name: "Ada"}) { customer { id } userErrors { code } } }'
ADJUST = """mutation Adjust($input: LoyaltyAdjustPointsInput!) {
  loyaltyAdjustPoints(input: $input) { balance userErrors { field code } }
}"""
POINTS = "{ customers(first: 10) { edges { node { name loyaltyPoints } } } }"


def _customer(client: GraphQLClient) -> str:
    customer_id: str = client.data(CREATE_CUSTOMER)["createCustomer"]["customer"]["id"]
    return customer_id


def _adjust(client: GraphQLClient, customer_id: str, points: int) -> dict:
    result: dict = client.data(ADJUST, {"input": {"customerId": customer_id, "points": points, "reason": "Visit"}})
    return result["loyaltyAdjustPoints"]


def test_points_are_awarded_redeemed_and_shown_on_the_customer(saas_plugin_client) -> None:
    client = saas_plugin_client("loyalty")
    ada = _customer(client)
    assert _adjust(client, ada, 40) == {"balance": 40, "userErrors": []}
    assert _adjust(client, ada, -50) == {
        "balance": None,
        "userErrors": [{"field": ["input", "points"], "code": "INVALID"}],
    }
    assert _adjust(client, ada, -15)["balance"] == 25
    assert client.data(POINTS) == {"customers": {"edges": [{"node": {"name": "Ada", "loyaltyPoints": 25}}]}}


def test_welcome_points_follow_the_tenants_settings(saas_plugin_client, saas_tenant) -> None:
    client = saas_plugin_client("loyalty", {"welcomePoints": 25})
    customer = {"id": _customer(client)}  # events carry entities as the API returns them
    event = DomainEvent(uuid.uuid4(), saas_tenant.id, "customer.created", {"customer": customer}, datetime.now(UTC))
    with saas_tenant.session() as session:
        context = PluginContext(saas_tenant.id, session, {"welcomePoints": 25}, emit=lambda *_: None)
        saas_plugin_loyalty.saas_handle_event(context=context, event=event)
        saas_plugin_loyalty.saas_handle_event(context=context, event=event)  # delivered twice: booked once
    assert client.data(POINTS)["customers"]["edges"][0]["node"]["loyaltyPoints"] == 25


def test_other_tenants_neither_see_the_plugin_nor_the_points(saas_plugin_client, saas_tenant, saas_make_tenant) -> None:
    client = saas_plugin_client("loyalty")
    _adjust(client, _customer(client), 10)
    other = saas_make_tenant()
    assert other.client.error_codes(POINTS) == ["PLUGIN_NOT_ENABLED"]
    enable_plugin(other.client, "loyalty")
    assert other.client.data(POINTS) == {"customers": {"edges": []}}
    with other.session() as session:
        assert session.query(LoyaltyEntry).count() == 0
    with saas_tenant.session() as session:
        assert session.query(LoyaltyEntry).count() == 1


def test_disabling_keeps_the_points(saas_plugin_client) -> None:
    client = saas_plugin_client("loyalty")
    _adjust(client, _customer(client), 10)
    disable_plugin(client, "loyalty")
    assert client.error_codes(POINTS) == ["PLUGIN_NOT_ENABLED"]
    enable_plugin(client, "loyalty")
    assert client.data(POINTS)["customers"]["edges"][0]["node"]["loyaltyPoints"] == 10


ENTRIES = "query($id: ID!) { loyaltyEntries(customerId: $id) { id points } }"
ENTRY_NODE = "query($id: ID!) { node(id: $id) { __typename id ... on LoyaltyEntry { points reason } } }"


def test_an_entry_is_a_node_of_its_own_tenant_only(saas_plugin_client, saas_make_tenant) -> None:
    client = saas_plugin_client("loyalty")
    ada = _customer(client)
    _adjust(client, ada, 40)
    [entry] = client.data(ENTRIES, {"id": ada})["loyaltyEntries"]
    assert client.data(ENTRY_NODE, {"id": entry["id"]})["node"] == {
        "__typename": "LoyaltyEntry",
        "id": entry["id"],
        "points": 40,
        "reason": "Visit",
    }
    other = saas_make_tenant()
    enable_plugin(other.client, "loyalty")
    assert other.client.error_codes(ENTRY_NODE, {"id": entry["id"]}) == ["NOT_FOUND"]
