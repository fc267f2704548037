"""How the pipeline and after-sale types map to SQL for the compiled reads.

Decimals are written as JSON strings (`numeric::text`, as the `Decimal` scalar serialises them),
dates as ISO strings. A relation to opportunities carries the caller's visibility
(`Relation.visible`: a rep sees their own), as the resolvers' loaders apply it.
"""

from __future__ import annotations

from saas.accounts.graphql.sql import MEMBER
from saas.customers.graphql.sql import CUSTOMER
from saas.deals.rules import opportunity_conditions, weighted_amount_sql
from saas.products.graphql.sql import PRODUCT
from saas.schema.compiler import Relation, SortKey, SqlType, compact_json
from saas.schema.relay import global_id_sql, iso_datetime_sql
from saas.sensitive.rules import custom_fields_sql
from saas.tenancy.session import tenant_predicate


def _money(column: str) -> str:
    return f"({column})::text"


def _join(key: str, parent_column: str) -> str:
    """`{t}.key = {p}.parent_column` (the compiler adds the target's tenant predicate)."""
    return f"{{t}}.{key} = {{p}}.{parent_column}"


PIPELINE_STAGE: SqlType = SqlType(
    name="PipelineStage",
    table="pipeline_stages",
    columns={
        "id": global_id_sql("PipelineStage", "{t}.id"),
        "name": "{t}.name",
        "probability": _money("{t}.probability"),
        "kind": "upper({t}.kind)",
        "position": "{t}.position",
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

STAGE_CHANGE: SqlType = SqlType(
    name="StageChange",
    table="opportunity_stage_changes",
    columns={
        "id": global_id_sql("StageChange", "{t}.id"),
        "changedAt": iso_datetime_sql("{t}.changed_at"),
        "reason": "{t}.reason",
    },
    relations={
        "fromStage": Relation(lambda: PIPELINE_STAGE, "pipeline_stages", _join("id", "from_stage_id")),
        "toStage": Relation(lambda: PIPELINE_STAGE, "pipeline_stages", _join("id", "to_stage_id")),
        "changedBy": Relation(lambda: MEMBER, "memberships", _join("id", "changed_by_id"), foreign_key=True),
    },
)

OPPORTUNITY: SqlType = SqlType(
    name="Opportunity",
    table="opportunities",
    columns={
        "id": global_id_sql("Opportunity", "{t}.id"),
        "name": "{t}.name",
        "amount": _money("{t}.amount"),
        "currency": "{t}.currency",
        "expectedCloseOn": "{t}.expected_close_on",
        "status": "upper({t}.status)",
        "closedAt": iso_datetime_sql("{t}.closed_at"),
        "customFields": compact_json(custom_fields_sql("opportunities")),
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
        "weightedAmount": (
            f"(SELECT {_money(weighted_amount_sql('{t}.amount', 'ws.probability'))} FROM pipeline_stages ws"
            f" WHERE {tenant_predicate('ws')} AND ws.id = {{t}}.stage_id)"
        ),
    },
    relations={
        "stage": Relation(lambda: PIPELINE_STAGE, "pipeline_stages", _join("id", "stage_id")),
        "customer": Relation(lambda: CUSTOMER, "customers", _join("id", "customer_id")),
        "owner": Relation(lambda: MEMBER, "memberships", _join("id", "owner_id"), foreign_key=True),
        "stageHistory": Relation(
            lambda: STAGE_CHANGE,
            "opportunity_stage_changes",
            _join("opportunity_id", "id"),
            order="{t}.changed_at, {t}.id",
        ),
    },
)

_INVOICED = (
    f"(SELECT COALESCE(sum(ia.amount), 0.00) FROM invoices ia WHERE {tenant_predicate('ia')}"
    " AND ia.contract_id = {t}.id AND ia.status <> 'rejected')"
)

CONTRACT: SqlType = SqlType(
    name="Contract",
    table="contracts",
    columns={
        "id": global_id_sql("Contract", "{t}.id"),
        "number": "{t}.number",
        "amount": _money("{t}.amount"),
        "currency": "{t}.currency",
        "startsOn": "{t}.starts_on",
        "endsOn": "{t}.ends_on",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "invoicedAmount": _money(_INVOICED),
        "uninvoicedAmount": _money(f"{{t}}.amount - {_INVOICED}"),
    },
    relations={
        "customer": Relation(lambda: CUSTOMER, "customers", _join("id", "customer_id")),
        "opportunity": Relation(
            lambda: OPPORTUNITY, "opportunities", _join("id", "opportunity_id"), visible=opportunity_conditions
        ),
    },
)

ORDER_LINE: SqlType = SqlType(
    name="OrderLine",
    table="order_lines",
    columns={
        "id": global_id_sql("OrderLine", "{t}.id"),
        "position": "{t}.position",
        "quantity": "{t}.quantity",
        "unitPrice": _money("{t}.unit_price"),
        "amount": _money("{t}.amount"),
    },
    relations={"product": Relation(lambda: PRODUCT, "products", _join("id", "product_id"))},
)

ORDER: SqlType = SqlType(
    name="Order",
    table="orders",
    columns={
        "id": global_id_sql("Order", "{t}.id"),
        "currency": "{t}.currency",
        "total": _money("{t}.total"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "customer": Relation(lambda: CUSTOMER, "customers", _join("id", "customer_id")),
        "contract": Relation(lambda: CONTRACT, "contracts", _join("id", "contract_id")),
        "lines": Relation(lambda: ORDER_LINE, "order_lines", _join("order_id", "id"), order="{t}.position"),
    },
)

PAYMENT: SqlType = SqlType(
    name="Payment",
    table="payments",
    columns={
        "id": global_id_sql("Payment", "{t}.id"),
        "amount": _money("{t}.amount"),
        "receivedOn": "{t}.received_on",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "installment": Relation(lambda: INSTALLMENT, "payment_installments", _join("id", "installment_id")),
    },
)

INSTALLMENT: SqlType = SqlType(
    name="Installment",
    table="payment_installments",
    columns={
        "id": global_id_sql("Installment", "{t}.id"),
        "position": "{t}.position",
        "dueOn": "{t}.due_on",
        "amount": _money("{t}.amount"),
        "receivedAmount": _money("{t}.received_amount"),
        "outstandingAmount": _money("{t}.amount - {t}.received_amount"),
        "overdue": "({t}.due_on < (now() AT TIME ZONE 'UTC')::date AND {t}.received_amount < {t}.amount)",
    },
    relations={
        "payments": Relation(
            lambda: PAYMENT, "payments", _join("installment_id", "id"), order="{t}.received_on, {t}.id"
        ),
    },
)

PAYMENT_PLAN: SqlType = SqlType(
    name="PaymentPlan",
    table="payment_plans",
    columns={
        "id": global_id_sql("PaymentPlan", "{t}.id"),
        "currency": "{t}.currency",
        "total": _money("{t}.total"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "contract": Relation(lambda: CONTRACT, "contracts", _join("id", "contract_id")),
        "customer": Relation(lambda: CUSTOMER, "customers", _join("id", "customer_id")),
        "installments": Relation(
            lambda: INSTALLMENT, "payment_installments", _join("plan_id", "id"), order="{t}.position"
        ),
    },
)

INVOICE: SqlType = SqlType(
    name="Invoice",
    table="invoices",
    columns={
        "id": global_id_sql("Invoice", "{t}.id"),
        "amount": _money("{t}.amount"),
        "currency": "{t}.currency",
        "status": "upper({t}.status)",
        "number": "{t}.number",
        "requestedAt": iso_datetime_sql("{t}.requested_at"),
        "decidedAt": iso_datetime_sql("{t}.decided_at"),
        "rejectionReason": "{t}.rejection_reason",
        "issuedAt": iso_datetime_sql("{t}.issued_at"),
        "version": "{t}.version",
    },
    relations={
        "contract": Relation(lambda: CONTRACT, "contracts", _join("id", "contract_id")),
        "customer": Relation(lambda: CUSTOMER, "customers", _join("id", "customer_id")),
        "requestedBy": Relation(lambda: MEMBER, "memberships", _join("id", "requested_by_id"), foreign_key=True),
        "decidedBy": Relation(lambda: MEMBER, "memberships", _join("id", "decided_by_id"), foreign_key=True),
    },
)

# Newest first: (created_at, id) descending.
OPPORTUNITY_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
INVOICE_SORT = SortKey(("requested_at", "id"), ("timestamptz", "uuid"), descending=True)


def _newest_of_customer(target: SqlType, newest: str) -> Relation:
    return Relation(
        lambda: target, target.table, _join("customer_id", "id"), order=f"{{t}}.{newest} DESC, {{t}}.id DESC"
    )


# The fields deals add to Customer (`CustomerDealFields`), newest first: its opportunities that the
# caller sees, and its after-sale records (visible with the customer).
CUSTOMER_DEAL_FIELDS: dict[str, Relation] = {
    "opportunities": Relation(
        lambda: OPPORTUNITY,
        "opportunities",
        _join("customer_id", "id"),
        order="{t}.created_at DESC, {t}.id DESC",
        visible=opportunity_conditions,
    ),
    "contracts": _newest_of_customer(CONTRACT, "created_at"),
    "orders": _newest_of_customer(ORDER, "created_at"),
    "paymentPlans": _newest_of_customer(PAYMENT_PLAN, "created_at"),
    "invoices": _newest_of_customer(INVOICE, "requested_at"),
}
