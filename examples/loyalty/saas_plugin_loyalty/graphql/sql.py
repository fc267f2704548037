"""How `Customer.loyaltyPoints` maps to SQL: compiled into the customer's own statement."""

from __future__ import annotations

from saas.plugin_api import tenant_predicate

# The balance: the sum of the customer's entries (0 without any), as `service.balances` adds them.
LOYALTY_POINTS = (
    f"(SELECT COALESCE(sum(le.points), 0) FROM loyalty_entries le WHERE {tenant_predicate('le')}"
    " AND le.customer_id = {t}.id)"
)
