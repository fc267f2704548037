"""What leads bring to follow-ups: the lead as a follow-up subject (activities and tasks about it).

A declaration (`saas/followups/sources.py`) that follow-ups compose (`SUBJECTS`); the rule is
the leads domain's own (`lead_visibility`: reps their leads, their teams' and the pool's).
"""

from __future__ import annotations

from saas.auth.permissions import LEADS_READ
from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.followups.sources import FollowUpSubject
from saas.leads.rules import lead_visibility


def _lead_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """A lead is a subject for whoever reads leads and sees it."""
    if LEADS_READ not in principal.permissions:
        condition.add("FALSE")
        return
    lead_visibility(principal, alias, condition)


# A lead belongs to no customer (until converted, and its follow-ups stay the lead's).
LEAD_SUBJECT = FollowUpSubject("Lead", "leads", None, _lead_visibility, soft_deleted=False)
