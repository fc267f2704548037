"""GraphQL type of teams."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from saas.accounts.graphql.types import Member
from saas.schema.common import Node
from saas.schema.context import RequestContext
from saas.schema.relay import to_global_id
from saas.teams import models


@strawberry.type(description="A sales team: its manager sees the records its members own.")
class Team(Node):
    name: str
    created_at: datetime
    manager_id: strawberry.Private[uuid.UUID]
    member_ids: strawberry.Private[tuple[uuid.UUID, ...]]

    @strawberry.field
    async def manager(self, info: Info[RequestContext, None]) -> Member:
        from saas.accounts.graphql.loaders import member_loader

        return await member_loader(info.context).load(self.manager_id)  # type: ignore[return-value]

    @strawberry.field(description="The members, in the order they joined.")
    async def members(self, info: Info[RequestContext, None]) -> list[Member]:
        from saas.accounts.graphql.loaders import member_loader

        found = await member_loader(info.context).load_many(list(self.member_ids))
        return [m for m in found if m is not None]

    @classmethod
    def from_model(cls, row: models.Team, member_ids: tuple[uuid.UUID, ...]) -> Team:
        return cls(
            id=strawberry.ID(to_global_id("Team", row.id)),
            name=row.name,
            created_at=row.created_at,
            manager_id=row.manager_id,
            member_ids=member_ids,
        )
