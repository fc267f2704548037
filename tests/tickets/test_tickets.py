"""Tickets: numbers, transitions, comments and first responses, filters, events, isolation, bad input."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, add_member
from tests.tickets.support import (
    ASSIGN,
    COMMENT,
    CREATE_TICKET,
    NODE,
    RECLASSIFY,
    STATUS,
    TICKET,
    count,
    create_customer,
    create_ticket,
    errors,
    events,
    listed,
    member_id,
    notification_kinds,
    ok,
)


def test_a_ticket_is_numbered_classified_by_default_and_waits_in_the_queue(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    customer = create_customer(owner)
    first = create_ticket(owner, customer, channel="Email")
    second = create_ticket(owner, customer)
    assert (first["number"], second["number"]) == ("T-000001", "T-000002")
    assert (first["type"], first["priority"], first["status"], first["classifiedBy"]) == (
        "inquiry", "NORMAL", "NEW", None,
    )  # fmt: skip
    assert first["channel"] == "email" and first["customer"]["id"] == customer and first["assignee"] is None
    assert first["firstResponseDueAt"] is None  # no SLA policy yet
    # Nobody has skills: the managers (the owner among them) hear of it.
    assert "ticket.unassigned" in notification_kinds(owner)
    assert [kind for kind, _ in events(runtime, tenant.id, "ticket.")] == ["ticket.created", "ticket.created"]
    _, payload = events(runtime, tenant.id, "ticket.created")[0]
    assert payload["ticket"]["number"] == "T-000001" and payload["ticket"]["customer"] == {"id": customer}
    assert payload["ticket"]["status"] == "NEW"


def test_numbers_are_per_tenant(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    create_ticket(owner, create_customer(owner))
    assert create_ticket(other_owner, create_customer(other_owner))["number"] == "T-000001"


def test_transitions_are_enforced_and_reopen_goes_back_to_in_progress(owner: GraphQLClient) -> None:
    ticket = create_ticket(owner, create_customer(owner))["id"]
    assert errors(owner, STATUS, {"id": ticket, "status": "ASSIGNED"}, "updateTicketStatus") == [
        (["input", "status"], "INVALID_TRANSITION")
    ]
    assert errors(owner, STATUS, {"id": ticket, "status": "NEW"}, "updateTicketStatus") == [
        (["input", "status"], "INVALID_TRANSITION")
    ]
    moved = ok(owner, STATUS, {"id": ticket, "status": "IN_PROGRESS"}, "updateTicketStatus")["ticket"]
    assert moved["status"] == "IN_PROGRESS" and moved["firstRespondedAt"] is not None
    first_response = moved["firstRespondedAt"]
    resolved = ok(owner, STATUS, {"id": ticket, "status": "RESOLVED"}, "updateTicketStatus")["ticket"]
    assert resolved["resolvedAt"] is not None and resolved["firstRespondedAt"] == first_response
    assert errors(owner, STATUS, {"id": ticket, "status": "WAITING"}, "updateTicketStatus") == [
        (["input", "status"], "INVALID_TRANSITION")
    ]
    closed = ok(owner, STATUS, {"id": ticket, "status": "CLOSED"}, "updateTicketStatus")["ticket"]
    assert closed["closedAt"] is not None and closed["resolvedAt"] == resolved["resolvedAt"]
    assert errors(owner, ASSIGN, {"id": ticket, "assigneeId": member_id(owner)}, "assignTicket") == [
        (["input", "id"], "INVALID_TRANSITION")
    ]
    reopened = ok(owner, STATUS, {"id": ticket, "status": "IN_PROGRESS"}, "updateTicketStatus")["ticket"]
    assert (reopened["status"], reopened["resolvedAt"], reopened["closedAt"]) == ("IN_PROGRESS", None, None)


def test_assigning_moves_a_new_ticket_and_notifies_the_assignee(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    agent = add_member(owner, tenant, "service")
    ticket = create_ticket(owner, create_customer(owner))["id"]
    assigned = ok(owner, ASSIGN, {"id": ticket, "assigneeId": member_id(agent)}, "assignTicket")["ticket"]
    assert assigned["status"] == "ASSIGNED" and assigned["assignee"]["id"] == member_id(agent)
    assert "ticket.assigned" in notification_kinds(agent)
    # An agent may take a ticket, but not give one to someone else (tickets:manage).
    other = create_ticket(owner, create_customer(owner, "Beta"))["id"]
    assert agent.error_codes(ASSIGN, {"input": {"id": other, "assigneeId": member_id(owner)}}) == ["FORBIDDEN"]
    assert (
        ok(agent, ASSIGN, {"id": other, "assigneeId": member_id(agent)}, "assignTicket")["ticket"]["status"]
        == "ASSIGNED"
    )
    assert [kind for kind, _ in events(runtime, tenant.id, "ticket.assigned")] == ["ticket.assigned"] * 2


def test_comments_are_public_or_internal_and_the_first_public_one_is_the_first_response(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    ticket = create_ticket(owner, create_customer(owner))["id"]
    internal = ok(owner, COMMENT, {"id": ticket, "body": "Checking the order"}, "commentOnTicket")
    assert internal["comment"]["public"] is False and internal["ticket"]["firstRespondedAt"] is None
    public = ok(owner, COMMENT, {"id": ticket, "body": "We are on it", "public": True}, "commentOnTicket")
    assert public["comment"]["public"] is True and public["ticket"]["firstRespondedAt"] is not None
    assert public["comment"]["author"]["id"] == member_id(owner) and public["comment"]["fromCustomer"] is False
    read = owner.data(TICKET, {"id": ticket})["ticket"]
    assert read["comments"]["totalCount"] == 2
    assert [e["node"]["body"] for e in read["comments"]["edges"]] == ["Checking the order", "We are on it"]
    assert [kind for kind, _ in events(runtime, tenant.id, "ticket.commented")] == ["ticket.commented"] * 2


def test_reclassifying_sets_type_priority_and_due_times(owner: GraphQLClient) -> None:
    ok(owner, "mutation($input: SetSlaPolicyInput!) { setSlaPolicy(input: $input) { userErrors { code } } }",
       {"type": "repair", "priority": "HIGH", "firstResponseMinutes": 30, "resolutionMinutes": 240}, "setSlaPolicy")  # fmt: skip
    ticket = create_ticket(owner, create_customer(owner))
    assert ticket["resolutionDueAt"] is None
    moved = ok(owner, RECLASSIFY, {"id": ticket["id"], "type": "repair", "priority": "HIGH"}, "reclassifyTicket")[
        "ticket"
    ]
    assert (moved["type"], moved["priority"]) == ("repair", "HIGH") and moved["resolutionDueAt"] is not None
    assert errors(owner, RECLASSIFY, {"id": ticket["id"], "type": "nope"}, "reclassifyTicket") == [
        (["input", "type"], "NOT_FOUND")
    ]


def test_filters(owner: GraphQLClient) -> None:
    acme, beta = create_customer(owner), create_customer(owner, "Beta")
    a = create_ticket(owner, acme, subject="Printer jammed", body="Paper stuck")["id"]
    b = create_ticket(owner, beta, subject="Invoice copy", body="Please send 发票")["id"]
    ok(owner, STATUS, {"id": b, "status": "WAITING"}, "updateTicketStatus")
    assert listed(owner) == [b, a]  # newest first
    assert listed(owner, {"customerId": acme}) == [a]
    assert listed(owner, {"status": "WAITING"}) == [b]
    assert listed(owner, {"search": "jammed"}) == [a]
    assert listed(owner, {"search": "发票"}) == [b]
    assert listed(owner, {"search": "T-000001"}) == [a]
    assert listed(owner, {"type": "inquiry"}) == [b, a]
    assert listed(owner, {"type": "repair"}) == []
    assert listed(owner, {"breached": False}) == [b, a]
    assert listed(owner, {"breached": True}) == []
    assert listed(owner, {"assigneeId": member_id(owner)}) == []


def test_bad_input_writes_nothing(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, other_owner: GraphQLClient
) -> None:
    customer = create_customer(owner)
    foreign = create_customer(other_owner)
    cases = [
        ({"customerId": customer, "subject": "", "body": "x"}, (["input", "subject"], "REQUIRED")),
        ({"customerId": customer, "subject": "s" * 201, "body": "x"}, (["input", "subject"], "TOO_LONG")),
        ({"customerId": customer, "subject": "s", "body": "  "}, (["input", "body"], "REQUIRED")),
        ({"customerId": customer, "subject": "s", "body": "b" * 10_001}, (["input", "body"], "TOO_LONG")),
        (
            {"customerId": customer, "subject": "s", "body": "b", "channel": "c" * 51},
            (["input", "channel"], "TOO_LONG"),
        ),
        ({"customerId": foreign, "subject": "s", "body": "b"}, (["input", "customerId"], "NOT_FOUND")),
        ({"customerId": "bm9wZQ==", "subject": "s", "body": "b"}, (["input", "customerId"], "NOT_FOUND")),
        (
            {"customerId": customer, "subject": "s", "body": "b", "contactId": customer},
            (["input", "contactId"], "NOT_FOUND"),
        ),
    ]
    for variables, expected in cases:
        assert errors(owner, CREATE_TICKET, variables, "createTicket") == [expected], variables
    assert count(runtime, tenant.id, "tickets") == 0
    assert count(runtime, tenant.id, "ticket_counters") == 0
    ticket = create_ticket(owner, customer)["id"]
    assert errors(owner, COMMENT, {"id": ticket, "body": ""}, "commentOnTicket") == [(["input", "body"], "REQUIRED")]
    assert errors(owner, COMMENT, {"id": customer, "body": "x"}, "commentOnTicket") == [(["input", "id"], "NOT_FOUND")]
    assert errors(owner, ASSIGN, {"id": ticket, "assigneeId": customer}, "assignTicket") == [
        (["input", "assigneeId"], "NOT_FOUND")
    ]
    assert count(runtime, tenant.id, "ticket_comments") == 0


def test_another_tenant_gets_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    ticket = create_ticket(owner, create_customer(owner))["id"]
    assert listed(other_owner) == []
    assert other_owner.error_codes(TICKET, {"id": ticket}) == ["NOT_FOUND"]
    assert other_owner.error_codes(NODE, {"id": ticket}) == ["NOT_FOUND"]
    comment = ok(owner, COMMENT, {"id": ticket, "body": "Note"}, "commentOnTicket")["comment"]["id"]
    assert other_owner.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": comment}) == ["NOT_FOUND"]
    assert errors(other_owner, STATUS, {"id": ticket, "status": "CLOSED"}, "updateTicketStatus") == [
        (["input", "id"], "NOT_FOUND")
    ]
    assert errors(other_owner, COMMENT, {"id": ticket, "body": "hi"}, "commentOnTicket") == [
        (["input", "id"], "NOT_FOUND")
    ]
    assert errors(other_owner, ASSIGN, {"id": ticket, "assigneeId": member_id(other_owner)}, "assignTicket") == [
        (["input", "id"], "NOT_FOUND")
    ]
    assert errors(owner, ASSIGN, {"id": ticket, "assigneeId": member_id(other_owner)}, "assignTicket") == [
        (["input", "assigneeId"], "NOT_FOUND")
    ]
    assert count(runtime, tenant.id, "tickets", "status = 'new' AND assignee_id IS NULL") == 1
    assert count(runtime, tenant.id, "ticket_comments") == 1


def test_visibility_of_agents_and_sales_reps(owner: GraphQLClient, tenant: Any) -> None:
    agent = add_member(owner, tenant, "service")
    colleague = add_member(owner, tenant, "service")
    rep = add_member(owner, tenant, "sales")
    own = create_customer(rep, "Rep's customer")
    queued = create_ticket(owner, create_customer(owner, "Owned by owner", ownerId=member_id(owner)))["id"]
    mine = create_ticket(owner, own)["id"]
    ok(owner, ASSIGN, {"id": mine, "assigneeId": member_id(colleague)}, "assignTicket")
    # Service agents: their own and the unassigned queue.
    assert listed(agent) == [queued]
    assert set(listed(colleague)) == {queued, mine}
    # Sales reps: tickets of the customers they see.
    assert listed(rep) == [mine]
    assert rep.error_codes(TICKET, {"id": queued}) == ["NOT_FOUND"]
    # Viewers read every ticket, and change none.
    viewer = add_member(owner, tenant, "viewer")
    assert set(listed(viewer)) == {queued, mine}
    assert viewer.error_codes(STATUS, {"input": {"id": mine, "status": "CLOSED"}}) == ["FORBIDDEN"]


def test_tickets_are_on_the_customer_timeline(owner: GraphQLClient, tenant: Any) -> None:
    customer = create_customer(owner)
    ticket = create_ticket(owner, customer, subject="Broken hinge")["id"]
    agent, colleague = add_member(owner, tenant, "service"), add_member(owner, tenant, "service")
    ok(owner, ASSIGN, {"id": ticket, "assigneeId": member_id(colleague)}, "assignTicket")
    internal = ok(owner, COMMENT, {"id": ticket, "body": "Internal: order a hinge"}, "commentOnTicket")["comment"]
    public = ok(owner, COMMENT, {"id": ticket, "body": "x" * 300, "public": True}, "commentOnTicket")["comment"]
    ok(owner, STATUS, {"id": ticket, "status": "RESOLVED"}, "updateTicketStatus")
    query = """query($id: ID!) { customer(id: $id) { timeline(first: 10) {
      edges { node { kind summary recordId actor { id } } } } } }"""
    entries = [e["node"] for e in owner.data(query, {"id": customer})["customer"]["timeline"]["edges"]]
    assert [(e["kind"], e["recordId"]) for e in entries] == [
        ("TICKET_RESOLVED", ticket),
        ("TICKET_COMMENTED", public["id"]),
        ("TICKET_COMMENTED", internal["id"]),
        ("TICKET_OPENED", ticket),
    ]
    assert entries[3]["summary"] == "T-000001: Broken hinge"
    assert entries[2]["summary"] == "T-000001: Internal: order a hinge"
    assert entries[1]["summary"] == "T-000001: " + "x" * 200  # the comment's start
    assert entries[1]["actor"] == entries[2]["actor"] == {"id": member_id(owner)}
    # The timeline keeps to who sees the ticket: a service agent who does not (it is not theirs,
    # nor in the queue) reads none of its entries.
    assert agent.data(query, {"id": customer})["customer"]["timeline"]["edges"] == []
