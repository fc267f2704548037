"""Team rules: whom a member manages, and whom they may make the owner of a record.

What a manager sees is `owner_visibility` in saas/customers/rules.py (the one ownership rule);
this module answers the same question for code that holds a principal, not a SQL alias.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.teams.models import Team, TeamMember

if TYPE_CHECKING:
    from saas.auth.principal import Principal


def managed_member_ids(session: Session, membership_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The members of every team `membership_id` manages (the session is bound to the tenant)."""
    rows = session.scalars(
        select(TeamMember.membership_id)
        .join(Team, (Team.tenant_id == TeamMember.tenant_id) & (Team.id == TeamMember.team_id))
        .where(Team.manager_id == membership_id)
    )
    return frozenset(rows)


def may_own_for(session: Session, principal: Principal, owner_id: uuid.UUID) -> bool:
    """Whether the principal may make `owner_id` the owner of a record: anyone when it sees all
    records, else itself or a member of a team it manages (read now, not from the credential)."""
    if principal.sees_all_customers or owner_id == principal.membership_id:
        return True
    return principal.membership_id is not None and owner_id in managed_member_ids(session, principal.membership_id)
