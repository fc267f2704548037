"""Accident and claim statistics: one SQL statement for any combination of LINE, CAUSE, REGION, YEAR.

Over a period [from, to] (both days included; default: the first policy's start to today):

- exposureYears: policy days inside the period (and the row's year), a term being [startsOn,
  endsOn) cut at its cancellation day, over 365;
- claimCount: claims (not denied) that occurred in the period (and the row's year);
- incurred: their paid + reserve; frequency = claimCount / exposureYears; severity = incurred / claimCount;
- earnedPremium: each policy's premium * its days inside the period / the days of its term (pro rata);
- lossRatio = incurred / earnedPremium.

Exposure and premium belong to policies, which have a line and years but no cause or region (a
policy is exposed to every cause, everywhere): grouped by CAUSE or REGION, each row's exposure and
earned premium are those of its line and year (or of the whole book), and its frequency and loss
ratio are that cause's or region's share. Figures are rounded half up: exposure to 4 places,
frequency to 6, lossRatio to 4, money to cents; a ratio over zero is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.plugin_api import BadUserInputError, Principal, require
from saas_insurance.rules import READ
from saas_insurance.service.common import today

DIMENSIONS = ("line", "cause", "region", "year")
POLICY_DIMENSIONS = ("line", "year")


@dataclass(frozen=True)
class StatisticsRow:
    line: str | None
    cause: str | None
    region: str | None
    year: int | None
    exposure_years: Decimal
    claim_count: int
    frequency: Decimal | None
    severity: Decimal | None
    incurred: Decimal
    earned_premium: Decimal
    loss_ratio: Decimal | None


def _sql(group_by: tuple[str, ...], line_filter: bool) -> str:
    policy_keys = [d for d in group_by if d in POLICY_DIMENSIONS]
    by_claim = any(d not in POLICY_DIMENSIONS for d in group_by)
    line_where = "AND p.line = :line" if line_filter else ""
    exposure_select = ", ".join(
        [
            *(f"{'p.line' if d == 'line' else 'y.year'} AS {d}" for d in policy_keys),
            "sum(d.days) AS days",
            "sum(p.premium * d.days / (p.ends_on - p.starts_on)) AS earned",
        ]
    )
    claim_columns = {
        "line": "p.line",
        "cause": "c.cause",
        "region": "c.region",
        "year": "extract(year FROM c.occurred_on)::int",
    }
    claim_select = ", ".join(
        [
            *(f"{claim_columns[d]} AS {d}" for d in group_by),
            "count(*) AS claims",
            "sum(c.paid_amount + c.reserve) AS incurred",
        ]
    )
    group = lambda keys: f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""  # noqa: E731
    join_on = " AND ".join(f"cl.{d} = ex.{d}" for d in policy_keys) or "TRUE"
    keys = ", ".join(f"{'ex' if d in policy_keys and not by_claim else 'cl'}.{d}" for d in group_by)
    keys = f"{keys}, " if keys else ""
    source = f"cl LEFT JOIN ex ON {join_on}" if by_claim else f"ex LEFT JOIN cl ON {join_on}"
    order = ", ".join(f"{d} NULLS FIRST" for d in group_by) or "1"
    return f"""
WITH period AS (SELECT CAST(:from AS date) AS starts, CAST(:to AS date) + 1 AS ends),
years AS (
  SELECT y AS year, GREATEST(make_date(y, 1, 1), period.starts) AS starts, LEAST(make_date(y + 1, 1, 1), period.ends) AS ends
  FROM period, generate_series(extract(year FROM period.starts)::int, extract(year FROM period.ends - 1)::int) AS y
),
ex AS (
  SELECT {exposure_select}
  FROM ins_policies p
  JOIN years y ON y.starts < COALESCE(p.cancelled_on, p.ends_on) AND p.starts_on < y.ends
  CROSS JOIN LATERAL (SELECT LEAST(COALESCE(p.cancelled_on, p.ends_on), y.ends) - GREATEST(p.starts_on, y.starts) AS days) d
  WHERE p.tenant_id = :tenant_id {line_where}
  {group(policy_keys)}
),
cl AS (
  SELECT {claim_select}
  FROM ins_claims c JOIN ins_policies p ON p.tenant_id = c.tenant_id AND p.id = c.policy_id, period
  WHERE c.tenant_id = :tenant_id AND c.status <> 'denied' AND c.occurred_on >= period.starts
    AND c.occurred_on < period.ends {line_where}
  {group(group_by)}
)
SELECT {keys}
  round(COALESCE(ex.days, 0) / 365.0, 4) AS exposure_years,
  COALESCE(cl.claims, 0) AS claim_count,
  round(COALESCE(cl.claims, 0) * 365.0 / NULLIF(ex.days, 0), 6) AS frequency,
  round(cl.incurred / NULLIF(cl.claims, 0), 2) AS severity,
  round(COALESCE(cl.incurred, 0), 2) AS incurred,
  round(COALESCE(ex.earned, 0), 2) AS earned_premium,
  round(COALESCE(cl.incurred, 0) / NULLIF(ex.earned, 0), 4) AS loss_ratio
FROM {source}
ORDER BY {order}
"""


def statistics(
    session: Session,
    principal: Principal,
    group_by: list[str],
    line: str | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
) -> list[StatisticsRow]:
    """The rows of the grouping, in key order; a period of every policy's days when none is given."""
    require(principal.permissions, READ)
    dims = tuple(d for d in DIMENSIONS if d in set(group_by))
    if len(dims) != len(group_by):
        raise BadUserInputError("groupBy: each dimension at most once")
    start = period_from
    if start is None:
        start = session.scalar(text("SELECT min(starts_on) FROM ins_policies")) or today()
    end = period_to or today()
    if end < start:
        raise BadUserInputError("filter.to: must not be before from")
    if end.year - start.year > 100:
        raise BadUserInputError("filter.from: a period of at most 100 years")
    params: dict[str, Any] = {"from": start, "to": end, "tenant_id": principal.tenant_id}
    if line is not None:
        params["line"] = line
    rows = session.execute(text(_sql(dims, line is not None)), params)
    found = []
    for row in rows:
        values = row._mapping
        found.append(
            StatisticsRow(
                line=values.get("line"),
                cause=values.get("cause"),
                region=values.get("region"),
                year=values.get("year"),
                exposure_years=Decimal(values["exposure_years"]),
                claim_count=int(values["claim_count"]),
                frequency=values["frequency"],
                severity=values["severity"],
                incurred=Decimal(values["incurred"]),
                earned_premium=Decimal(values["earned_premium"]),
                loss_ratio=values["loss_ratio"],
            )
        )
    return found
