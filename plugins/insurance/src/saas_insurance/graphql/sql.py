"""How `InsPolicy` and `InsClaim` map to SQL for compiled reads: `node(id)` is one statement each.

Decimals are JSON strings (`numeric::text`, as the `Decimal` scalar writes them), dates ISO
strings, enums their GraphQL names (`upper(status)`). Fields computed in Python (`customer`,
`policy`, `renewalRisk`, `claims`, `ratingTable`) are not mapped: a selection with one of them
goes through the loaders instead.
"""

from __future__ import annotations

from saas.plugin_api import SqlType, global_id_sql, iso_datetime_sql


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
