"""Teams: creation (owners and admins), bad input, isolation, node(id), the event."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, add_member
from tests.leads.support import NODE, errors, events, member_id, ok, table_counts

CREATE_TEAM = """mutation($input: CreateTeamInput!) { createTeam(input: $input) {
  team { id name createdAt manager { id } members { id } } userErrors { field code message } } }"""
TEAMS = "{ teams { id name manager { id email } members { id role } } }"


def test_a_team_has_a_manager_and_members(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    manager = member_id(add_member(owner, tenant, "manager"))
    reps = [member_id(add_member(owner, tenant, "sales")) for _ in range(2)]
    team = ok(
        owner,
        CREATE_TEAM,
        {"name": "North", "managerId": manager, "memberIds": [reps[1], reps[0], reps[0]]},
        "createTeam",
    )["team"]
    assert team["manager"] == {"id": manager}
    assert [m["id"] for m in team["members"]] == reps  # by when they joined the tenant, each once
    listed = owner.data(TEAMS)["teams"]
    assert [(t["id"], t["name"], t["manager"]["id"], [m["id"] for m in t["members"]]) for t in listed] == [
        (team["id"], "North", manager, reps)
    ]
    assert owner.data(NODE, {"id": team["id"]})["node"] == {"__typename": "Team", "id": team["id"], "name": "North"}
    rep = add_member(owner, tenant, "sales")
    assert [t["name"] for t in rep.data(TEAMS)["teams"]] == ["North"]  # members may read teams
    [(kind, payload)] = events(runtime, tenant.id, "team.")
    assert kind == "team.created"
    assert payload["team"]["manager"] == {"id": manager}
    assert payload["team"]["members"] == [{"id": r} for r in reps]


def test_bad_input_writes_nothing(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    manager = member_id(add_member(owner, tenant, "manager"))
    ok(owner, CREATE_TEAM, {"name": "North", "managerId": manager, "memberIds": []}, "createTeam")
    rep = add_member(owner, tenant, "sales")
    before = table_counts(runtime, tenant.id)
    foreign = member_id(other_owner)
    cases = [
        ({"name": "", "managerId": manager, "memberIds": []}, [(["input", "name"], "REQUIRED")]),
        ({"name": "x" * 101, "managerId": manager, "memberIds": []}, [(["input", "name"], "TOO_LONG")]),
        ({"name": "NORTH", "managerId": manager, "memberIds": []}, [(["input", "name"], "TAKEN")]),
        ({"name": "South", "managerId": foreign, "memberIds": []}, [(["input", "managerId"], "NOT_FOUND")]),
        ({"name": "South", "managerId": "bm9wZQ==", "memberIds": []}, [(["input", "managerId"], "NOT_FOUND")]),
        (
            {"name": "South", "managerId": manager, "memberIds": [member_id(rep), foreign, "bm9wZQ=="]},
            [(["input", "memberIds", "1"], "NOT_FOUND"), (["input", "memberIds", "2"], "NOT_FOUND")],
        ),
    ]
    for variables, expected in cases:
        assert errors(owner, CREATE_TEAM, variables, "createTeam") == expected, variables
    assert owner.error_codes(CREATE_TEAM, {"input": {"name": "South", "managerId": manager}}) == ["BAD_USER_INPUT"]
    for role_client in (rep, add_member(owner, tenant, "manager")):
        assert role_client.error_codes(
            CREATE_TEAM, {"input": {"name": "Mine", "managerId": manager, "memberIds": []}}
        ) == ["FORBIDDEN"]
    assert table_counts(runtime, tenant.id)["teams"] == before["teams"]
    assert table_counts(runtime, tenant.id)["team_members"] == before["team_members"]


def test_another_tenant_sees_no_team(owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any) -> None:
    manager = member_id(add_member(owner, tenant, "manager"))
    team = ok(owner, CREATE_TEAM, {"name": "North", "managerId": manager, "memberIds": [manager]}, "createTeam")["team"]
    assert other_owner.data(TEAMS)["teams"] == []
    assert other_owner.error_codes(NODE, {"id": team["id"]}) == ["NOT_FOUND"]
    # Another tenant's members cannot join a team here, nor the other way round.
    assert errors(other_owner, CREATE_TEAM, {"name": "X", "managerId": manager, "memberIds": []}, "createTeam") == [
        (["input", "managerId"], "NOT_FOUND")
    ]
