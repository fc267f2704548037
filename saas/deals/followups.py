"""What deals bring to follow-ups: opportunities as a follow-up subject, stage changes on the timeline.

Both are declarations (`saas/followups/sources.py`) that follow-ups compose (`SUBJECTS`,
`TIMELINE_SOURCES`); the SQL names deals' own tables and columns and applies deals' own rules.
"""

from __future__ import annotations

from typing import Any

from saas.auth.permissions import DEALS_READ
from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.deals.rules import opportunity_visibility
from saas.followups.sources import FollowUpSubject, TimelineSource
from saas.tenancy.session import tenant_predicate


def _opportunity_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    """An opportunity is a subject for whoever reads deals and sees it (reps: their own)."""
    if DEALS_READ not in principal.permissions:
        condition.add("FALSE")
        return
    opportunity_visibility(principal, alias, condition)


# Activities and tasks about an opportunity belong to its customer (they show on its timeline).
OPPORTUNITY_SUBJECT = FollowUpSubject(
    "Opportunity", "opportunities", "{s}.customer_id", _opportunity_visibility, soft_deleted=False
)


def _stage_changes(principal: Principal) -> tuple[str, dict[str, Any]]:
    """`STAGE_CHANGE` entries: an opportunity moved from one pipeline stage to another (or was
    created in its first), e.g. `Big deal: Proposal → Won`; the record is the `StageChange`.

    The stages' names are scalar subqueries of the summary, not joins: a page of the timeline
    (`PagedRelation.parts`) sorts and cuts this source's rows before it selects the summary, and
    PostgreSQL evaluates a subquery of the select list after the cut, for the rows kept only,
    where joins looked up both stages of every change of the customer first (docs/performance.md,
    "The compiled reads' instructions in PostgreSQL"). The rows are the same: `to_stage_id` is NOT
    NULL and `(tenant_id, to_stage_id)` a foreign key to the stages, so its subquery finds the one
    stage the inner join did (in the change's tenant, the caller's); `from_stage_id`'s, like the
    left join, finds its stage or none (NULL, then no `→`)."""
    condition = SqlCondition()
    if principal.scope:
        condition.add("FALSE")
    _opportunity_visibility(principal, "so", condition)
    to_stage = f"(SELECT st.name FROM pipeline_stages st WHERE {tenant_predicate('st')} AND st.id = sc.to_stage_id)"
    from_stage = f"(SELECT sf.name FROM pipeline_stages sf WHERE {tenant_predicate('sf')} AND sf.id = sc.from_stage_id)"
    sql = (
        "SELECT so.customer_id, sc.changed_at, sc.id, 'STAGE_CHANGE'::varchar, "
        f"so.name || ': ' || COALESCE({from_stage} || ' → ', '') || {to_stage}, sc.changed_by_id, 'StageChange'::varchar "
        "FROM opportunity_stage_changes sc "
        f"JOIN opportunities so ON {tenant_predicate('so')} AND so.id = sc.opportunity_id "
        f"WHERE {tenant_predicate('sc')} AND {condition.sql}"
    )
    return sql, condition.params


STAGE_CHANGES = TimelineSource("stage_changes", _stage_changes)
