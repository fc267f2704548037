"""Customer 360: one request reaches a customer's contacts, timeline, opportunities with their stage
history, contracts, orders with lines, payment plans with installments, invoices, tasks and a
plugin's field, in one SQL statement however many children the customer has; through
`customer(id)`, `node(id)` and the `customers` list alike. The compiled timeline pages exactly as
the resolver path does, a rep sees only what they see elsewhere, and another tenant sees nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from saas.plugin_api.testing import enable_plugin
from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import create_customer, create_opportunity, member_id, move, stages
from tests.deals.test_visibility import _everything
from tests.followups.helpers import create_contact, create_task, log_activity
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]

CUSTOMER_360_FIELDS = """
  id name owner { id }
  contacts { id name isPrimary }
  timeline(first: $first, after: $after) {
    edges { cursor node { kind occurredAt summary recordId actor { id } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  opportunities { id name amount weightedAmount stage { name }
    stageHistory { fromStage { name } toStage { name } changedBy { id } changedAt reason } }
  contracts { id number amount uninvoicedAmount opportunity { id } }
  orders { id total lines { quantity amount product { sku } } }
  paymentPlans { id total installments { dueOn amount receivedAmount overdue payments { amount } } }
  invoices { id status amount }
  tasks { id title dueAt completedAt assignee { id } }
"""
PLUGIN_FIELD = "loyaltyPoints"
CUSTOMER_360 = f"""query Customer360($id: ID!, $first: Int = 5, $after: String) {{
  customer(id: $id) {{ {CUSTOMER_360_FIELDS} {PLUGIN_FIELD} }}
}}"""
NODE_360 = f"""query Node360($id: ID!, $first: Int = 5, $after: String) {{
  node(id: $id) {{ ... on Customer {{ {CUSTOMER_360_FIELDS} {PLUGIN_FIELD} }} }}
}}"""
LIST_360 = f"""query List360($page: Int!, $first: Int = 5, $after: String) {{
  customers(first: $page) {{ edges {{ node {{ {CUSTOMER_360_FIELDS} {PLUGIN_FIELD} }} }} }}
}}"""
# `Task.customer` has no SQL mapping: the same selection then reads through the resolvers.
RESOLVED_360 = f"""query Resolved360($id: ID!, $first: Int = 5, $after: String) {{
  customer(id: $id) {{ {CUSTOMER_360_FIELDS} {PLUGIN_FIELD} resolved: tasks {{ customer {{ id }} }} }}
}}"""

# The resolver path (a selected field without SQL): the customer, then one batched statement per
# nested field, whatever the rows (contacts, the timeline and its actors, opportunities and their
# stages and history, contracts, orders and lines, plans and installments, invoices, tasks, points…);
# the tenant setting goes in front of the first, in its message.
RESOLVED_STATEMENTS = 20


def _children(owner: GraphQLClient, customer: str, label: str, rows: int, assignee: str | None = None) -> None:
    """`rows` of every kind of child: contacts, activities, tasks, opportunities (each moved once),
    and the after-sale records (a contract from a won opportunity, an order, a plan, a payment, an invoice)."""
    proposal = stages(owner)["Proposal"]["id"]
    for n in range(rows):
        create_contact(owner, customer, f"{label} contact {n}")
        log_activity(owner, customer, f"{label} call {n}")
        extra = {"assigneeId": assignee} if assignee else {}
        create_task(owner, customer, f"2030-01-0{n + 1}T09:00:00+00:00", f"{label} task {n}", **extra)
        opportunity = create_opportunity(owner, customer, "100.00")
        move(owner, opportunity["id"], proposal, "interested")
    _everything(owner, customer, label, rows=rows)


@pytest.fixture
def loyal_owner(owner: GraphQLClient) -> GraphQLClient:
    enable_plugin(owner, "loyalty")
    return owner


@pytest.fixture
def few_and_many(loyal_owner: GraphQLClient) -> tuple[str, str]:
    few = create_customer(loyal_owner, "Few Children Ltd")
    many = create_customer(loyal_owner, "Many Children Ltd")
    _children(loyal_owner, few, "F", rows=1)
    _children(loyal_owner, many, "M", rows=4)
    return few, many


def _statements(client: GraphQLClient, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
    data = client.data(query, variables)
    return data, client.last_statements


def test_one_statement_reads_the_whole_customer_however_many_children(
    loyal_owner: GraphQLClient, few_and_many: tuple[str, str]
) -> None:
    few, many = few_and_many
    small, small_count = _statements(loyal_owner, CUSTOMER_360, {"id": few})
    large, large_count = _statements(loyal_owner, CUSTOMER_360, {"id": many})
    assert small_count == large_count == 1
    customer = large["customer"]
    assert len(customer["contacts"]) == 4 and len(customer["tasks"]) == 4
    assert len(customer["opportunities"]) == 8  # four moved to Proposal, four won (one per contract)
    assert all(o["stageHistory"] for o in customer["opportunities"])
    assert len(customer["contracts"]) == 4 and len(customer["orders"][0]["lines"]) == 1
    assert len(customer["paymentPlans"][0]["installments"]) == 2 and len(customer["invoices"]) == 4
    assert customer[PLUGIN_FIELD] == 0
    assert len(customer["timeline"]["edges"]) == 5 and customer["timeline"]["pageInfo"]["hasNextPage"] is True
    assert len(small["customer"]["contacts"]) == 1


def test_node_and_the_list_cost_one_statement_too(loyal_owner: GraphQLClient, few_and_many: tuple[str, str]) -> None:
    _, many = few_and_many
    by_node, count = _statements(loyal_owner, NODE_360, {"id": many})
    assert count == 1
    by_field = loyal_owner.data(CUSTOMER_360, {"id": many})["customer"]
    assert by_node["node"] == by_field
    counts = {}
    for page in (1, 2):
        listed, counts[page] = _statements(loyal_owner, LIST_360, {"page": page})
        assert len(listed["customers"]["edges"]) == page
    assert counts == {1: 1, 2: 1}


def test_the_resolver_path_costs_the_same_for_few_children_or_many(
    loyal_owner: GraphQLClient, few_and_many: tuple[str, str]
) -> None:
    few, many = few_and_many
    _, small = _statements(loyal_owner, RESOLVED_360, {"id": few})
    _, large = _statements(loyal_owner, RESOLVED_360, {"id": many})
    assert small == large == RESOLVED_STATEMENTS


def _pages(client: GraphQLClient, query: str, customer: str, first: int) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        timeline = client.data(query, {"id": customer, "first": first, "after": after})["customer"]["timeline"]
        pages.append(timeline)
        if not timeline["pageInfo"]["hasNextPage"]:
            return pages
        after = timeline["pageInfo"]["endCursor"]


def test_the_compiled_timeline_pages_as_the_resolver_path_does(
    loyal_owner: GraphQLClient, few_and_many: tuple[str, str]
) -> None:
    _, many = few_and_many
    for first in (1, 3, 7, 100):
        compiled = _pages(loyal_owner, CUSTOMER_360, many, first)
        resolved = _pages(loyal_owner, RESOLVED_360, many, first)
        assert compiled == resolved, first
    entries = [e for page in _pages(loyal_owner, CUSTOMER_360, many, 3) for e in page["edges"]]
    times = [e["node"]["occurredAt"] for e in entries]
    assert times == sorted(times, reverse=True) and len({e["cursor"] for e in entries}) == len(entries)
    assert {e["node"]["kind"] for e in entries} >= {"ACTIVITY", "TASK_CREATED", "STAGE_CHANGE"}
    # the whole customer agrees too, but for the field only the resolver variant selects
    compiled_customer = loyal_owner.data(CUSTOMER_360, {"id": many})["customer"]
    resolved_customer = loyal_owner.data(RESOLVED_360, {"id": many})["customer"]
    del resolved_customer["resolved"]
    assert compiled_customer == resolved_customer


def test_first_and_after_are_checked_as_on_the_resolver_path(
    loyal_owner: GraphQLClient, few_and_many: tuple[str, str]
) -> None:
    few, _ = few_and_many
    for variables in ({"first": -1}, {"first": 101}, {"after": "not-a-cursor"}):
        for query in (CUSTOMER_360, RESOLVED_360):
            assert loyal_owner.error_codes(query, {"id": few, **variables}) == ["BAD_USER_INPUT"], variables
    empty = loyal_owner.data(CUSTOMER_360, {"id": few, "first": 0})["customer"]["timeline"]
    assert empty == {
        "edges": [],
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
    }


def test_a_rep_sees_only_their_opportunities_and_tasks_inside_the_360(
    owner: GraphQLClient, tenant: TenantHandle
) -> None:
    rep = add_member(owner, tenant, "sales")
    colleague = add_member(owner, tenant, "sales")
    mine = create_customer(owner, "Rep's Customer", owner_id=member_id(rep))
    create_opportunity(rep, mine, "10.00")
    create_opportunity(owner, mine, "20.00")  # the owner's: not the rep's to see
    create_task(owner, mine, "2030-01-01T09:00:00+00:00", "For the rep", assigneeId=member_id(rep))
    create_task(owner, mine, "2030-01-02T09:00:00+00:00", "For the colleague", assigneeId=member_id(colleague))
    query = CUSTOMER_360.replace(PLUGIN_FIELD, "")
    resolved_query = RESOLVED_360.replace(PLUGIN_FIELD, "")
    seen = rep.data(query, {"id": mine})["customer"]
    assert rep.last_statements == 1
    assert [o["amount"] for o in seen["opportunities"]] == ["10.00"]
    assert [t["title"] for t in seen["tasks"]] == ["For the rep"]
    assert [e["node"]["summary"] for e in seen["timeline"]["edges"] if e["node"]["kind"] == "TASK_CREATED"] == [
        "For the rep"
    ]
    resolved = rep.data(resolved_query, {"id": mine})["customer"]
    del resolved["resolved"]
    assert resolved == seen
    # the owner's view of the same customer, compiled after the rep's: all of it
    everything = owner.data(query, {"id": mine})["customer"]
    assert len(everything["opportunities"]) == 2 and len(everything["tasks"]) == 2
    # and the rep's again, from the cached statement: still only theirs
    assert rep.data(query, {"id": mine})["customer"] == seen
    colleague_customer = create_customer(owner, "Colleague's Customer", owner_id=member_id(colleague))
    assert rep.error_codes(query, {"id": colleague_customer}) == ["NOT_FOUND"]


def test_another_tenant_reads_nothing_of_the_360(
    owner: GraphQLClient, other_owner: GraphQLClient, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Walled Garden Ltd")
    _children(owner, customer, "W", rows=1)
    query = CUSTOMER_360.replace(PLUGIN_FIELD, "")
    node_query = NODE_360.replace(PLUGIN_FIELD, "")
    assert owner.data(query, {"id": customer})["customer"]["id"] == customer
    assert other_owner.error_codes(query, {"id": customer}) == ["NOT_FOUND"]
    assert other_owner.error_codes(node_query, {"id": customer}) == ["NOT_FOUND"]
    listed = other_owner.data(LIST_360.replace(PLUGIN_FIELD, ""), {"page": 50})["customers"]["edges"]
    assert customer not in {edge["node"]["id"] for edge in listed}
