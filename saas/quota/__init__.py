"""Per-tenant budgets of query cost: the token bucket in Redis and each tenant's limits."""
