"""Who sees an export job: the member who started it (an API key: the jobs no member started)."""

from __future__ import annotations

from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition


def export_job_visibility(principal: Principal, alias: str, condition: SqlCondition) -> None:
    if principal.membership_id is None:
        condition.add(f"{alias}.requested_by_id IS NULL")
    else:
        condition.add(f"{alias}.requested_by_id = :viewer_membership_id", viewer_membership_id=principal.membership_id)
