"""What tickets declare to take part in follow-ups: their entries on a customer's timeline.

A ticket shows on its customer's timeline when it is opened (`TICKET_OPENED`, its number and
subject) and, once resolved, when it was resolved (`TICKET_RESOLVED`), with the caller's ticket
visibility built in (a portal token: its own customer's).
"""

from __future__ import annotations

from typing import Any

from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.followups.sources import TimelineSource
from saas.tenancy.session import tenant_predicate
from saas.tickets.rules import ticket_visibility


def _opened(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = SqlCondition()
    ticket_visibility(principal, "tk", condition)
    sql = (
        "SELECT tk.customer_id, tk.created_at, tk.id, 'TICKET_OPENED'::varchar, "
        "('T-' || lpad(tk.number::text, 6, '0') || ': ' || tk.subject)::text, NULL::uuid, 'Ticket'::varchar "
        f"FROM tickets tk WHERE {tenant_predicate('tk')} AND {condition.sql}"
    )
    return sql, condition.params


def _resolved(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = SqlCondition()
    ticket_visibility(principal, "tr", condition)
    sql = (
        "SELECT tr.customer_id, tr.resolved_at, tr.id, 'TICKET_RESOLVED'::varchar, "
        "('T-' || lpad(tr.number::text, 6, '0') || ': ' || tr.subject)::text, tr.assignee_id, 'Ticket'::varchar "
        f"FROM tickets tr WHERE {tenant_predicate('tr')} AND tr.resolved_at IS NOT NULL AND {condition.sql}"
    )
    return sql, condition.params


TICKETS_OPENED = TimelineSource("tickets_opened", _opened)
TICKETS_RESOLVED = TimelineSource("tickets_resolved", _resolved)
