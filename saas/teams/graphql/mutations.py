"""Team mutations: thin wrappers over saas/teams/service.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from saas.errors import NotFoundError
from saas.schema.common import Payload, run_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id
from saas.teams import service
from saas.teams.graphql.types import Team


@strawberry.input
class CreateTeamInput:
    name: str
    manager_id: strawberry.ID
    member_ids: list[strawberry.ID]


@strawberry.type
class CreateTeamPayload(Payload):
    team: Team | None = None


def _member(value: str) -> Any:
    """The member id, or None for a malformed one (the service reports it as NOT_FOUND on its field)."""
    try:
        return decode_id(value, "Member")
    except NotFoundError:
        return None


@strawberry.type
class TeamMutations:
    @strawberry.mutation(
        description="A team with a manager and members (owners and admins); a name already used is TAKEN."
    )
    async def create_team(self, info: Info[RequestContext, None], input: CreateTeamInput) -> CreateTeamPayload:
        context = info.context

        async def run() -> dict[str, Any]:
            team, members = await context.write(
                service.create_team,
                context.require_principal(),
                input.name,
                _member(input.manager_id),
                [_member(m) for m in input.member_ids],
            )
            return {"team": Team.from_model(team, members)}

        return await run_mutation(run, CreateTeamPayload)  # type: ignore[no-any-return]
