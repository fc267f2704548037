"""Lead, channel and team reads are one SQL statement each, whatever the page size."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient, add_member
from tests.leads.support import CREATE_CHANNEL, NODE, create_lead, member_id, ok
from tests.teams.test_teams import CREATE_TEAM

LEADS_NESTED = """query($first: Int) { leads(first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id name status customFields owner { id email role } channel { id name cost } } } } }"""
LEAD = "query($id: ID!) { lead(id: $id) { id name owner { id name } channel { name } } }"
TEAMS = "{ teams { id name manager { id email } members { id email } } }"


def test_reads_are_one_statement(owner: GraphQLClient, tenant: Any) -> None:
    channel = ok(owner, CREATE_CHANNEL, {"name": "Web", "cost": "10.00"}, "createChannel")["channel"]["id"]
    reps = [member_id(add_member(owner, tenant, "sales")) for _ in range(3)]
    ids = [
        create_lead(owner, name=f"Lead {i}", channelId=channel, ownerId=reps[i % 3] if i % 2 else None)["id"]
        for i in range(12)
    ]
    counts = {}
    for first in (1, 5, 12):
        data = owner.data(LEADS_NESTED, {"first": first})["leads"]
        assert len(data["edges"]) == first and data["totalCount"] == 12
        counts[first] = owner.last_statements
    assert any(e["node"]["owner"] for e in data["edges"]) and all(e["node"]["channel"] for e in data["edges"])
    assert set(counts.values()) == {1}, counts
    owner.data(LEAD, {"id": ids[1]})
    assert owner.last_statements == 1
    owner.data(NODE, {"id": ids[1]})
    assert owner.last_statements == 1
    owner.data("{ channels { id name cost currency } }")
    assert owner.last_statements == 1
    for name in ("North", "South"):
        ok(owner, CREATE_TEAM, {"name": name, "managerId": reps[0], "memberIds": reps}, "createTeam")
    teams = owner.data(TEAMS)["teams"]
    assert [len(t["members"]) for t in teams] == [3, 3]
    assert owner.last_statements == 1
