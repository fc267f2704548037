"""Campaign rules as SQL and values: which members a caller sees, which responses are
positive, and what a campaign won (its ROI). The compiled reads and the services both use these.

ROI, precisely. A campaign's **won amount** is the sum of `amount` over the tenant's opportunities
that are WON, in the campaign's **currency** (others are left out, never converted), and either
- of a customer converted from one of the campaign's leads (`leads.campaign_id`), or
- of one of its **members** (the audience frozen at launch), closed on or after its first day
  (`closed_at >= startsOn`, UTC): won during or after the campaign.
Each opportunity counts once, also when both hold. **ROI** = (won amount - budget) / budget,
computed by PostgreSQL in `numeric` and rounded to four decimals: 0.5 is +50 %, -1 is nothing won.

Campaigns are the tenant's marketing: whoever may read leads sees them all, with their figures
(over the whole tenant); a sales rep sees, of their members, only their own customers and the pool's.
"""

from __future__ import annotations

from saas.auth.principal import Principal
from saas.customers.rules import customer_visibility
from saas.db.conditions import SqlCondition
from saas.tenancy.session import tenant_predicate

# Every kind of response, and the positive ones: a positive response from an unknown e-mail makes a lead.
RESPONSE_KINDS = ("OPENED", "CLICKED", "REPLIED", "REGISTERED", "UNSUBSCRIBED")
POSITIVE_KINDS = frozenset({"REPLIED", "REGISTERED"})


def campaign_status_sql(alias: str) -> str:
    """DRAFT, LAUNCHED, or ENDED for a launched campaign whose last day (UTC) has passed."""
    return (
        f"CASE WHEN {alias}.status = 'launched' AND {alias}.ends_on < (now() AT TIME ZONE 'UTC')::date "
        f"THEN 'ENDED' ELSE upper({alias}.status) END"
    )


def won_amount_sql(alias: str) -> str:
    """The campaign's won amount (numeric) as defined above, for the campaign row `alias`."""
    return (
        "(SELECT COALESCE(sum(o.amount), 0) FROM opportunities o "
        f"WHERE o.tenant_id = :tenant_id AND o.status = 'won' AND o.currency = {alias}.currency AND ("
        f"o.customer_id IN (SELECT l.converted_customer_id FROM leads l WHERE l.tenant_id = :tenant_id "
        f"AND l.campaign_id = {alias}.id AND l.converted_customer_id IS NOT NULL) "
        f"OR (o.customer_id IN (SELECT m.customer_id FROM campaign_members m WHERE m.tenant_id = :tenant_id "
        f"AND m.campaign_id = {alias}.id) AND o.closed_at >= CAST({alias}.starts_on AS timestamp) AT TIME ZONE 'UTC')))"
    )


def roi_sql(alias: str) -> str:
    return f"round(({won_amount_sql(alias)} - {alias}.budget) / {alias}.budget, 4)"


def responses_sql(alias: str) -> str:
    return f"(SELECT count(*) FROM campaign_responses x WHERE x.tenant_id = :tenant_id AND x.campaign_id = {alias}.id)"


def leads_created_sql(alias: str) -> str:
    return f"(SELECT count(*) FROM leads l WHERE l.tenant_id = :tenant_id AND l.campaign_id = {alias}.id)"


def member_rows_sql(principal: Principal) -> tuple[str, dict[str, object]]:
    """The campaign members the caller sees, with their customer's name (the members' order): a sales
    rep sees the members that are their customers (or the pool's); deleted customers are left out."""
    condition = SqlCondition()
    customer_visibility(principal, "c", condition)
    condition.add("c.deleted_at IS NULL")
    sql = (
        "(SELECT m.tenant_id, m.campaign_id, m.customer_id, m.added_at, c.name AS customer_name "
        "FROM campaign_members m JOIN customers c ON c.tenant_id = m.tenant_id AND c.id = m.customer_id "
        f"WHERE {tenant_predicate('m')} AND {condition.sql}) AS {{t}}"
    )
    return sql, condition.params
