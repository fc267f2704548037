"""Tenant isolation: the tenant-bound session, the tenant models and row-level security."""
