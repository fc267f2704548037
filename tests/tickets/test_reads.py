"""Ticket reads are one SQL statement each, whatever the page size, their comments (a nested page)
included; with a field computed in Python (a comment's `authorName`) a fixed number, and the same
JSON as the compiled path."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient, add_member
from tests.tickets.support import ASSIGN, COMMENT, NODE, create_customer, create_ticket, member_id, ok

TICKETS_NESTED = """query($first: Int) { tickets(first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id number subject status priority type breached createdAt
    customer { id name } contact { id } assignee { id email } classifiedBy { id name } } } } }"""
WITH_COMMENTS = """query($first: Int) { tickets(first: $first) {
  totalCount edges { node { id number customer { id name } assignee { id email }
    comments(first: 2) { totalCount edges { node { body public } } } } } } }"""
TICKET = "query($id: ID!) { ticket(id: $id) { id number subject customer { id name } assignee { id } } }"


def test_reads_are_one_statement(owner: GraphQLClient, tenant: Any) -> None:
    agent = member_id(add_member(owner, tenant, "service"))
    customers = [create_customer(owner, f"Customer {i}") for i in range(3)]
    ids = [create_ticket(owner, customers[i % 3], subject=f"Ticket {i}")["id"] for i in range(8)]
    for ticket in ids[::2]:
        ok(owner, ASSIGN, {"id": ticket, "assigneeId": agent}, "assignTicket")
        for n in range(3):
            ok(owner, COMMENT, {"id": ticket, "body": f"Note {n}", "public": n % 2 == 0}, "commentOnTicket")
    counts = {}
    for first in (1, 4, 8):
        data = owner.data(TICKETS_NESTED, {"first": first})["tickets"]
        assert len(data["edges"]) == first and data["totalCount"] == 8
        counts[first] = owner.last_statements
    assert set(counts.values()) == {1}, counts
    owner.data(TICKET, {"id": ids[0]})
    assert owner.last_statements == 1
    owner.data(NODE, {"id": ids[0]})
    assert owner.last_statements == 1
    compiled, fallback = {}, {}
    for first in (2, 8):
        data = owner.data(WITH_COMMENTS, {"first": first})["tickets"]
        compiled[first] = owner.last_statements
        resolved = owner.data(WITH_COMMENTS.replace("body public", "body public authorName"), {"first": first})
        fallback[first] = owner.last_statements
        for edge in resolved["tickets"]["edges"]:
            for comment in edge["node"]["comments"]["edges"]:
                assert comment["node"].pop("authorName") == tenant.owner_email
        assert resolved["tickets"] == data
    assert compiled == {2: 1, 8: 1} and fallback[2] == fallback[8], (compiled, fallback)
    commented = [e["node"] for e in data["edges"] if e["node"]["comments"]["totalCount"]]
    assert len(commented) == 4 and all(len(n["comments"]["edges"]) == 2 for n in commented)


def test_both_paths_give_the_same_page(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    for i in range(3):
        create_ticket(owner, customer, subject=f"T{i}")
    compiled = owner.data(TICKETS_NESTED, {"first": 3})["tickets"]
    resolved = owner.data(
        TICKETS_NESTED.replace("breached createdAt", "breached createdAt comments { totalCount }"), {"first": 3}
    )["tickets"]
    for edge in resolved["edges"]:
        assert edge["node"].pop("comments") == {"totalCount": 0}
    assert compiled == resolved
