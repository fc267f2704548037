"""DataLoaders for the ORM path: one statement per nested object, whatever the page size."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.accounts.models import Membership
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.accounts.graphql.types import Member


def member_loader(context: RequestContext) -> DataLoader[uuid.UUID, Member | None]:
    """Members by membership id (a customer's owner, an invitation's sender, `node(id)`)."""
    from saas.accounts.graphql.types import Member

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Member]:
        return {
            row.id: Member.from_model(row) for row in session.scalars(select(Membership).where(Membership.id.in_(ids)))
        }

    return request_loader(context, "members", batch)


async def member_of(context: RequestContext, member_id: uuid.UUID | None) -> Member | None:
    """The member `member_id` through the request's member loader; None when there is none."""
    return None if member_id is None else await member_loader(context).load(member_id)
