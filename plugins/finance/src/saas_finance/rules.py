"""Who may do what: the permission strings the plugin checks, and which roles hold them by default.

Which accounts a caller sees is the core's customer visibility (`service/accounts.py`): a sales
rep sees the accounts of the customers they see.
"""

from __future__ import annotations

from saas.plugin_api import PermissionSpec, Role

MARKET_READ = "fin:market:read"
MARKET_WRITE = "fin:market:write"
ACCOUNTS_READ = "fin:accounts:read"
ACCOUNTS_WRITE = "fin:accounts:write"

EVERYONE = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.VIEWER)
MANAGERS = (Role.OWNER, Role.ADMIN, Role.MANAGER)

PERMISSIONS = [
    PermissionSpec(MARKET_READ, "See instruments, quotes and price history", EVERYONE),
    PermissionSpec(MARKET_WRITE, "Create instruments and ingest quotes", MANAGERS),
    PermissionSpec(ACCOUNTS_READ, "See the accounts, transactions and portfolios of visible customers", EVERYONE),
    PermissionSpec(
        ACCOUNTS_WRITE, "Open accounts, record transactions and set target allocations", (*MANAGERS, Role.SALES)
    ),
]
