"""How Product maps to SQL for the compiled reads (`products`, and an order line's `product`)."""

from __future__ import annotations

from saas.schema.compiler import SortKey, SqlType
from saas.schema.relay import global_id_sql, iso_datetime_sql

PRODUCT: SqlType = SqlType(
    name="Product",
    table="products",
    columns={
        "id": global_id_sql("Product", "{t}.id"),
        "sku": "{t}.sku",
        "name": "{t}.name",
        "description": "{t}.description",
        "unitPrice": "({t}.unit_price)::text",
        "currency": "{t}.currency",
        "active": "{t}.active",
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)

# By name, then id: the catalog's order (`service.list_products`).
PRODUCT_SORT = SortKey(("name", "id"), ("text", "uuid"), descending=False)
