"""Who sees which owned records: reps their own and the pool, team managers their members' too, admins all.

For leads and customers alike (one rule, `owner_visibility`), in lists, single reads and node(id).
"""

from __future__ import annotations

from typing import Any

import pytest

from saas.customers.rules import customer_visible_to
from saas.schema.relay import decode_id
from tests.conftest import GraphQLClient, add_member
from tests.leads.support import (
    CREATE_CUSTOMER,
    CREATE_LEAD,
    CUSTOMERS,
    LEAD,
    NODE,
    create_lead,
    errors,
    listed,
    member_id,
    ok,
)
from tests.teams.test_teams import CREATE_TEAM

CUSTOMER = "query($id: ID!) { customer(id: $id) { id } }"


@pytest.fixture
def sales(owner: GraphQLClient, tenant: Any) -> dict[str, Any]:
    """Reps A and B, manager M of a team with A, a manager with no team; a lead and a customer each."""
    people = {
        "a": add_member(owner, tenant, "sales"),
        "b": add_member(owner, tenant, "sales"),
        "m": add_member(owner, tenant, "manager"),
        "lone": add_member(owner, tenant, "manager"),
    }
    ids = {name: member_id(client) for name, client in people.items()}
    ok(owner, CREATE_TEAM, {"name": "North", "managerId": ids["m"], "memberIds": [ids["a"]]}, "createTeam")
    leads = {who: create_lead(owner, name=f"Lead of {who}", ownerId=ids[who])["id"] for who in ("a", "b")}
    leads["pool"] = create_lead(owner, name="Pool lead")["id"]
    customers = {}
    for who in ("a", "b"):
        made = ok(owner, CREATE_CUSTOMER, {"name": f"Customer of {who}", "ownerId": ids[who]}, "createCustomer")
        customers[who] = made["customer"]["id"]
    customers["pool"] = ok(owner, CREATE_CUSTOMER, {"name": "Pool customer"}, "createCustomer")["customer"]["id"]
    return {"clients": people, "ids": ids, "leads": leads, "customers": customers}


def _customers(client: GraphQLClient) -> set[str]:
    return {edge["node"]["id"] for edge in client.data(CUSTOMERS)["customers"]["edges"]}


@pytest.mark.parametrize(
    ("who", "sees"),
    [("a", {"a", "pool"}), ("b", {"b", "pool"}), ("m", {"a", "pool"}), ("lone", {"pool"})],
)
def test_members_see_their_own_their_teams_and_the_pool(sales: dict[str, Any], who: str, sees: set[str]) -> None:
    client = sales["clients"][who]
    assert listed(client) == {sales["leads"][k] for k in sees}
    assert _customers(client) == {sales["customers"][k] for k in sees}
    for key in ("a", "b", "pool"):
        lead, customer = sales["leads"][key], sales["customers"][key]
        if key in sees:
            assert client.data(LEAD, {"id": lead})["lead"]["id"] == lead
            assert client.data(NODE, {"id": lead})["node"]["id"] == lead
            assert client.data(CUSTOMER, {"id": customer})["customer"]["id"] == customer
            assert client.data(NODE, {"id": customer})["node"]["id"] == customer
        else:
            assert client.error_codes(LEAD, {"id": lead}) == ["NOT_FOUND"]
            assert client.error_codes(NODE, {"id": lead}) == ["NOT_FOUND"]
            assert client.error_codes(CUSTOMER, {"id": customer}) == ["NOT_FOUND"]
            assert client.error_codes(NODE, {"id": customer}) == ["NOT_FOUND"]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_everything(sales: dict[str, Any], owner: GraphQLClient, tenant: Any, role: str) -> None:
    client = owner if role == "owner" else add_member(owner, tenant, "admin")
    assert listed(client) == set(sales["leads"].values())
    assert _customers(client) == set(sales["customers"].values())


def test_the_live_check_agrees_with_the_sql_rule(
    sales: dict[str, Any], principal_of: Any, runtime: Any, tenant: Any
) -> None:
    """The team's members come with the credential, read again after the credential cache's window."""
    runtime.credentials.forget_tenant(tenant.id)  # as when the window has passed since the team was made
    manager = principal_of(sales["clients"]["m"])
    ids = sales["ids"]
    assert manager.team_member_ids == frozenset({decode_id(ids["a"], "Member")})
    assert customer_visible_to(manager, decode_id(ids["a"], "Member"))
    assert not customer_visible_to(manager, decode_id(ids["b"], "Member"))
    assert customer_visible_to(manager, None)
    assert not customer_visible_to(principal_of(sales["clients"]["b"]), decode_id(ids["a"], "Member"))


def test_managers_assign_records_to_their_team_only(sales: dict[str, Any]) -> None:
    manager, ids = sales["clients"]["m"], sales["ids"]
    lead = create_lead(manager, name="For A", ownerId=ids["a"], allowDuplicate=True)
    assert lead["owner"] == {"id": ids["a"]}
    assert errors(manager, CREATE_LEAD, {"name": "For B", "ownerId": ids["b"]}, "createLead") == [
        (["input", "ownerId"], "INVALID")
    ]
    made = ok(manager, CREATE_CUSTOMER, {"name": "Team customer", "ownerId": ids["a"]}, "createCustomer")
    assert made["customer"]["owner"] == {"id": ids["a"]}
    assert errors(manager, CREATE_CUSTOMER, {"name": "Not mine", "ownerId": ids["b"]}, "createCustomer") == [
        (["input", "ownerId"], "INVALID")
    ]


def test_a_manager_hears_live_of_the_teams_customers_only(
    sales: dict[str, Any], owner: GraphQLClient, runtime: Any, tenant: Any
) -> None:
    from saas.plugin_api.testing import collect_events

    runtime.credentials.forget_tenant(tenant.id)  # the team is read with the credential
    ids = sales["ids"]

    def act() -> None:
        for who in ("a", "b"):
            ok(owner, CREATE_CUSTOMER, {"name": f"Live of {who}", "ownerId": ids[who]}, "createCustomer")

    events = "subscription { customerEvents { kind customerId } }"
    heard = collect_events(sales["clients"]["m"], events, None, "customers", act)
    names = [p["data"]["customerEvents"]["customerId"] for p in heard]
    assert len(names) == 1
    assert sales["clients"]["m"].data(CUSTOMER, {"id": names[0]})["customer"]["id"] == names[0]
