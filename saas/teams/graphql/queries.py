"""Team reads: the list and `node(id)` compiled into one SQL statement each."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import MEMBERS_READ
from saas.schema.compiled import compiled_list
from saas.schema.context import RequestContext
from saas.schema.nodes import permission_condition
from saas.teams import models, service
from saas.teams.graphql.sql import TEAM
from saas.teams.graphql.types import Team


def team_condition(context: RequestContext) -> Any:
    return permission_condition(context, MEMBERS_READ)


def _teams(session: Session) -> list[Team]:
    rows = list(session.scalars(select(models.Team).order_by(models.Team.name, models.Team.id)))
    members = service.member_ids_of(session, [row.id for row in rows])
    return [Team.from_model(row, members[row.id]) for row in rows]


async def load_team(context: RequestContext, raw_id: uuid.UUID) -> Team | None:
    def read(session: Session) -> Team | None:
        row = service.get_team(session, context.require_principal(), raw_id)
        return Team.from_model(row, service.member_ids_of(session, [row.id])[row.id])

    return await context.read(read)


@strawberry.type
class TeamQueries:
    @strawberry.field(description="The tenant's teams, by name.")
    async def teams(self, info: Info[RequestContext, None]) -> list[Team]:
        context = info.context
        condition = team_condition(context)
        return await compiled_list(  # type: ignore[no-any-return]
            info, TEAM, condition, "lower(r.name), r.id", lambda: context.read(_teams)
        )
