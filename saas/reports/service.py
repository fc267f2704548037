"""The reports' SQL: one statement per report, each answering one JSON document.

Every statement answers `{"ownerKnown": bool, "teamKnown": bool, "rows": ...}`: the figures, and whether the
`ownerId` asked for is a member of the tenant (an unknown one is NOT_FOUND, not an empty report).
Amounts leave PostgreSQL as text with two decimals and become `Decimal`, never a float; they are
grouped by currency and never added across currencies. The conditions come from rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.auth.principal import Principal
from saas.deals.rules import weighted_amount_sql
from saas.errors import BadUserInputError, NotFoundError
from saas.reports import rules
from saas.reports.rules import ReportWindow


class Period(StrEnum):
    """A trend's bucket: PostgreSQL's `date_trunc` unit (weeks start on Monday, ISO 8601)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_STEP = {
    Period.DAY: "1 day",
    Period.WEEK: "1 week",
    Period.MONTH: "1 month",
    Period.QUARTER: "3 months",
    Period.YEAR: "1 year",
}


def _money(value: str) -> Decimal:
    return Decimal(value)


# The currencies a report has rows for: the one asked for, else each one found in `source`, else
# one row without a currency (so that a report with nothing to count still lists its stages/periods).
def _currencies_sql(window: ReportWindow, source: str) -> str:
    if window.currency is not None:
        return "SELECT CAST(:r_currency AS varchar) AS currency"
    return (
        f"SELECT DISTINCT currency FROM {source}"
        f" UNION ALL SELECT CAST(NULL AS varchar) WHERE NOT EXISTS (SELECT 1 FROM {source})"
    )


def read_document(session: Session, sql: str, params: dict[str, Any]) -> Any:
    document = orjson.loads(session.execute(text(sql), params).scalar_one())
    if not document["ownerKnown"]:
        raise NotFoundError("No such member", id=str(params["r_owner_id"]))
    if not document["teamKnown"]:
        raise NotFoundError("No such team", id=str(params["r_team_id"]))
    return document["rows"]


