"""Who sees and changes automation rules: admins and owners (`automation:manage`), for the whole tenant.

The compiled read (`automationRules`, `node(id)`) and the services both call `rule_visibility`,
so reading and changing a rule cannot disagree. Rules act for the tenant, not for one member, so
there is no per-owner visibility: a principal without the permission gets FORBIDDEN, and a
portal (scoped) token sees none.
"""

from __future__ import annotations

from saas.auth.permissions import AUTOMATION_MANAGE, require
from saas.auth.principal import Principal
from saas.db.conditions import SqlCondition


def rule_visibility(principal: Principal, alias: str) -> SqlCondition:
    """The live rules the principal may read (FORBIDDEN without `automation:manage`)."""
    require(principal.permissions, AUTOMATION_MANAGE)
    condition = SqlCondition()
    condition.add(f"{alias}.deleted_at IS NULL")
    if principal.scope:
        condition.add("FALSE")
    return condition
