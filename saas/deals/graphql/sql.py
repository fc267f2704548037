"""How the pipeline and after-sale types map to SQL for the compiled reads.

Decimals are written as JSON strings (`numeric::text`, as the `Decimal` scalar serialises them),
dates as ISO strings. A relation that would need the caller's visibility (a contract's
opportunity) is left out, so that a selection with it goes through the resolvers and their
visibility-checked loaders.
"""

from __future__ import annotations

from saas.deals.rules import weighted_amount_sql
from saas.schema.compiler import Relation, SortKey, SqlType, register
from saas.schema.relay import global_id_sql, iso_datetime_sql


def _money(column: str) -> str:
    return f"({column})::text"


def _same_tenant(key: str, parent_column: str) -> str:
    return f"{{t}}.tenant_id = {{p}}.tenant_id AND {{t}}.{key} = {{p}}.{parent_column}"


PIPELINE_STAGE = register(
    SqlType(
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
)

STAGE_CHANGE = register(
    SqlType(
        name="StageChange",
        table="opportunity_stage_changes",
        columns={
            "id": global_id_sql("StageChange", "{t}.id"),
            "changedAt": iso_datetime_sql("{t}.changed_at"),
            "reason": "{t}.reason",
        },
        relations={
            "fromStage": Relation("PipelineStage", "pipeline_stages", _same_tenant("id", "from_stage_id")),
            "toStage": Relation("PipelineStage", "pipeline_stages", _same_tenant("id", "to_stage_id")),
            "changedBy": Relation("Member", "memberships", _same_tenant("id", "changed_by_id")),
        },
    )
)

OPPORTUNITY = register(
    SqlType(
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
            "version": "{t}.version",
            "createdAt": iso_datetime_sql("{t}.created_at"),
            "updatedAt": iso_datetime_sql("{t}.updated_at"),
            "weightedAmount": (
                f"(SELECT {_money(weighted_amount_sql('{t}.amount', 'ws.probability'))} FROM pipeline_stages ws"
                " WHERE ws.tenant_id = {t}.tenant_id AND ws.id = {t}.stage_id)"
            ),
        },
        relations={
            "stage": Relation("PipelineStage", "pipeline_stages", _same_tenant("id", "stage_id")),
            "customer": Relation("Customer", "customers", _same_tenant("id", "customer_id")),
            "owner": Relation("Member", "memberships", _same_tenant("id", "owner_id")),
            "stageHistory": Relation(
                "StageChange",
                "opportunity_stage_changes",
                _same_tenant("opportunity_id", "id"),
                order="{t}.changed_at, {t}.id",
            ),
        },
    )
)

_INVOICED = (
    "(SELECT COALESCE(sum(ia.amount), 0.00) FROM invoices ia WHERE ia.tenant_id = {t}.tenant_id"
    " AND ia.contract_id = {t}.id AND ia.status <> 'rejected')"
)

CONTRACT = register(
    SqlType(
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
            "customer": Relation("Customer", "customers", _same_tenant("id", "customer_id")),
        },
    )
)

PRODUCT = register(
    SqlType(
        name="Product",
        table="products",
        columns={
            "id": global_id_sql("Product", "{t}.id"),
            "sku": "{t}.sku",
            "name": "{t}.name",
            "description": "{t}.description",
            "unitPrice": _money("{t}.unit_price"),
            "currency": "{t}.currency",
            "active": "{t}.active",
            "version": "{t}.version",
            "createdAt": iso_datetime_sql("{t}.created_at"),
            "updatedAt": iso_datetime_sql("{t}.updated_at"),
        },
    )
)

ORDER_LINE = register(
    SqlType(
        name="OrderLine",
        table="order_lines",
        columns={
            "id": global_id_sql("OrderLine", "{t}.id"),
            "position": "{t}.position",
            "quantity": "{t}.quantity",
            "unitPrice": _money("{t}.unit_price"),
            "amount": _money("{t}.amount"),
        },
        relations={"product": Relation("Product", "products", _same_tenant("id", "product_id"))},
    )
)

ORDER = register(
    SqlType(
        name="Order",
        table="orders",
        columns={
            "id": global_id_sql("Order", "{t}.id"),
            "currency": "{t}.currency",
            "total": _money("{t}.total"),
            "createdAt": iso_datetime_sql("{t}.created_at"),
        },
        relations={
            "customer": Relation("Customer", "customers", _same_tenant("id", "customer_id")),
            "contract": Relation("Contract", "contracts", _same_tenant("id", "contract_id")),
            "lines": Relation("OrderLine", "order_lines", _same_tenant("order_id", "id"), order="{t}.position"),
        },
    )
)

PAYMENT = register(
    SqlType(
        name="Payment",
        table="payments",
        columns={
            "id": global_id_sql("Payment", "{t}.id"),
            "amount": _money("{t}.amount"),
            "receivedOn": "{t}.received_on",
            "createdAt": iso_datetime_sql("{t}.created_at"),
        },
        relations={
            "installment": Relation("Installment", "payment_installments", _same_tenant("id", "installment_id")),
        },
    )
)

INSTALLMENT = register(
    SqlType(
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
                "Payment", "payments", _same_tenant("installment_id", "id"), order="{t}.received_on, {t}.id"
            ),
        },
    )
)

PAYMENT_PLAN = register(
    SqlType(
        name="PaymentPlan",
        table="payment_plans",
        columns={
            "id": global_id_sql("PaymentPlan", "{t}.id"),
            "currency": "{t}.currency",
            "total": _money("{t}.total"),
            "createdAt": iso_datetime_sql("{t}.created_at"),
        },
        relations={
            "contract": Relation("Contract", "contracts", _same_tenant("id", "contract_id")),
            "customer": Relation("Customer", "customers", _same_tenant("id", "customer_id")),
            "installments": Relation(
                "Installment", "payment_installments", _same_tenant("plan_id", "id"), order="{t}.position"
            ),
        },
    )
)

INVOICE = register(
    SqlType(
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
            "contract": Relation("Contract", "contracts", _same_tenant("id", "contract_id")),
            "customer": Relation("Customer", "customers", _same_tenant("id", "customer_id")),
            "requestedBy": Relation("Member", "memberships", _same_tenant("id", "requested_by_id")),
            "decidedBy": Relation("Member", "memberships", _same_tenant("id", "decided_by_id")),
        },
    )
)

# Newest first: (created_at, id) descending.
OPPORTUNITY_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
INVOICE_SORT = SortKey(("requested_at", "id"), ("timestamptz", "uuid"), descending=True)
