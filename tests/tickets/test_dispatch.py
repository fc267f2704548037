"""Auto-dispatch: skills, fewest open tickets, the longest-idle agent on a tie; never a drift under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from saas.runtime import Runtime
from saas.schema.engine import dumps
from tests.conftest import GraphQLClient, add_member
from tests.tickets.support import (
    CREATE_TICKET,
    SET_SKILLS,
    STATUS,
    count,
    create_customer,
    create_ticket,
    errors,
    events,
    member_id,
    notification_kinds,
    ok,
)

SUBSCRIBE = "subscription { ticketEvents { kind ticketId } }"


def skills(owner: GraphQLClient, agent: GraphQLClient, *names: str) -> None:
    ok(owner, SET_SKILLS, {"memberId": member_id(agent), "skills": list(names)}, "setAgentSkills")


def test_a_new_ticket_goes_to_a_qualified_agent_with_the_fewest_open_tickets(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    repairer, busy, returns = (add_member(owner, tenant, "service") for _ in range(3))
    skills(owner, repairer, "inquiry")
    skills(owner, busy, "inquiry", "repair")
    skills(owner, returns, "return")
    customer = create_customer(owner)
    first = create_ticket(owner, customer)
    # Neither had a ticket nor was ever assigned: the tie goes by id; then the other one.
    second = create_ticket(owner, customer)
    assert {first["assignee"]["id"], second["assignee"]["id"]} == {member_id(repairer), member_id(busy)}
    assert first["status"] == second["status"] == "ASSIGNED"
    # Both hold one open ticket: the one assigned longest ago gets the next.
    third = create_ticket(owner, customer)
    assert third["assignee"]["id"] == first["assignee"]["id"]
    # Resolving frees a place: the one with fewer open tickets wins.
    ok(owner, STATUS, {"id": third["id"], "status": "RESOLVED"}, "updateTicketStatus")
    ok(owner, STATUS, {"id": first["id"], "status": "CLOSED"}, "updateTicketStatus")
    fourth = create_ticket(owner, customer)
    assert fourth["assignee"]["id"] == first["assignee"]["id"]
    assert "ticket.assigned" in notification_kinds(repairer) or "ticket.assigned" in notification_kinds(busy)
    assert count(runtime, tenant.id, "tickets", "assignee_id IS NULL") == 0
    assert len(events(runtime, tenant.id, "ticket.assigned")) == 4


def test_nobody_qualified_leaves_the_ticket_new_and_tells_the_managers(owner: GraphQLClient, tenant: Any) -> None:
    agent = add_member(owner, tenant, "service")
    manager = add_member(owner, tenant, "manager")
    skills(owner, agent, "repair")
    ticket = create_ticket(owner, create_customer(owner))
    assert (ticket["status"], ticket["assignee"]) == ("NEW", None)
    assert "ticket.unassigned" in notification_kinds(manager)
    assert "ticket.unassigned" not in notification_kinds(agent)


def test_inactive_members_get_nothing(owner: GraphQLClient, tenant: Any) -> None:
    agent = add_member(owner, tenant, "service")
    skills(owner, agent, "inquiry")
    remove = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { userErrors { code } } }"
    owner.data(remove, {"input": {"id": member_id(agent)}})
    assert create_ticket(owner, create_customer(owner))["assignee"] is None


def test_set_agent_skills_input(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    agent = add_member(owner, tenant, "service")
    assert errors(owner, SET_SKILLS, {"memberId": member_id(other_owner), "skills": ["x"]}, "setAgentSkills") == [
        (["input", "memberId"], "NOT_FOUND")
    ]
    assert errors(owner, SET_SKILLS, {"memberId": member_id(agent), "skills": ["s" * 51]}, "setAgentSkills") == [
        (["input", "skills"], "TOO_LONG")
    ]
    many = [f"skill{i}" for i in range(21)]
    assert errors(owner, SET_SKILLS, {"memberId": member_id(agent), "skills": many}, "setAgentSkills") == [
        (["input", "skills"], "INVALID")
    ]
    assert count(runtime, tenant.id, "agent_skills") == 0
    assert agent.error_codes(SET_SKILLS, {"input": {"memberId": member_id(agent), "skills": ["x"]}}) == ["FORBIDDEN"]
    skills(owner, agent, "Repair", "repair")
    listed = owner.data("{ agentSkills { member { id } skills } }")["agentSkills"]
    assert listed == [{"member": {"id": member_id(agent)}, "skills": ["repair"]}]
    assert other_owner.data("{ agentSkills { skills } }")["agentSkills"] == []


def _create_concurrently(graphql_engine: Any, client: GraphQLClient, customer: str, n: int) -> list[dict[str, Any]]:
    """`n` createTicket requests started together, each in its own transaction."""

    async def run_all() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(graphql_engine.runtime.authenticate, f"Bearer {client.token}")

        async def one(index: int) -> dict[str, Any]:
            prepared = graphql_engine.prepare(CREATE_TICKET, None, principal)
            variables = {"input": {"customerId": customer, "subject": f"Ticket {index}", "body": "Help"}}
            outcome = await graphql_engine.execute(prepared, variables, principal, f"create{index}")
            return orjson.loads(dumps(outcome.payload))["data"]["createTicket"]  # type: ignore[no-any-return]

        return await asyncio.gather(*(one(i) for i in range(n)))

    return asyncio.run(run_all())


def test_concurrent_tickets_spread_evenly_and_numbers_never_repeat(
    graphql_engine: Any, owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    agents = [add_member(owner, tenant, "service") for _ in range(3)]
    for agent in agents:
        skills(owner, agent, "inquiry")
    customer = create_customer(owner)
    results = _create_concurrently(graphql_engine, owner, customer, 9)
    assert all(not r["userErrors"] for r in results), results
    numbers = sorted(r["ticket"]["number"] for r in results)
    assert numbers == [f"T-{i:06d}" for i in range(1, 10)]
    loads = {
        member_id(a): count(runtime, tenant.id, "tickets", f"assignee_id = '{_raw(member_id(a))}'") for a in agents
    }
    assert sorted(loads.values()) == [3, 3, 3], loads


def _raw(global_id: str) -> str:
    from saas.schema.relay import from_global_id

    return str(from_global_id(global_id)[1])
