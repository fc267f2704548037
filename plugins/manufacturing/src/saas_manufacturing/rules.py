"""Who may do what: the permission strings the plugin checks, and which roles hold them by default.

Which orders and shipments a caller sees is `service/visibility.py` (the core's customer visibility).
"""

from __future__ import annotations

from saas.plugin_api import PermissionSpec, Role

INVENTORY_READ = "mfg:inventory:read"
INVENTORY_WRITE = "mfg:inventory:write"
ORDERS_READ = "mfg:orders:read"
ORDERS_WRITE = "mfg:orders:write"
SHIPMENTS_WRITE = "mfg:shipments:write"

EVERYONE = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.VIEWER)
MANAGERS = (Role.OWNER, Role.ADMIN, Role.MANAGER)

PERMISSIONS = [
    PermissionSpec(INVENTORY_READ, "See warehouses, stock levels and the stock ledger", EVERYONE),
    PermissionSpec(INVENTORY_WRITE, "Create warehouses, record stock movements, set low-stock thresholds", MANAGERS),
    PermissionSpec(ORDERS_READ, "See orders and shipments of visible customers", EVERYONE),
    PermissionSpec(ORDERS_WRITE, "Place and cancel orders for visible customers", (*MANAGERS, Role.SALES)),
    PermissionSpec(SHIPMENTS_WRITE, "Create, dispatch and track shipments", (*MANAGERS, Role.SERVICE)),
]
