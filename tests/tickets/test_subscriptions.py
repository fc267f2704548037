"""ticketEvents: live, tenant-scoped, filtered by the tickets' visibility (agents, portal tokens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saas.plugin_api.testing import collect_events
from tests.conftest import GraphQLClient, add_member
from tests.tickets.support import (
    COMMENT,
    CREATE_ACCESS,
    SET_SKILLS,
    create_contact,
    create_customer,
    create_ticket,
    member_id,
    ok,
)

EVENTS = "subscription { ticketEvents { kind ticketId } }"


def _run(listener: GraphQLClient, act: Callable[[], None]) -> list[tuple[str, str]]:
    payloads: list[dict[str, Any]] = collect_events(listener, EVENTS, None, "tickets", act)
    return [(p["data"]["ticketEvents"]["kind"], p["data"]["ticketEvents"]["ticketId"]) for p in payloads]


def test_the_assignee_hears_of_its_ticket_and_other_tenants_hear_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any
) -> None:
    agent = add_member(owner, tenant, "service")
    ok(owner, SET_SKILLS, {"memberId": member_id(agent), "skills": ["inquiry"]}, "setAgentSkills")
    customer = create_customer(owner)
    made: list[str] = []

    def act() -> None:
        made.append(create_ticket(owner, customer)["id"])

    heard = _run(agent, act)
    assert heard == [("ticket.created", made[0]), ("ticket.assigned", made[0])]
    assert _run(other_owner, act) == []


def test_portal_tokens_hear_of_their_customers_tickets_only(owner: GraphQLClient, tenant: Any) -> None:
    mine, theirs = create_customer(owner), create_customer(owner, "Other")
    token = ok(owner, CREATE_ACCESS, {"contactId": create_contact(owner, mine)}, "createPortalAccess")["token"]
    client = owner.as_token(token)
    agent = add_member(owner, tenant, "service")
    made: list[str] = []

    def act() -> None:
        made.append(create_ticket(owner, theirs)["id"])
        made.append(create_ticket(owner, mine)["id"])

    assert _run(client, act) == [("ticket.created", made[1])]
    # An agent hears of tickets while they are in the queue (created unassigned), not of their
    # assignment to a colleague.
    colleague = add_member(owner, tenant, "service")
    ok(owner, SET_SKILLS, {"memberId": member_id(colleague), "skills": ["inquiry"]}, "setAgentSkills")
    made.clear()
    assert [kind for kind, _ in _run(agent, act)] == ["ticket.created", "ticket.created"]


def test_portal_tokens_hear_of_public_comments_only(owner: GraphQLClient) -> None:
    """An internal comment is not the portal's to read, nor to hear of; staff hear of both."""
    customer = create_customer(owner)
    token = ok(owner, CREATE_ACCESS, {"contactId": create_contact(owner, customer)}, "createPortalAccess")["token"]
    client = owner.as_token(token)
    ticket = create_ticket(owner, customer)["id"]

    def act() -> None:
        ok(owner, COMMENT, {"id": ticket, "body": "Internal: check the serial"}, "commentOnTicket")
        ok(owner, COMMENT, {"id": ticket, "body": "A new one is on its way", "public": True}, "commentOnTicket")
        ok(client, COMMENT, {"id": ticket, "body": "Thank you"}, "commentOnTicket")

    assert _run(client, act) == [("ticket.commented", ticket)] * 2
    assert _run(owner, act) == [("ticket.commented", ticket)] * 3
