"""Tenant isolation, the bottom layer: the tenant-bound session and `on_commit`, `SET LOCAL`
(`set_config`), the tenant predicate of compiled reads, row-level security and the application
role. It imports no domain (checked by tests/test_layers.py)."""
