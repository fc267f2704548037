"""What tickets declare to take part in follow-ups: their entries on a customer's timeline.

A ticket shows on its customer's timeline when it is opened (`TICKET_OPENED`, its number and
subject), each comment on it (`TICKET_COMMENTED`, the ticket's number and the comment's start; the
record is the comment, the actor its author) and, once resolved, when it was resolved
(`TICKET_RESOLVED`), with the caller's ticket and comment visibility built in (a portal token: its
own customer's, public comments only).
"""

from __future__ import annotations

from typing import Any

from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.followups.sources import TimelineSource
from saas.tenancy.session import tenant_predicate
from saas.tickets.rules import comment_visibility, ticket_visibility

# How much of a comment's body its timeline entry shows.
COMMENT_SUMMARY = 200


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


def _commented(principal: Principal) -> tuple[str, dict[str, Any]]:
    condition = SqlCondition()
    ticket_visibility(principal, "tc", condition)
    comment_visibility(principal, "cc", condition)
    sql = (
        "SELECT tc.customer_id, cc.created_at, cc.id, 'TICKET_COMMENTED'::varchar, "
        f"('T-' || lpad(tc.number::text, 6, '0') || ': ' || left(cc.body, {COMMENT_SUMMARY}))::text, cc.author_id, "
        "'TicketComment'::varchar "
        "FROM tickets tc JOIN ticket_comments cc ON cc.tenant_id = tc.tenant_id AND cc.ticket_id = tc.id "
        f"WHERE {tenant_predicate('tc')} AND {tenant_predicate('cc')} AND {condition.sql}"
    )
    return sql, condition.params


TICKETS_OPENED = TimelineSource("tickets_opened", _opened)
TICKETS_COMMENTED = TimelineSource("tickets_commented", _commented)
TICKETS_RESOLVED = TimelineSource("tickets_resolved", _resolved)
