"""serviceReport's SQL: the after-sales figures of one period in one statement (a JSON document).

The tickets counted are those the caller sees (`saas/tickets/rules.py`) created in the window
(`created_at`, inclusive UTC days), assigned to the owner (team) asked for. From them:

- `byType`: every ticket type of the tenant (by key) with its count; `byStatus`: every status in
  the order of the workflow (NEW … CLOSED) with its count; zeros included.
- `meanFirstResponseMinutes`: the mean of `first_responded_at - created_at` over those answered;
  `meanResolutionMinutes`: of `resolved_at - created_at` over those resolved (or closed). Both in
  minutes, rounded to 2 places; null when no ticket qualifies.
- `slaBreachRate`: of the tickets with an SLA (due times set), the share the SLA job flagged
  (`breached_at`), to 4 places; null when none has an SLA.
- `topArticles`: the articles most used (`article_uses`, one per article and ticket) on the visible
  tickets of the owner (team) asked for, counting the uses recorded in the window; at most
  TOP_ARTICLES, most used first.
- `workload`: per active member who is an agent (has skills for dispatch), or has open tickets
  assigned, or worked hours in the window: the visible open tickets (NEW, ASSIGNED, IN_PROGRESS,
  WAITING) assigned to them now, whatever their creation date (a load, not a cohort), and the
  hours worked (`hoursWorked` as recorded by `completeWorkOrder`) on their COMPLETED work orders
  the caller sees whose visit starts in the window.

The report counts no money: `currency` narrows nothing. Minutes and rates leave PostgreSQL as
text and become `Decimal`, as the sales reports' rates do, never a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from saas.auth.permissions import KNOWLEDGE_READ, WORK_ORDERS_READ
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition
from saas.errors import ForbiddenError
from saas.knowledge.rules import article_visibility
from saas.reports import rules
from saas.reports.rules import ReportWindow
from saas.reports.service import document, read_document
from saas.tickets.models import OPEN_STATUSES, TicketStatus
from saas.workorders.models import WorkOrderStatus
from saas.workorders.rules import work_order_conditions

# The most used articles listed.
TOP_ARTICLES = 10

_STATUSES = ", ".join(f"('{status.value}', {position})" for position, status in enumerate(TicketStatus))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _only_with(principal: Principal, permission: str, condition: SqlCondition) -> SqlCondition:
    """No rows when the caller may not read what a figure counts (its part of the report is empty)."""
    if permission not in principal.permissions:
        condition.add("FALSE")
    return condition


def _minutes(since: str, until: str) -> str:
    mean = f"avg(CAST(EXTRACT(EPOCH FROM ({until} - {since})) AS numeric)) FILTER (WHERE {until} IS NOT NULL)"
    return f"round({mean} / 60, 2)::text"


def service_report(session: Session, principal: Principal, window: ReportWindow) -> dict[str, Any]:
    """The figures described above, as `{byType, byStatus, meanFirstResponseMinutes, …}`."""
    if principal.scope:
        raise ForbiddenError("Reports are for staff")
    cohort = rules.ticket_report_conditions(principal, "t", window)
    created, created_params = rules.timestamp_in_days("t.created_at", window, "r_created")
    used_on = rules.ticket_report_conditions(principal, "ut", window)
    used, used_params = rules.timestamp_in_days("u.created_at", window, "r_used")
    article = _only_with(principal, KNOWLEDGE_READ, SqlCondition())
    article_visibility(principal, "a", article)
    loaded = rules.ticket_report_conditions(principal, "lt", window)
    members = SqlCondition()
    rules.owner_filter(principal, window, "m.id", members)
    orders = _only_with(principal, WORK_ORDERS_READ, work_order_conditions(principal, "w"))
    started, started_params = rules.timestamp_in_days("w.starts_at", window, "r_started")
    sql = f"""WITH cohort AS (
  SELECT t.type, t.status, t.created_at, t.first_responded_at, t.resolved_at, t.breached_at,
    (t.first_response_due_at IS NOT NULL OR t.resolution_due_at IS NOT NULL) AS has_sla
  FROM tickets t
  WHERE t.tenant_id = :tenant_id AND {cohort.sql} AND {created}
), per_type AS (
  SELECT type, count(*) AS n FROM cohort GROUP BY type
), per_status AS (
  SELECT status, count(*) AS n FROM cohort GROUP BY status
), figures AS (
  SELECT {_minutes("created_at", "first_responded_at")} AS first_response,
    {_minutes("created_at", "resolved_at")} AS resolution,
    round(CAST(count(*) FILTER (WHERE has_sla AND breached_at IS NOT NULL) AS numeric)
      / NULLIF(count(*) FILTER (WHERE has_sla), 0), 4)::text AS breach_rate
  FROM cohort
), uses AS (
  SELECT u.article_id, count(*) AS n
  FROM article_uses u JOIN tickets ut ON ut.tenant_id = u.tenant_id AND ut.id = u.ticket_id
  WHERE u.tenant_id = :tenant_id AND {used_on.sql} AND {used}
  GROUP BY u.article_id
), top AS (
  SELECT a.id, a.title, a.problem, a.solution, a.type, a.tags, a.status, a.published_at, a.created_at,
    a.updated_at, a.source_ticket_id, uses.n
  FROM uses JOIN articles a ON a.tenant_id = :tenant_id AND a.id = uses.article_id
  WHERE {article.sql}
  ORDER BY uses.n DESC, a.created_at, a.id
  LIMIT {TOP_ARTICLES}
), open_load AS (
  SELECT lt.assignee_id, count(*) AS n
  FROM tickets lt
  WHERE lt.tenant_id = :tenant_id AND lt.assignee_id IS NOT NULL AND lt.status = ANY(:r_open) AND {loaded.sql}
  GROUP BY lt.assignee_id
), hours AS (
  SELECT w.technician_id, sum(w.hours_worked) AS h
  FROM work_orders w
  WHERE w.tenant_id = :tenant_id AND w.status = :r_completed AND {orders.sql} AND {started}
  GROUP BY w.technician_id
), load AS (
  SELECT m.id, COALESCE(o.n, 0) AS open_tickets, COALESCE(h.h, 0) AS hours
  FROM memberships m
  LEFT JOIN open_load o ON o.assignee_id = m.id
  LEFT JOIN hours h ON h.technician_id = m.id
  WHERE m.tenant_id = :tenant_id AND m.is_active AND {members.sql}
    AND (o.n IS NOT NULL OR h.h IS NOT NULL
         OR EXISTS (SELECT 1 FROM agent_skills s WHERE s.tenant_id = :tenant_id AND s.membership_id = m.id))
)
{
        document(f'''SELECT json_build_object(
    'byType', COALESCE((SELECT json_agg(json_build_object('type', tt.key, 'count', COALESCE(pt.n, 0))
        ORDER BY tt.key)
      FROM ticket_types tt LEFT JOIN per_type pt ON pt.type = tt.key WHERE tt.tenant_id = :tenant_id), '[]'),
    'byStatus', (SELECT json_agg(json_build_object('status', st.status, 'count', COALESCE(ps.n, 0))
        ORDER BY st.position)
      FROM (VALUES {_STATUSES}) AS st(status, position) LEFT JOIN per_status ps ON ps.status = st.status),
    'meanFirstResponseMinutes', (SELECT first_response FROM figures),
    'meanResolutionMinutes', (SELECT resolution FROM figures),
    'slaBreachRate', (SELECT breach_rate FROM figures),
    'topArticles', COALESCE((SELECT json_agg(json_build_object('article', json_build_object('id', top.id,
        'title', top.title, 'problem', top.problem, 'solution', top.solution, 'type', top.type, 'tags', top.tags,
        'status', top.status, 'published_at', top.published_at, 'created_at', top.created_at,
        'updated_at', top.updated_at, 'source_ticket_id', top.source_ticket_id), 'uses', top.n)
        ORDER BY top.n DESC, top.created_at, top.id) FROM top), '[]'),
    'workload', COALESCE((SELECT json_agg(json_build_object('memberId', load.id, 'openTickets', load.open_tickets,
        'workOrderHours', round(load.hours, 2)::text) ORDER BY load.open_tickets DESC, load.hours DESC, load.id)
      FROM load), '[]'))''')
    }"""
    params = {
        **rules.base_params(principal, window),
        **cohort.params,
        **created_params,
        **used_on.params,
        **used_params,
        **article.params,
        **loaded.params,
        **members.params,
        **orders.params,
        **started_params,
        "r_open": [status.value for status in OPEN_STATUSES],
        "r_completed": WorkOrderStatus.COMPLETED.value,
    }
    report = dict(read_document(session, sql, params))
    for key in ("meanFirstResponseMinutes", "meanResolutionMinutes", "slaBreachRate"):
        report[key] = _decimal(report[key])
    for row in report["workload"]:
        row["workOrderHours"] = Decimal(row["workOrderHours"])
    return report
