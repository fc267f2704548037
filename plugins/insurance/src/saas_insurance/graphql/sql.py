"""How `InsPolicy`, `InsClaim` and `InsRatingTable` map to SQL for compiled reads: `node(id)`,
the policies, the claims and the rating tables are one statement each.

Decimals are JSON strings (`numeric::text`, as the `Decimal` scalar writes them), dates ISO
strings, enums their GraphQL names (`upper(status)`). Fields computed in Python (`customer`,
`policy`, `renewalRisk`, `claims`, `ratingTable`) are not mapped: a selection with one of them
goes through the loaders instead. `CUSTOMER_FIELDS` maps the fields the plugin adds to the core
`Customer` (`policies`, `claims`), so that the core's compiled reads of customers write them in
their one statement.
"""

from __future__ import annotations

from typing import Any

from saas.plugin_api import Principal, Relation, SqlCondition, SqlType, global_id_sql, iso_datetime_sql, require
from saas_insurance.rules import READ
from saas_insurance.service.common import visible_customers_sql


def _money(column: str) -> str:
    return f"({column})::text"


def _date(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


POLICY = SqlType(
    name="InsPolicy",
    table="ins_policies",
    columns={
        "id": global_id_sql("InsPolicy", "{t}.id"),
        "number": "{t}.number",
        "line": "upper({t}.line)",
        "status": "upper({t}.status)",
        "premium": _money("{t}.premium"),
        "currency": "{t}.currency",
        "sumInsured": _money("{t}.sum_insured"),
        "startsOn": _date("{t}.starts_on"),
        "endsOn": _date("{t}.ends_on"),
        "ratingFactors": "{t}.rating_factors",
        "renewedFromId": f"CASE WHEN {{t}}.renewed_from_id IS NULL THEN NULL ELSE {global_id_sql('InsPolicy', '{t}.renewed_from_id')} END",
        "cancelledOn": _date("{t}.cancelled_on"),
        "cancelReason": "{t}.cancel_reason",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

CLAIM = SqlType(
    name="InsClaim",
    table="ins_claims",
    columns={
        "id": global_id_sql("InsClaim", "{t}.id"),
        "number": "{t}.number",
        "occurredOn": _date("{t}.occurred_on"),
        "reportedOn": _date("{t}.reported_on"),
        "cause": "{t}.cause",
        "region": "{t}.region",
        "description": "{t}.description",
        "status": "upper({t}.status)",
        "reserve": _money("{t}.reserve"),
        "paidAmount": _money("{t}.paid_amount"),
        "incurred": _money("{t}.paid_amount + {t}.reserve"),
        "decisionReason": "{t}.decision_reason",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

# A rating table's factors, one row each, in their stored order: the relation's rows are the
# elements of `ins_rating_tables.factors` (a query, so that they join their table like a table's rows).
FACTOR_ROWS = (
    "(SELECT rt.tenant_id, rt.id AS table_id, f.position, f.factor ->> 'name' AS name,"
    " f.factor ->> 'level' AS level, f.factor ->> 'relativity' AS relativity"
    " FROM ins_rating_tables rt CROSS JOIN LATERAL jsonb_array_elements(rt.factors) WITH ORDINALITY AS f(factor, position))"
)

RATING_FACTOR = SqlType(
    name="InsRatingFactor",
    table=FACTOR_ROWS,
    columns={"name": "{t}.name", "level": "{t}.level", "relativity": "{t}.relativity"},
    interfaces=frozenset(),
)

RATING_TABLE = SqlType(
    name="InsRatingTable",
    table="ins_rating_tables",
    columns={
        "id": global_id_sql("InsRatingTable", "{t}.id"),
        "line": "upper({t}.line)",
        "version": "{t}.version",
        "baseFrequency": _money("{t}.base_frequency"),
        "baseSeverity": _money("{t}.base_severity"),
        "expenseLoading": _money("{t}.expense_loading"),
        "profitLoading": _money("{t}.profit_loading"),
        "fullCredibilityClaims": "{t}.full_credibility_claims",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "factors": Relation(lambda: RATING_FACTOR, FACTOR_ROWS, "{t}.table_id = {p}.id", order="{t}.position"),
    },
)


def _of_visible_customers(principal: Principal, alias: str) -> SqlCondition:
    """`Customer.policies` and `Customer.claims`: the rows `policies_of_customers` and
    `claims_of_customers` give the caller; without the read permission the resolver answers the refusal."""
    require(principal.permissions, READ)
    sql, params = visible_customers_sql(principal)
    condition = SqlCondition()
    condition.add(f"{alias}.customer_id IN ({sql})", **params)
    return condition


# The fields the plugin adds to the core `Customer` (`InsCustomerFields`): the newest term first,
# the latest loss first.
CUSTOMER_FIELDS: dict[str, Any] = {
    "policies": Relation(
        lambda: POLICY,
        "ins_policies",
        "{t}.customer_id = {p}.id",
        order="{t}.starts_on DESC, {t}.id",
        visible=_of_visible_customers,
    ),
    "claims": Relation(
        lambda: CLAIM,
        "ins_claims",
        "{t}.customer_id = {p}.id",
        order="{t}.occurred_on DESC, {t}.id",
        visible=_of_visible_customers,
    ),
}
