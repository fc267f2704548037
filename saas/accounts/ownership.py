"""Whom a member manages, and whom they may make the owner of a record: the team part of the
ownership rule, below every domain whose records have owners.

Customers, leads and deals all ask `may_own_for` before they give a record an owner, and the
credential check reads `managed_member_ids` into the principal; `owner_visibility`
(`saas/customers/rules.py`) applies `MANAGED_OWNERS_SQL` in SQL. Here, in accounts (which own
memberships), each of them can use the rule without importing the teams domain, so no import
cycle runs through customers, leads and teams. Teams' tables are named in SQL only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal

# The members whose records the viewer sees as the manager of their teams (one subquery).
MANAGED_OWNERS_SQL = (
    "SELECT tm.membership_id FROM team_members tm JOIN teams tt"
    " ON tt.tenant_id = tm.tenant_id AND tt.id = tm.team_id WHERE tt.manager_id = :viewer_membership_id"
)


def managed_member_ids(session: Session, membership_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The members of every team `membership_id` manages (the session is bound to the tenant, and
    row-level security keeps the statement to it)."""
    rows = session.execute(text(MANAGED_OWNERS_SQL), {"viewer_membership_id": membership_id}).scalars()
    return frozenset(rows)


def may_own_for(session: Session, principal: Principal, owner_id: uuid.UUID) -> bool:
    """Whether the principal may make `owner_id` the owner of a record: anyone when it sees all
    records, else itself or a member of a team it manages (read now, not from the credential)."""
    if principal.sees_all_customers or owner_id == principal.membership_id:
        return True
    return principal.membership_id is not None and owner_id in managed_member_ids(session, principal.membership_id)