def _run(session: Session, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(read_document(session, sql, params))


def document(rows_sql: str) -> str:
    return (
        f"SELECT json_build_object('ownerKnown', {rules.owner_known_sql()}, 'teamKnown', {rules.team_known_sql()},"
        f" 'rows', COALESCE(({rows_sql}), '[]'))::text"
    )


def pipeline_report(session: Session, principal: Principal, window: ReportWindow) -> list[dict[str, Any]]:
    """Per stage (by position) and currency: the opportunities created in the window now in that
    stage, their amount and weighted amount (each opportunity's amount x its stage's probability,
    rounded to the cent, then added up, as `Opportunity.weightedAmount` is)."""
    condition = rules.opportunity_report_conditions(principal, "o", window)
    created, created_params = rules.timestamp_in_days("o.created_at", window, "r_created")
    weighted = weighted_amount_sql("o.amount", "s.probability")
    sql = f"""WITH opp AS (
  SELECT o.stage_id, o.currency, count(*) AS n, sum(o.amount) AS amount, sum({weighted}) AS weighted
  FROM opportunities o JOIN pipeline_stages s ON s.tenant_id = o.tenant_id AND s.id = o.stage_id
  WHERE {condition.sql} AND {created}
  GROUP BY o.stage_id, o.currency
), cur AS ({_currencies_sql(window, "opp")})
{
        document('''SELECT json_agg(json_build_object(
    'stage', json_build_object('id', s.id, 'name', s.name, 'probability', s.probability::text, 'kind', s.kind,
      'position', s.position, 'version', s.version, 'created_at', s.created_at, 'updated_at', s.updated_at),
    'currency', cur.currency, 'count', COALESCE(opp.n, 0),
    'amount', round(COALESCE(opp.amount, 0), 2)::text, 'weighted', round(COALESCE(opp.weighted, 0), 2)::text)
    ORDER BY cur.currency NULLS FIRST, s.position, s.created_at, s.id)
  FROM pipeline_stages s CROSS JOIN cur
  LEFT JOIN opp ON opp.stage_id = s.id AND opp.currency = cur.currency
  WHERE s.tenant_id = :tenant_id''')
    }"""
    params = {**rules.base_params(principal, window), **condition.params, **created_params}
    rows = _run(session, sql, params)
    for row in rows:
        row["amount"] = _money(row["amount"])
        row["weighted"] = _money(row["weighted"])
    return rows


def check_period_span(period: Period, window: ReportWindow, today: date) -> None:
    """A trend between `from` and `to` (without `to`: at most today, wins are not in the future) lists
    every period: refuse spans of more than MAX_PERIODS. Without `from`, the first win bounds it."""
    if window.from_day is None:
        return
    days = ((window.to_day or today) - window.from_day).days
    approximate = {
        Period.DAY: days,
        Period.WEEK: days // 7,
        Period.MONTH: days // 28,
        Period.QUARTER: days // 90,
        Period.YEAR: days // 365,
    }[period]
    if approximate > rules.MAX_PERIODS:
        raise BadUserInputError(
            f"A trend lists at most {rules.MAX_PERIODS} periods; choose a longer period or a shorter range",
            field="filter",
        )


def sales_trend(
    session: Session, principal: Principal, window: ReportWindow, period: Period, today: date
) -> list[dict[str, Any]]:
    """Per period (by `closed_at`, UTC) and currency: the opportunities won, and their amount. Every
    period from the one holding `from` to the one holding `to` is listed, with zeros where nothing was
    won; without `from` (`to`), the range starts (ends) with the first (last) period with a win."""
    check_period_span(period, window, today)
    condition = rules.opportunity_report_conditions(principal, "o", window)
    closed, closed_params = rules.timestamp_in_days("o.closed_at", window, "r_closed")
    sql = f"""WITH won AS (
  SELECT CAST(date_trunc(:r_unit, o.closed_at AT TIME ZONE 'UTC') AS date) AS period, o.currency,
    count(*) AS n, sum(o.amount) AS amount
  FROM opportunities o
  WHERE {condition.sql} AND o.status = 'won' AND o.closed_at IS NOT NULL AND {closed}
  GROUP BY 1, 2
), bounds AS (
  SELECT COALESCE(CAST(:r_first AS date), min(period)) AS first_day, COALESCE(CAST(:r_last AS date), max(period)) AS last_day
  FROM won
), periods AS (
  SELECT CAST(p AS date) AS period FROM bounds, generate_series(
    date_trunc(:r_unit, CAST(first_day AS timestamp)), date_trunc(:r_unit, CAST(last_day AS timestamp)),
    CAST(:r_step AS interval)) AS p
  WHERE first_day IS NOT NULL AND last_day IS NOT NULL
), cur AS ({_currencies_sql(window, "won")})
{
        document('''SELECT json_agg(json_build_object('periodStart', periods.period, 'currency', cur.currency,
    'wonCount', COALESCE(won.n, 0), 'wonAmount', round(COALESCE(won.amount, 0), 2)::text)
    ORDER BY cur.currency NULLS FIRST, periods.period)
  FROM periods CROSS JOIN cur LEFT JOIN won ON won.period = periods.period AND won.currency = cur.currency''')
    }"""
    params = {
        **rules.base_params(principal, window),
        **condition.params,
        **closed_params,
        "r_unit": period.value,
        "r_step": _STEP[period],
        "r_first": window.from_day,
        "r_last": window.to_day,
    }
    rows = _run(session, sql, params)
    for row in rows:
        row["periodStart"] = date.fromisoformat(row["periodStart"])
        row["wonAmount"] = _money(row["wonAmount"])
    return rows


def rep_leaderboard(session: Session, principal: Principal, window: ReportWindow) -> list[dict[str, Any]]:
    """Per owner and currency: opportunities won (by `closed_at` in the window), their amount, and the
    amount of the open ones (by `created_at` in the window). Unowned opportunities are left out; the
    best first (won amount, then count, then open pipeline)."""
    condition = rules.opportunity_report_conditions(principal, "o", window)
    closed, closed_params = rules.timestamp_in_days("o.closed_at", window, "r_closed")
    created, created_params = rules.timestamp_in_days("o.created_at", window, "r_created")
    sql = f"""WITH per AS (
  SELECT o.owner_id, o.currency,
    count(*) FILTER (WHERE o.status = 'won') AS won_count,
    COALESCE(sum(o.amount) FILTER (WHERE o.status = 'won'), 0) AS won_amount,
    COALESCE(sum(o.amount) FILTER (WHERE o.status = 'open'), 0) AS open_amount
  FROM opportunities o
  WHERE {condition.sql} AND o.owner_id IS NOT NULL
    AND ((o.status = 'won' AND o.closed_at IS NOT NULL AND {closed}) OR (o.status = 'open' AND {created}))
  GROUP BY o.owner_id, o.currency
)
{
        document('''SELECT json_agg(json_build_object('memberId', owner_id, 'currency', currency, 'wonCount', won_count,
    'wonAmount', round(won_amount, 2)::text, 'openPipeline', round(open_amount, 2)::text)
    ORDER BY currency, won_amount DESC, won_count DESC, open_amount DESC, owner_id)
  FROM per''')
    }"""
    params = {**rules.base_params(principal, window), **condition.params, **closed_params, **created_params}
    rows = _run(session, sql, params)
    for row in rows:
        row["wonAmount"] = _money(row["wonAmount"])
        row["openPipeline"] = _money(row["openPipeline"])
    return rows


@dataclass(frozen=True)
class Collection:
    currency: str
    due: Decimal
    received: Decimal
    overdue: Decimal
    overdue_count: int


def payment_collection(session: Session, principal: Principal, window: ReportWindow, today: date) -> list[Collection]:
    """Per currency, over the installments due in the window: what is due (their amounts), what was
    received toward them (partial payments count), and what is overdue on `today` (due before today
    and not fully paid: the part still outstanding), with how many such installments."""
    condition = rules.installment_report_conditions(principal, "i", "pp", window)
    sql = f"""WITH per AS (
  SELECT pp.currency, sum(i.amount) AS due, sum(i.received_amount) AS received,
    COALESCE(sum(i.amount - i.received_amount) FILTER (WHERE i.due_on < :r_today AND i.received_amount < i.amount), 0)
      AS overdue,
    count(*) FILTER (WHERE i.due_on < :r_today AND i.received_amount < i.amount) AS overdue_count
  FROM payment_installments i JOIN payment_plans pp ON pp.tenant_id = i.tenant_id AND pp.id = i.plan_id
  WHERE {condition.sql}
  GROUP BY pp.currency
)
{
        document('''SELECT json_agg(json_build_object('currency', currency, 'due', round(due, 2)::text,
    'received', round(received, 2)::text, 'overdue', round(overdue, 2)::text, 'overdueCount', overdue_count)
    ORDER BY currency)
  FROM per''')
    }"""
    params = {**rules.base_params(principal, window), **condition.params, "r_today": today}
    return [
        Collection(
            currency=row["currency"],
            due=_money(row["due"]),
            received=_money(row["received"]),
            overdue=_money(row["overdue"]),
            overdue_count=int(row["overdueCount"]),
        )
        for row in _run(session, sql, params)
    ]


def _optional_money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def lead_funnel(session: Session, principal: Principal, window: ReportWindow) -> dict[str, Any]:
    """The cohort of leads the caller sees created in the window (`created_at`), of the owner (team)
    asked for, and what became of them, whenever it happened: claimed (ever: `claimed_at` is set by
    a claim or by creating the lead with an owner, and stays set when the lead is returned),
    converted, disqualified; conversion rate = converted / created, to 4 places (null without
    leads). Per channel (every channel of the tenant, by name; then the leads without one, as a row
    without a channel when there are any) the same counts, the channel's cost, and the amount of the
    WON opportunities (those the caller sees) of the customers its converted leads became, in the
    channel's currency: `wonAmount`, and `roi` = (wonAmount - cost) / cost (null when the cost is
    0); won amounts in every currency (only `currency`'s, when asked) are in `wonByCurrency`.

    One statement: a converted lead made exactly one customer (saas/leads/service.py), so no
    opportunity is counted twice.
    """
    lead = rules.lead_report_conditions(principal, "l", window)
    created, created_params = rules.timestamp_in_days("l.created_at", window, "r_created")
    opportunity = rules.opportunity_report_conditions(principal, "o", ReportWindow())
    by_currency = "w.currency = :r_currency" if window.currency is not None else "TRUE"
    rate = "round(CAST({0} AS numeric) / NULLIF({1}, 0), 4)::text"
    total_rate = rate.format("sum(per.converted)", "sum(per.created)")
    channel_rate = rate.format("f.converted", "f.created")
    sql = f"""WITH cohort AS (
  SELECT l.channel_id, l.status, l.claimed_at, l.converted_customer_id
  FROM leads l
  WHERE {lead.sql} AND {created}
), per AS (
  SELECT channel_id, count(*) AS created,
    count(*) FILTER (WHERE claimed_at IS NOT NULL) AS claimed,
    count(*) FILTER (WHERE status = 'converted') AS converted,
    count(*) FILTER (WHERE status = 'disqualified') AS disqualified
  FROM cohort GROUP BY channel_id
), won AS (
  SELECT c.channel_id, o.currency, sum(o.amount) AS amount
  FROM cohort c JOIN opportunities o ON o.tenant_id = :tenant_id AND o.customer_id = c.converted_customer_id
  WHERE c.status = 'converted' AND o.status = 'won' AND {opportunity.sql}
  GROUP BY c.channel_id, o.currency
), lines AS (
  SELECT ch.id AS channel_id, ch.name, ch.cost, ch.currency, ch.created_at, 0 AS unassigned
  FROM channels ch WHERE ch.tenant_id = :tenant_id
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, 1
  WHERE EXISTS (SELECT 1 FROM per WHERE channel_id IS NULL)
), figures AS (
  SELECT lines.*, COALESCE(per.created, 0) AS created, COALESCE(per.claimed, 0) AS claimed,
    COALESCE(per.converted, 0) AS converted, COALESCE(per.disqualified, 0) AS disqualified,
    CASE WHEN lines.unassigned = 0 THEN COALESCE((SELECT sum(w.amount) FROM won w
      WHERE w.channel_id = lines.channel_id AND w.currency = lines.currency), 0) END AS won_amount
  FROM lines LEFT JOIN per ON per.channel_id IS NOT DISTINCT FROM lines.channel_id
)
{
        document(f'''SELECT json_build_object(
    'created', COALESCE(sum(per.created), 0), 'claimed', COALESCE(sum(per.claimed), 0),
    'converted', COALESCE(sum(per.converted), 0), 'disqualified', COALESCE(sum(per.disqualified), 0),
    'conversionRate', {total_rate},
    'byChannel', COALESCE((SELECT json_agg(json_build_object(
      'channel', CASE WHEN f.unassigned = 0 THEN json_build_object('id', f.channel_id, 'name', f.name,
        'cost', f.cost::text, 'currency', f.currency, 'created_at', f.created_at) END,
      'created', f.created, 'claimed', f.claimed, 'converted', f.converted, 'disqualified', f.disqualified,
      'conversionRate', {channel_rate},
      'currency', f.currency, 'cost', f.cost::text, 'wonAmount', round(f.won_amount, 2)::text,
      'roi', round((f.won_amount - f.cost) / NULLIF(f.cost, 0), 4)::text,
      'wonByCurrency', COALESCE((SELECT json_agg(json_build_object('currency', w.currency,
          'amount', round(w.amount, 2)::text) ORDER BY w.currency)
        FROM won w WHERE w.channel_id IS NOT DISTINCT FROM f.channel_id AND {by_currency}), '[]'))
      ORDER BY f.unassigned, lower(f.name), f.channel_id) FROM figures f), '[]'))
  FROM per''')
    }"""
    params = {**rules.base_params(principal, window), **lead.params, **opportunity.params, **created_params}
    funnel = dict(read_document(session, sql, params))
    funnel["conversionRate"] = _optional_money(funnel["conversionRate"])
    for row in funnel["byChannel"]:
        for key in ("conversionRate", "cost", "wonAmount", "roi"):
            row[key] = _optional_money(row[key])
        for won in row["wonByCurrency"]:
            won["amount"] = _money(won["amount"])
    return funnel
