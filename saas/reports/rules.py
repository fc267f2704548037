"""What a report counts, as SQL: the caller's visibility (the deals rules), the date range, the owner.

Every report reuses the deals visibility rules (saas/deals/rules.py), so a sales rep's report covers
exactly what the rep sees in the lists: their own opportunities, and the payment plans of the
customers they see. The filter adds, all of which must hold:

- `from`/`to`: inclusive calendar days (UTC). Which date a report filters on is the report's:
  pipelineReport the opportunity's `created_at`; salesTrend the won opportunity's `closed_at`;
  repLeaderboard `closed_at` of won and `created_at` of open opportunities; paymentCollection the
  installment's `due_on`; leadFunnel the lead's `created_at` (the cohort; every figure is about
  the leads created in the range, whenever they were claimed, converted or won).
- `ownerId`: the opportunity's owner (for payments: the owner of the contract's opportunity; for
  the lead funnel: the lead's owner, so that pool leads drop out).
- `currency`: only amounts in that currency. Amounts in different currencies are never added
  together: every figure is per currency. (The lead funnel's counts have no currency; its channel
  rows are in the channel's own currency.)
- `teamId`: through `owner_condition_for_team`, the one place that knows what a team's records are.

serviceReport counts tickets with the tickets visibility rules (saas/tickets/rules.py) instead:
exactly the tickets the caller sees in `tickets`; there a ticket's "owner" is its assignee.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.deals import rules as deal_rules
from saas.errors import BadUserInputError
from saas.leads.rules import lead_visibility
from saas.tickets.rules import ticket_visibility

# A trend spans at most this many periods (e.g. about 2.7 years of days).
MAX_PERIODS = 1000


@dataclass(frozen=True)
class ReportWindow:
    """A report's validated filter (ids decoded to internal ids)."""

    from_day: date | None = None
    to_day: date | None = None
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.from_day is not None and self.to_day is not None and self.from_day > self.to_day:
            raise BadUserInputError("`from` must not be after `to`", field="filter.from")


# A team's records: those its members and its manager own.
TEAM_OWNERS_SQL = (
    "SELECT rtm.membership_id FROM team_members rtm"
    " WHERE rtm.tenant_id = :tenant_id AND rtm.team_id = CAST(:r_team_id AS uuid)"
    " UNION SELECT rt.manager_id FROM teams rt WHERE rt.tenant_id = :tenant_id AND rt.id = CAST(:r_team_id AS uuid)"
)


def owner_condition_for_team(
    principal: Principal, team_id: uuid.UUID, owner_column: str, condition: SqlCondition
) -> None:
    """Restrict `owner_column` to the owners of team `team_id`'s records: its members and its manager
    (the caller's visibility still applies: a rep filtering by a team sees no more than before)."""
    condition.add(f"{owner_column} IN ({TEAM_OWNERS_SQL})", r_team_id=str(team_id))


def owner_filter(principal: Principal, window: ReportWindow, owner_column: str, condition: SqlCondition) -> None:
    if window.owner_id is not None:
        condition.add(f"{owner_column} = CAST(:r_owner_id AS uuid)")
    if window.team_id is not None:
        owner_condition_for_team(principal, window.team_id, owner_column, condition)


def owner_known_sql() -> str:
    """True when no `ownerId` was given or it names a member of the caller's tenant."""
    return (
        "(CAST(:r_owner_id AS uuid) IS NULL OR EXISTS (SELECT 1 FROM memberships rm"
        " WHERE rm.tenant_id = :tenant_id AND rm.id = CAST(:r_owner_id AS uuid)))"
    )


def team_known_sql() -> str:
    """True when no `teamId` was given or it names a team of the caller's tenant."""
    return (
        "(CAST(:r_team_id AS uuid) IS NULL OR EXISTS (SELECT 1 FROM teams rk"
        " WHERE rk.tenant_id = :tenant_id AND rk.id = CAST(:r_team_id AS uuid)))"
    )


def base_params(principal: Principal, window: ReportWindow) -> dict[str, object]:
    return {
        "tenant_id": principal.tenant_id,
        "r_owner_id": None if window.owner_id is None else str(window.owner_id),
        "r_team_id": None if window.team_id is None else str(window.team_id),
        "r_currency": window.currency,
    }


def timestamp_in_days(column: str, window: ReportWindow, name: str) -> tuple[str, dict[str, object]]:
    """`column` (a timestamptz) falls on one of the window's days (UTC): [from 00:00, to + 1 day 00:00)."""
    parts: list[str] = []
    params: dict[str, object] = {}
    if window.from_day is not None:
        parts.append(f"{column} >= :{name}_from")
        params[f"{name}_from"] = datetime.combine(window.from_day, time(), tzinfo=UTC)
    if window.to_day is not None:
        parts.append(f"{column} < :{name}_to")
        params[f"{name}_to"] = datetime.combine(window.to_day + timedelta(days=1), time(), tzinfo=UTC)
    return (" AND ".join(parts) or "TRUE"), params


def opportunity_report_conditions(principal: Principal, alias: str, window: ReportWindow) -> SqlCondition:
    """The opportunities the caller sees, of the owner (team) and currency asked for; no date yet."""
    condition = deal_rules.opportunity_conditions(principal, alias)
    owner_filter(principal, window, f"{alias}.owner_id", condition)
    if window.currency is not None:
        condition.add(f"{alias}.currency = :r_currency")
    return condition


def installment_report_conditions(
    principal: Principal, alias: str, plan_alias: str, window: ReportWindow
) -> SqlCondition:
    """Installments the caller sees (with their plan's customer), due within the window, of the
    owner of the contract's opportunity, in the currency asked for."""
    condition = deal_rules.installment_conditions(principal, alias)
    condition.given(f"{alias}.due_on", "r_due_from", window.from_day, op=">=")
    condition.given(f"{alias}.due_on", "r_due_to", window.to_day, op="<=")
    if window.owner_id is not None or window.team_id is not None:
        owner = SqlCondition()
        owner_filter(principal, window, "ro.owner_id", owner)
        condition.add(
            "EXISTS (SELECT 1 FROM contracts rc JOIN opportunities ro"
            " ON ro.tenant_id = rc.tenant_id AND ro.id = rc.opportunity_id"
            f" WHERE rc.tenant_id = :tenant_id AND rc.id = {plan_alias}.contract_id AND {owner.sql})",
            **owner.params,
        )
    if window.currency is not None:
        condition.add(f"{plan_alias}.currency = :r_currency")
    return condition


def lead_report_conditions(principal: Principal, alias: str, window: ReportWindow) -> SqlCondition:
    """The leads the caller sees in the lists (`lead_visibility`: their own, their teams', the
    pool), of the owner (team) asked for; no date yet. The tenant is named too, so that the
    statement uses the indexes that lead with `tenant_id` (RLS holds it as well)."""
    condition = SqlCondition()
    condition.add(f"{alias}.tenant_id = :tenant_id")
    lead_visibility(principal, alias, condition)
    owner_filter(principal, window, f"{alias}.owner_id", condition)
    return condition


def ticket_report_conditions(principal: Principal, alias: str, window: ReportWindow) -> SqlCondition:
    """The tickets the caller sees (`ticket_visibility`), assigned to the owner (team) asked for; no
    date yet (the statement names the tenant)."""
    condition = SqlCondition()
    ticket_visibility(principal, alias, condition)
    owner_filter(principal, window, f"{alias}.assignee_id", condition)
    return condition
