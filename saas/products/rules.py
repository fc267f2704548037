"""Which products a list shows: the filter as a SQL condition, for the compiled read (the compiler
adds the tenant; every product of the tenant is visible once the caller may read products)."""

from __future__ import annotations

from saas.customers.rules import escape_like
from saas.db.conditions import SqlCondition


def product_conditions(alias: str, active: bool | None, search: str | None) -> SqlCondition:
    """The filter of a products list, as `service.list_products` applies it."""
    condition = SqlCondition()
    condition.given(f"{alias}.active", "product_active", active)
    if search and search.strip():
        condition.add(
            f"({alias}.name ILIKE :product_search ESCAPE '\\' OR {alias}.sku ILIKE :product_search ESCAPE '\\')",
            product_search=f"%{escape_like(search.strip())}%",
        )
    return condition
