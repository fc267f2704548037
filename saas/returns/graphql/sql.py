"""How ReturnRequest and ReturnLine map to SQL for the compiled reads (decimals as JSON strings)."""

from __future__ import annotations

from saas.customers.graphql.sql import CUSTOMER
from saas.deals.graphql.sql import ORDER, ORDER_LINE, PRODUCT
from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql

RETURN_LINE: SqlType = SqlType(
    name="ReturnLine",
    table="return_lines",
    columns={
        "id": global_id_sql("ReturnLine", "{t}.id"),
        "position": "{t}.position",
        "quantity": "{t}.quantity",
        "amount": "({t}.amount)::text",
    },
    relations={
        "orderLine": Relation(lambda: ORDER_LINE, "order_lines", "{t}.id = {p}.order_line_id"),
        "product": Relation(lambda: PRODUCT, "products", "{t}.id = {p}.product_id"),
    },
)

RETURN_REQUEST: SqlType = SqlType(
    name="ReturnRequest",
    table="return_requests",
    columns={
        "id": global_id_sql("ReturnRequest", "{t}.id"),
        "status": "upper({t}.status)",
        "reason": "{t}.reason",
        "rejectionReason": "{t}.rejection_reason",
        "currency": "{t}.currency",
        "value": "({t}.value)::text",
        "refundedAmount": "({t}.refunded_amount)::text",
        "approvedAt": iso_datetime_sql("{t}.approved_at"),
        "receivedAt": iso_datetime_sql("{t}.received_at"),
        "refundedAt": iso_datetime_sql("{t}.refunded_at"),
        "rejectedAt": iso_datetime_sql("{t}.rejected_at"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
    relations={
        "order": Relation(lambda: ORDER, "orders", "{t}.id = {p}.order_id"),
        "customer": Relation(lambda: CUSTOMER, "customers", "{t}.id = {p}.customer_id"),
        "lines": Relation(lambda: RETURN_LINE, "return_lines", "{t}.return_id = {p}.id", order="{t}.position"),
    },
)

# Newest first.
RETURN_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)
