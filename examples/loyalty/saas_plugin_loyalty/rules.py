"""Who may do what: the plugin's permissions and the roles that hold them by default."""

from __future__ import annotations

from saas.plugin_api import PermissionSpec, Role

LOYALTY_READ = "loyalty:read"
LOYALTY_ADJUST = "loyalty:adjust"

PERMISSIONS = [
    # The roles that see every customer: the history is asked for by customer id.
    PermissionSpec(
        LOYALTY_READ,
        "Read any customer's loyalty history",
        roles=(Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.VIEWER),
    ),
    PermissionSpec(LOYALTY_ADJUST, "Award and redeem points", roles=(Role.OWNER, Role.ADMIN, Role.MANAGER)),
]
