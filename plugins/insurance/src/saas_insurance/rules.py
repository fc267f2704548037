"""Who may do what: the permission strings the plugin checks, and which roles hold them by default.

Which policies and claims a caller sees is the core's customer visibility (`service/common.py`):
a sales rep sees those of their own, their teams' and unowned customers; owners and admins all.
"""

from __future__ import annotations

from saas.plugin_api import PermissionSpec, Role

READ = "ins:read"
POLICIES_WRITE = "ins:policies:write"
CLAIMS_WRITE = "ins:claims:write"
RATING_MANAGE = "ins:rating:manage"
MODEL_MANAGE = "ins:model:manage"

EVERYONE = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.VIEWER)
MANAGERS = (Role.OWNER, Role.ADMIN, Role.MANAGER)

PERMISSIONS = [
    PermissionSpec(READ, "See policies, claims, quotes, statistics and renewal risks of visible customers", EVERYONE),
    PermissionSpec(POLICIES_WRITE, "Issue, renew and cancel policies of visible customers", (*MANAGERS, Role.SALES)),
    PermissionSpec(CLAIMS_WRITE, "Report claims, set reserves, decide, pay and close them", (*MANAGERS, Role.SERVICE)),
    PermissionSpec(RATING_MANAGE, "Publish new versions of the rating tables", MANAGERS),
    PermissionSpec(MODEL_MANAGE, "Train the tenant's churn model", (Role.OWNER, Role.ADMIN)),
]
